"""Portal pages for numbers and calling: the Numbers inventory, adding a user with calling, and the calling tab
of a person or workspace."""
from collections import defaultdict

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from controlhub.models import Location
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
    tidy_filter_form,
    visible_or_404,
)
from controlhub.roles import CHANGE, Area
from users.models import Person, Workspace

from .actions import (
    add_number_range,
    assign_calling,
    create_calling_person,
    create_route_group,
    create_trunk,
    delete_route_group,
    delete_trunk,
    remove_calling,
    remove_numbers,
    set_location_pstn_connection,
    set_main_number,
    set_numbers_state,
    trunk_users,
    update_route_group,
    update_trunk,
)
from .forms import (
    CallingForm,
    LocationPstnForm,
    NumberBulkForm,
    NumberFilterSet,
    NumberRangeForm,
    PersonCreateForm,
    RouteGroupForm,
    TrunkEditForm,
    TrunkForm,
    free_number_choices,
)
from .gateways import cube_config, cube_parameters, trunk_status
from .models import Line, LocationPstn, Number, NumberState, RouteGroup, Trunk

# --------------------------------------------------------------------------------------------- numbers


@require_safe
@portal_view(Area.NUMBERS)
def number_list(request):
    numbers = scoped(request, Number).select_related("location", "line__person", "line__workspace")
    filterset = NumberFilterSet(request.GET or None, queryset=numbers, organization=request.organization,
                                account=request.user)
    tidy_filter_form(filterset.form)
    page = paginate(request, filterset.qs.order_by("e164"), size=100)
    return render(request, "calling/number_list.html", {
        "filter": filterset, "page": page,
        "can_add": may(request.user, Area.NUMBERS, "create"),
        "can_change": may(request.user, Area.NUMBERS, CHANGE),
        "bulk_actions": NumberBulkForm.ACTIONS,
    })


@portal_view(Area.NUMBERS)
def number_add(request):
    require_change(request, model=Number, action="create")
    form = NumberRangeForm(request.POST or None, account=request.user, organization=request.organization,
                           initial={"location": request.GET.get("location")})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            added = add_number_range(actor(request), data["location"], data["start"], data["end"], data["state"])
        except ValidationError as exc:
            attach_errors(form, exc, {"phoneNumbers": "start", "start": "start"})
        else:
            messages.success(request, _("%(count)s numbers were added to %(location)s.")
                             % {"count": len(added), "location": data["location"].name})
            return redirect(reverse("calling:number_list") + f"?location={data['location'].pk}")
    return render(request, "calling/number_add.html", {"form": form})


@require_POST
@portal_view(Area.NUMBERS)
def number_bulk(request):
    """Activate, deactivate, remove (after confirmation) or make main the selected numbers."""
    if not may(request.user, Area.NUMBERS, CHANGE):
        raise PermissionDenied
    form = NumberBulkForm(request.POST, queryset=scoped(request, Number).select_related("location", "line"))
    if not form.is_valid():
        messages.error(request, " ".join(e for errors in form.errors.values() for e in errors))
        return redirect(_safe_next(request))
    numbers = list(form.cleaned_data["numbers"])
    action = form.cleaned_data["action"]
    changeable = scoped(request, Number, CHANGE).filter(pk__in=[n.pk for n in numbers]).count()
    if changeable != len(numbers):
        raise PermissionDenied
    next_url = _safe_next(request)
    if action == "remove" and request.POST.get("confirm") != "yes":
        return render(request, "calling/number_remove_confirm.html", {"numbers": numbers, "next": next_url})
    by_location: dict[Location, list[str]] = defaultdict(list)
    for number in numbers:
        by_location[number.location].append(number.e164)
    try:
        with transaction.atomic():
            for location, e164s in by_location.items():
                if action == "main":
                    set_main_number(actor(request), location, e164s[0])
                elif action == "remove":
                    remove_numbers(actor(request), location, e164s)
                else:
                    state = NumberState.ACTIVE if action == "activate" else NumberState.INACTIVE
                    set_numbers_state(actor(request), location, e164s, state)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        if action == "remove":
            return render(request, "calling/number_remove_confirm.html", {
                "numbers": numbers, "next": next_url, "error": " ".join(exc.messages)})
    else:
        done = {"activate": _("%(count)s numbers were activated."),
                "deactivate": _("%(count)s numbers were deactivated."),
                "remove": _("%(count)s numbers were removed."),
                "main": _("The main number was set.")}[action]
        messages.success(request, done % {"count": len(numbers)})
    return redirect(next_url)


def _safe_next(request) -> str:
    """Where to go back to after a bulk action: a path of this site only, never another host."""
    target = request.POST.get("next") or ""
    if target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return reverse("calling:number_list")


