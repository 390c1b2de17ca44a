"""Portal pages of the hub core: overview, organisation switcher, locations, audit log."""
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Q
from django.forms.models import model_to_dict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from calling.actions import effective_permissions
from calling.models import CallType, Number, NumberState, PermissionAction
from controlhub.actions import LOCATION_FIELDS, create_location, delete_location, update_location
from controlhub.models import AuditEvent, Location, Organization, SyncTarget
from controlhub.roles import VIEW, Area
from controlhub.sync import retry_now
from devices.models import Device
from users.models import License, Person, Workspace

from .forms import AuditEventFilterSet, LocationForm
from .middleware import SESSION_KEY
from .shortcuts import (
    actor,
    attach_errors,
    confirm_and_delete,
    may,
    may_change,
    paginate,
    portal_view,
    require_change,
    scoped,
    tidy_filter_form,
    visible_or_404,
)


@require_safe
@portal_view()
def overview(request):
    people = scoped(request, Person)
    numbers = scoped(request, Number)
    number_counts = numbers.aggregate(total=Count("pk"), assigned=Count("pk", filter=Q(line__isnull=False)),
                                      active=Count("pk", filter=Q(state=NumberState.ACTIVE)))
    licenses = []
    if may(request.user, Area.LICENSES, VIEW):
        for lic in scoped(request, License).with_usage():
            lic.percent = min(100, round(100 * lic.consumed / lic.total_units)) if lic.total_units else 0
            licenses.append(lic)
    locations = scoped(request, Location).annotate(
        people_count=Count("people", distinct=True), number_count=Count("numbers", distinct=True))
    return render(request, "portal/overview.html", {
        "counts": {
            "people": people.count(),
            "calling_people": people.filter(line__isnull=False).count(),
            "workspaces": scoped(request, Workspace).count(),
            "devices": scoped(request, Device).count(),
            "numbers": number_counts,
        },
        "licenses": licenses,
        "locations": locations,
    })


@require_POST
@portal_view()
def switch_organization(request):
    """A partner admin picks one of its customers; the choice is re-checked on every request."""
    chosen = Organization.objects.restrict(request.user, VIEW).filter(pk=_uuid_or_none(request.POST.get("org"))).first()
    if chosen is None:
        messages.error(request, _("That organization is not one you administer."))
    else:
        request.session[SESSION_KEY] = str(chosen.pk)
        messages.success(request, _("Now managing %(org)s.") % {"org": chosen.display_name})
    target = request.POST.get("next") or "/"
    if not url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        target = "/"
    # Object pages of the previous organisation would 404 in the new one: go back to the area's list.
    target = "/" + target.strip("/").split("/")[0] + "/" if target.strip("/") else "/"
    return redirect(target)


def _uuid_or_none(value):
    import uuid

    try:
        return uuid.UUID(str(value))
    except (TypeError, ValueError):
        return None


# --------------------------------------------------------------------------------------------- locations


@require_safe
@portal_view(Area.LOCATIONS)
def location_list(request):
    locations = scoped(request, Location).annotate(
        people_count=Count("people", distinct=True), number_count=Count("numbers", distinct=True))
    main_numbers = dict(Number.objects.filter(organization=request.organization, is_main=True)
                        .values_list("location_id", "e164"))
    for location in locations:
        location.main_number = main_numbers.get(location.pk)
    return render(request, "portal/location_list.html", {
        "locations": locations,
        "can_add": may(request.user, Area.LOCATIONS, "create"),
    })


@portal_view(Area.LOCATIONS)
def location_add(request):
    require_change(request, model=Location, action="create")
    form = LocationForm(request.POST or None, initial={"country": request.organization.country})
    if request.method == "POST" and form.is_valid():
        try:
            location = create_location(actor(request), request.organization, **form.action_data())
        except ValidationError as exc:
            attach_errors(form, exc, model=Location)
        else:
            messages.success(request, _("Location %(name)s was added.") % {"name": location.name})
            return redirect("portal:location_detail", pk=location.pk)
    return render(request, "portal/location_form.html", {"form": form})


@require_safe
@portal_view(Area.LOCATIONS)
def location_detail(request, pk):
    location = visible_or_404(request, Location, pk=pk)
    numbers = scoped(request, Number).filter(location=location).select_related(
        "line__person", "line__workspace")
    people = scoped(request, Person).filter(location=location).select_related("line__number")
    return render(request, "portal/location_detail.html", {
        "location": location,
        "numbers": numbers[:100],
        "number_count": numbers.count(),
        "people": people[:50],
        "people_count": people.count(),
        "workspaces": scoped(request, Workspace).filter(location=location).select_related("line__number")[:50],
        "device_count": scoped(request, Device).filter(location=location).count(),
        "can_edit": may_change(request, location),
        "can_delete": may_change(request, location, "delete"),
        "blocked_call_types": [CallType(ct).label for ct, p in effective_permissions(location)[0].items()
                               if p["action"] == PermissionAction.BLOCK],
    })


@portal_view(Area.LOCATIONS)
def location_edit(request, pk):
    location = visible_or_404(request, Location, pk=pk)
    require_change(request, location)
    form = LocationForm(request.POST or None, initial=model_to_dict(location, fields=LOCATION_FIELDS))
    if request.method == "POST" and form.is_valid():
        try:
            update_location(actor(request), location, **form.action_data())
        except ValidationError as exc:
            attach_errors(form, exc, model=Location)
            location.refresh_from_db()
        else:
            messages.success(request, _("Location %(name)s was saved.") % {"name": location.name})
            return redirect("portal:location_detail", pk=location.pk)
    return render(request, "portal/location_form.html", {"form": form, "location": location})


@portal_view(Area.LOCATIONS)
def location_delete(request, pk):
    location = visible_or_404(request, Location, pk=pk)
    return confirm_and_delete(
        request, location, delete_location, kind=_("location"),
        done=_("Location %(name)s was deleted.") % {"name": location.name},
        success_url=reverse("portal:location_list"), cancel_url=location_detail_url(location))


def location_detail_url(location) -> str:
    from django.urls import reverse

    return reverse("portal:location_detail", kwargs={"pk": location.pk})


# --------------------------------------------------------------------------------------------- audit log


@require_safe
@portal_view(Area.AUDIT)
def audit_log(request):
    events = scoped(request, AuditEvent)
    filterset = AuditEventFilterSet(request.GET or None, queryset=events)
    tidy_filter_form(filterset.form)
    page = paginate(request, filterset.qs, size=50)
    return render(request, "portal/audit_log.html", {"filter": filterset, "page": page})


@portal_view()
@require_POST
def sync_retry(request, pk: int):
    """"Retry now" for a push that failed or is waiting out its backoff (harmless: pushes are idempotent)."""
    row = get_object_or_404(SyncTarget, pk=pk, organization=request.organization)
    if not any(may(request.user, area) for area in (Area.PEOPLE, Area.WORKSPACES, Area.DEVICES, Area.LOCATIONS)):
        raise PermissionDenied
    retry_now([row])
    messages.success(request, _("The configuration is being pushed again."))
    target = request.POST.get("next") or "/"
    return redirect(target if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}) else "/")
