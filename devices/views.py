"""Portal pages for desk phones: list, add by MAC, lines on its ports, status and rendered configuration."""
import logging

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from calling.models import Line
from controlhub.portal.shortcuts import (
    actor,
    attach_errors,
    confirm_and_delete,
    may,
    may_change,
    paginate,
    portal_view,
    require_change,
    scoped,
    visible_or_404,
)
from controlhub.roles import Area
from users.models import Person, Workspace

from .actions import Member, create_device, delete_device, reset_first_contact, set_device_members
from .forms import DeviceAddForm, DeviceFilterForm, DeviceLineFormSet, OwnerKind
from .models import Device

log = logging.getLogger(__name__)


@require_safe
@portal_view(Area.DEVICES)
def device_list(request):
    devices = scoped(request, Device).select_related("model", "person", "workspace", "location")
    form = DeviceFilterForm(request.GET or None)
    page = paginate(request, form.filter(devices).order_by("mac"), size=50)
    return render(request, "devices/device_list.html", {
        "page": page, "form": form, "can_add": may(request.user, Area.DEVICES, "create")})


@portal_view(Area.DEVICES)
def device_add(request):
    require_change(request, model=Device, action="create")
    initial = {}
    for kind, model, attr in ((OwnerKind.PERSON, Person, "email"), (OwnerKind.WORKSPACE, Workspace, "display_name")):
        pk = request.GET.get(kind)
        if pk:
            try:
                owner = scoped(request, model).filter(pk=pk).first()
            except ValidationError:
                owner = None
            if owner is not None:
                initial = {"owner_kind": kind, "owner": getattr(owner, attr)}
    form = DeviceAddForm(request.POST or None, initial=initial, account=request.user,
                         organization=request.organization)
    if request.method == "POST" and form.is_valid():
        try:
            device = create_device(actor(request), request.organization, mac=form.cleaned_data["mac"],
                                   model=form.cleaned_data["model"], owner=form.owner_object)
        except ValidationError as exc:
            attach_errors(form, exc)
        else:
            messages.success(request, _("%(device)s was added.") % {"device": device})
            return redirect("devices:device_detail", pk=device.pk)
    return render(request, "devices/device_add.html", {"form": form})


@require_safe
@portal_view(Area.DEVICES)
def owner_suggestions(request):
    """htmx: <option>s for the owner field's datalist — users by email or name, workspaces by name (10 at most)."""
    text = (request.GET.get("owner") or "").strip()
    options = []
    if len(text) >= 2:
        if request.GET.get("owner_kind") == OwnerKind.WORKSPACE:
            options = [(w.display_name, w.location.name) for w in scoped(request, Workspace).filter(
                display_name__icontains=text, line__isnull=False).select_related("location")[:10]]
        else:
            options = [(p.email, p.display_name) for p in scoped(request, Person).filter(
                Q(email__istartswith=text) | Q(display_name__icontains=text), line__isnull=False)
                .order_by("email")[:10]]
    return render(request, "devices/_owner_options.html", {"options": options})


def _device_or_404(request, pk):
    return visible_or_404(request, Device, Device.objects.select_related(
        "model", "person__line", "workspace__line", "location"), pk=pk)


def rendered_config(device) -> tuple[str | None, str | None]:
    """(config XML, None) or (None, why it is not shown). The renderer lives in devices.provisioning."""
    try:
        from devices.provisioning.mpp import render_device_config
    except ImportError:
        return None, _("The configuration renderer is not available.")
    try:
        return render_device_config(device), None
    except Exception:  # a renderer bug must not take the device page down with it
        log.exception("rendering the configuration of device %s failed", device.pk)
        return None, _("The configuration could not be rendered; see the server log.")


def provisioning_info(device, with_credentials: bool) -> dict | None:
    """The organisation's provisioning URL (DHCP option 66/150/160) and the device's file URLs, for its page."""
    try:
        from devices.provisioning import client

        info = {"base_url": client.organization_base_url(device.organization) + "/",
                "bootstrap_url": client.bootstrap_url(device.organization, device.model),
                "config_url": client.device_url(device)}
    except Exception:  # no renderer for this model, or it is broken: the page still shows everything else
        log.warning("no provisioning URLs for device %s", device.pk, exc_info=True)
        return None
    info["credentials"] = client.http_credentials(device) if with_credentials else None
    info["http_auth"] = client.http_credentials(device) is not None
    info["first_contact_open"] = client.first_contact_open(device)
    return info


@require_safe
@portal_view(Area.DEVICES)
def device_detail(request, pk):
    device = _device_or_404(request, pk)
    can_edit = may_change(request, device)
    config, config_note = rendered_config(device) if can_edit else (
        None, _("Only administrators who may change this device see its configuration (it holds credentials)."))
    return render(request, "devices/device_detail.html", {
        "device": device,
        "appearances": device.lines.select_related("line__person", "line__workspace", "line__number",
                                                   "line__organization"),
        "config": config, "config_note": config_note,
        "can_edit": can_edit, "can_delete": may_change(request, device, "delete"),
        "provisioning": provisioning_info(device, with_credentials=can_edit),
    })


@portal_view(Area.DEVICES)
def device_lines(request, pk):
    """Edit the lines on the phone's ports (members): port, line, primary or shared appearance, label."""
    device = _device_or_404(request, pk)
    require_change(request, device)
    lines = Line.objects.restrict(request.user).filter(organization=request.organization)
    kwargs = {"lines": lines, "country": device.location.country}
    initial = [{"port": a.port, "line": a.line.extension or (a.line.number.e164 if a.line.number else ""),
                "line_type": a.line_type, "line_label": a.line_label}
               for a in device.lines.select_related("line__number")]
    formset = DeviceLineFormSet(request.POST or None, initial=initial, prefix="lines", **kwargs)
    if request.method == "POST" and formset.is_valid():
        members = [Member(line=form.line_object, port=form.cleaned_data["port"],
                          line_type=form.cleaned_data["line_type"], line_label=form.cleaned_data["line_label"])
                   for form in formset.forms if form.cleaned_data and not form.cleaned_data.get("DELETE")]
        try:
            set_device_members(actor(request), device, members)
        except ValidationError as exc:
            formset._non_form_errors = formset.error_class(exc.messages)
        else:
            messages.success(request, _("The lines of %(device)s were saved.") % {"device": device})
            return redirect("devices:device_detail", pk=device.pk)
    return render(request, "devices/device_lines.html", {"device": device, "formset": formset})


@portal_view(Area.DEVICES)
def device_delete(request, pk):
    device = _device_or_404(request, pk)
    return confirm_and_delete(
        request, device, delete_device, kind=_("device"),
        done=_("%(device)s was deleted.") % {"device": device}, success_url=reverse("devices:device_list"),
        cancel_url=reverse("devices:device_detail", kwargs={"pk": device.pk}),
        explanation=_("The phone stops receiving its configuration and its line credentials are revoked."))


@require_POST
@portal_view(Area.DEVICES)
def device_reset_first_contact(request, pk):
    """The phone was factory reset or replaced: its next fetch is served once without HTTP auth."""
    device = _device_or_404(request, pk)
    require_change(request, device)
    reset_first_contact(actor(request), device)
    messages.success(request, _("First contact of %(device)s was reset: its next fetch gets the file and new "
                                "HTTP credentials without asking for them.") % {"device": device})
    return redirect("devices:device_detail", pk=device.pk)