@require_safe
@portal_view(Area.NUMBERS)
def free_numbers(request):
    """htmx: the <option>s of the number select for the location just chosen."""
    location = None
    raw = request.GET.get("location")
    if raw:
        try:
            location = scoped(request, Location).filter(pk=raw).first()
        except ValidationError:
            location = None
    return render(request, "calling/_number_options.html", {"choices": free_number_choices(location)})


# --------------------------------------------------------------------------------------------- calling of owners


@portal_view(Area.PEOPLE)
def person_add(request):
    """Add a user, with services and (optionally) calling in one all-or-nothing step."""
    require_change(request, model=Person, action="create")
    form = PersonCreateForm(request.POST or None, account=request.user, organization=request.organization)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            person = create_calling_person(actor(request), request.organization, licenses=data["licenses"],
                                           extension=data["extension"] or None,
                                           phone_number=data["phone_number"] or None, **form.person_data())
        except ValidationError as exc:
            attach_errors(form, exc, model=Person)
        else:
            messages.success(request, _("%(name)s was added.") % {"name": person})
            return redirect("users:person_detail", pk=person.pk)
    return render(request, "users/person_form.html", {"form": form, "adding": True})


def _calling(request, owner, detail_url: str, template_context: dict):
    require_change(request, owner)
    line = getattr(owner, "line", None)
    initial = {"location": line.location if line else getattr(owner, "location", None),
               "phone_number": line.number.e164 if line and line.number else "",
               "extension": line.extension if line else ""}
    form = CallingForm(request.POST or None, initial=initial, account=request.user,
                       organization=request.organization, line=line)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            assign_calling(actor(request), owner, location=data["location"], extension=data["extension"] or None,
                           phone_number=data["phone_number"] or None)
        except ValidationError as exc:
            attach_errors(form, exc, model=Line)
        else:
            messages.success(request, _("Calling of %(name)s was saved.") % {"name": owner})
            return redirect(detail_url)
    return render(request, "calling/calling_form.html", {"form": form, "owner": owner, "line": line,
                                                         "detail_url": detail_url, **template_context})


def _remove_calling(request, owner, detail_url: str):
    return confirm_and_delete(
        request, owner, remove_calling, kind=_("calling"), action="change",
        done=_("Calling of %(name)s was removed.") % {"name": owner}, success_url=detail_url, cancel_url=detail_url,
        title=_("Remove calling of %(name)s") % {"name": owner},
        explanation=_("The number and extension are released; the user keeps their other services."),
        confirm_label=_("Remove calling"))


def _person(request, pk):
    return visible_or_404(request, Person, Person.objects.select_related("location", "line__number",
                                                                         "line__location"), pk=pk)


def _workspace(request, pk):
    return visible_or_404(request, Workspace, Workspace.objects.select_related("location", "line__number",
                                                                               "line__location"), pk=pk)


@portal_view(Area.PEOPLE)
def person_calling(request, pk):
    person = _person(request, pk)
    return _calling(request, person, reverse("users:person_detail", kwargs={"pk": pk}), {"kind": "person"})


@portal_view(Area.PEOPLE)
def person_calling_remove(request, pk):
    return _remove_calling(request, _person(request, pk), reverse("users:person_detail", kwargs={"pk": pk}))


@portal_view(Area.WORKSPACES)
def workspace_calling(request, pk):
    workspace = _workspace(request, pk)
    return _calling(request, workspace, reverse("users:workspace_detail", kwargs={"pk": pk}),
                    {"kind": "workspace"})


@portal_view(Area.WORKSPACES)
def workspace_calling_remove(request, pk):
    return _remove_calling(request, _workspace(request, pk), reverse("users:workspace_detail", kwargs={"pk": pk}))



# --------------------------------------------------------------------------------------------- local gateways


@require_safe
@portal_view(Area.ORGANIZATION)
def trunk_list(request):
    trunks = scoped(request, Trunk).select_related("location").annotate(
        location_count=Count("pstn_locations", distinct=True), group_count=Count("memberships", distinct=True))
    page = paginate(request, trunks.order_by("name"), size=100)
    groups = scoped(request, RouteGroup).annotate(trunk_count=Count("members", distinct=True),
                                                  location_count=Count("pstn_locations", distinct=True))
    return render(request, "calling/trunk_list.html", {
        "page": page, "route_groups": groups.order_by("name")[:200],
        "can_add": may(request.user, Area.ORGANIZATION, "create"),
        "can_change": may(request.user, Area.ORGANIZATION, CHANGE)})


@portal_view(Area.ORGANIZATION)
def trunk_add(request):
    require_change(request, model=Trunk, action="create")
    form = TrunkForm(request.POST or None, account=request.user, organization=request.organization)
    if request.method == "POST" and form.is_valid():
        try:
            trunk = create_trunk(actor(request), request.organization, **form.action_data())
        except ValidationError as exc:
            attach_errors(form, exc, model=Trunk)
        else:
            messages.success(request, _("Trunk %(name)s was added.") % {"name": trunk.name})
            return redirect("calling:trunk_detail", pk=trunk.pk)
    return render(request, "calling/trunk_form.html", {"form": form, "adding": True})


def _trunk(request, pk) -> Trunk:
    return visible_or_404(request, Trunk, Trunk.objects.select_related("location", "organization"), pk=pk)


@require_safe
@portal_view(Area.ORGANIZATION)
def trunk_detail(request, pk):
    trunk = _trunk(request, pk)
    return render(request, "calling/trunk_detail.html", {
        "trunk": trunk, "cube": cube_parameters(trunk), "config": cube_config(trunk), "status": trunk_status(trunk),
        "used_by": trunk_users(trunk), "can_change": may_change(request, trunk),
        "can_delete": may_change(request, trunk, "delete")})


@portal_view(Area.ORGANIZATION)
def trunk_edit(request, pk):
    trunk = _trunk(request, pk)
    require_change(request, trunk)
    initial = {"name": trunk.name, "port": trunk.port, "transport": trunk.transport,
               "max_concurrent_calls": trunk.max_concurrent_calls,
               "dual_identity_support_enabled": trunk.dual_identity_support_enabled}
    form = TrunkEditForm(request.POST or None, initial=initial, trunk=trunk)
    if request.method == "POST" and form.is_valid():
        try:
            update_trunk(actor(request), trunk, **form.action_data())
        except ValidationError as exc:
            attach_errors(form, exc, model=Trunk)
        else:
            messages.success(request, _("Trunk %(name)s was saved.") % {"name": trunk.name})
            return redirect("calling:trunk_detail", pk=trunk.pk)
    return render(request, "calling/trunk_form.html", {"form": form, "trunk": trunk})


@portal_view(Area.ORGANIZATION)
def trunk_delete(request, pk):
    trunk = _trunk(request, pk)
    return confirm_and_delete(
        request, trunk, delete_trunk, kind=_("trunk"),
        done=_("Trunk %(name)s was deleted.") % {"name": trunk.name}, success_url=reverse("calling:trunk_list"),
        cancel_url=reverse("calling:trunk_detail", kwargs={"pk": pk}),
        title=_("Delete trunk %(name)s") % {"name": trunk.name},
        explanation=_("The gateway can no longer register or carry calls."), confirm_label=_("Delete trunk"))


@portal_view(Area.LOCATIONS)
def location_pstn(request, pk):
    """Choose a location's PSTN connection: a trunk or a route group of the organisation."""
    location = visible_or_404(request, Location, pk=pk)
    require_change(request, location)
    current = LocationPstn.objects.filter(location=location).select_related("trunk", "route_group").first()
    form = LocationPstnForm(request.POST or None, organization=request.organization,
                            initial={"connection": LocationPstnForm.key_of(current.route if current else None)})
    detail_url = reverse("portal:location_detail", kwargs={"pk": pk})
    if request.method == "POST" and form.is_valid():
        try:
            set_location_pstn_connection(actor(request), location, form.route())
        except ValidationError as exc:
            attach_errors(form, exc, {"premiseRouteId": "connection"})
        else:
            messages.success(request, _("The PSTN connection of %(name)s was saved.") % {"name": location.name})
            return redirect(detail_url)
    return render(request, "calling/location_pstn_form.html", {"form": form, "location": location,
                                                               "detail_url": detail_url})


@portal_view(Area.ORGANIZATION)
def route_group_form(request, pk=None):
    """Add (no pk) or edit a route group: its name and its trunks' priorities."""
    group = visible_or_404(request, RouteGroup, pk=pk) if pk else None
    if group is None:
        require_change(request, model=RouteGroup, action="create")
    else:
        require_change(request, group)
    form = RouteGroupForm(request.POST or None, organization=request.organization, group=group,
                          initial={"name": group.name if group else ""})
    if request.method == "POST" and form.is_valid():
        try:
            if group is None:
                group = create_route_group(actor(request), request.organization, name=form.cleaned_data["name"],
                                           members=form.members())
            else:
                update_route_group(actor(request), group, name=form.cleaned_data["name"], members=form.members())
        except ValidationError as exc:
            attach_errors(form, exc, {"local_gateways": "__all__"}, model=RouteGroup)
        else:
            messages.success(request, _("Route group %(name)s was saved.") % {"name": group.name})
            return redirect("calling:trunk_list")
    return render(request, "calling/route_group_form.html", {"form": form, "group": group})


@portal_view(Area.ORGANIZATION)
def route_group_delete(request, pk):
    group = visible_or_404(request, RouteGroup, pk=pk)
    return confirm_and_delete(
        request, group, delete_route_group, kind=_("route group"),
        done=_("Route group %(name)s was deleted.") % {"name": group.name},
        success_url=reverse("calling:trunk_list"), cancel_url=reverse("calling:trunk_list"),
        title=_("Delete route group %(name)s") % {"name": group.name},
        explanation=_("Its trunks are kept."), confirm_label=_("Delete route group"))
