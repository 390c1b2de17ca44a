"""Portal pages for the dial plan: outgoing permissions of a location or a person, the Call routing page
(translation patterns, premises dial plans) and the call-routing test."""
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe

from controlhub.models import Location
from controlhub.portal.shortcuts import (
    actor,
    attach_errors,
    confirm_and_delete,
    may,
    portal_view,
    require_change,
    scoped,
    visible_or_404,
)
from controlhub.roles import CHANGE, Area
from users.models import Person, Workspace

from .actions import (
    create_dial_plan,
    create_translation_pattern,
    delete_dial_plan,
    delete_translation_pattern,
    effective_permissions,
    set_outgoing_permissions,
    update_dial_plan,
)
from .call_routing import call_routing_report
from .forms import CallRoutingTestForm, DialPlanForm, OutgoingPermissionForm, TranslationPatternForm
from .models import DialPlan, Line, TranslationPattern

PERMISSION_FIELDS = {"callingPermissions": "__all__", "useCustomEnabled": "use_custom"}


def _permissions_page(request, owner, detail_url: str):
    require_change(request, owner)
    permissions, source = effective_permissions(owner)
    is_person = isinstance(owner, Person)
    form = OutgoingPermissionForm(request.POST or None, permissions=permissions, for_person=is_person,
                                  use_custom=source == "PEOPLE")
    if request.method == "POST" and form.is_valid():
        try:
            set_outgoing_permissions(actor(request), owner, permissions=form.permissions(),
                                     use_custom=form.cleaned_data["use_custom"] if is_person else None)
        except ValidationError as exc:
            attach_errors(form, exc, PERMISSION_FIELDS)
        else:
            messages.success(request, _("Outgoing calling permissions of %(name)s were saved.") % {"name": owner})
            return redirect(detail_url)
    return render(request, "calling/outgoing_permission_form.html", {
        "form": form, "owner": owner, "is_person": is_person, "source": source, "detail_url": detail_url})


@portal_view(Area.LOCATIONS)
def location_outgoing_permissions(request, pk):
    location = visible_or_404(request, Location, pk=pk)
    return _permissions_page(request, location, reverse("portal:location_detail", kwargs={"pk": pk}))


@portal_view(Area.PEOPLE)
def person_outgoing_permissions(request, pk):
    person = visible_or_404(request, Person, pk=pk)
    return _permissions_page(request, person, reverse("users:person_detail", kwargs={"pk": pk}))


@require_safe
@portal_view(Area.ORGANIZATION)
def call_routing(request):
    """Translation patterns and premises dial plans of the organisation, and the call-routing test."""
    org = request.organization
    return render(request, "calling/call_routing.html", {
        "patterns": scoped(request, TranslationPattern).select_related("location").order_by("location__name", "name"),
        "dial_plans": scoped(request, DialPlan).select_related("trunk", "route_group").prefetch_related("patterns")
        .order_by("name"),
        "can_change": may(request.user, Area.ORGANIZATION, CHANGE),
        "test_form": CallRoutingTestForm(),
        "organization": org,
    })


@portal_view(Area.ORGANIZATION)
def translation_pattern_add(request):
    require_change(request, model=TranslationPattern, action="create")
    form = TranslationPatternForm(request.POST or None, locations=scoped(request, Location).order_by("name"))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            create_translation_pattern(actor(request), request.organization, name=data["name"],
                                       matching_pattern=data["matching_pattern"],
                                       replacement_pattern=data["replacement_pattern"], location=data["location"])
        except ValidationError as exc:
            attach_errors(form, exc, {"matchingPattern": "matching_pattern",
                                      "replacementPattern": "replacement_pattern", "locationId": "location"})
        else:
            messages.success(request, _("Translation pattern %(name)s was added.") % {"name": data["name"]})
            return redirect("calling:call_routing")
    return render(request, "calling/dial_plan_form.html", {"form": form, "title": _("Add a translation pattern")})


@portal_view(Area.ORGANIZATION)
def translation_pattern_delete(request, pk):
    pattern = visible_or_404(request, TranslationPattern, pk=pk)
    url = reverse("calling:call_routing")
    return confirm_and_delete(request, pattern, delete_translation_pattern, kind=_("translation pattern"),
                              done=_("Translation pattern %(name)s was deleted.") % {"name": pattern.name},
                              success_url=url, cancel_url=url)


@portal_view(Area.ORGANIZATION)
def dial_plan_form(request, pk=None):
    plan = visible_or_404(request, DialPlan, pk=pk) if pk else None
    if plan is None:
        require_change(request, model=DialPlan, action="create")
    else:
        require_change(request, plan)
    initial = {} if plan is None else {
        "name": plan.name, "connection": DialPlanForm.key_of(plan.route),
        "dial_patterns": "\n".join(plan.patterns.order_by("pattern").values_list("pattern", flat=True))}
    form = DialPlanForm(request.POST or None, organization=request.organization, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            if plan is None:
                plan = create_dial_plan(actor(request), request.organization, name=form.cleaned_data["name"],
                                        route=form.route(), dial_patterns=form.patterns())
            else:
                update_dial_plan(actor(request), plan, name=form.cleaned_data["name"], route=form.route(),
                                 delete_all=True, add=form.patterns())
        except ValidationError as exc:
            attach_errors(form, exc, {"routeId": "connection", "dialPatterns": "dial_patterns"})
        else:
            messages.success(request, _("Dial plan %(name)s was saved.") % {"name": plan.name})
            return redirect("calling:call_routing")
    title = _("Add a dial plan") if plan is None else _("Dial plan %(name)s") % {"name": plan.name}
    return render(request, "calling/dial_plan_form.html", {"form": form, "title": title})


@portal_view(Area.ORGANIZATION)
def dial_plan_delete(request, pk):
    plan = visible_or_404(request, DialPlan, pk=pk)
    url = reverse("calling:call_routing")
    return confirm_and_delete(request, plan, delete_dial_plan, kind=_("dial plan"),
                              done=_("Dial plan %(name)s was deleted.") % {"name": plan.name},
                              success_url=url, cancel_url=url)


def _caller(request, text: str) -> Person | Workspace | None:
    """A person or workspace with a line, found by email, extension or number."""
    text = text.strip()
    lines = scoped(request, Line).select_related("person", "workspace")
    line = lines.filter(Q(extension=text) | Q(number__e164=text) | Q(person__email__iexact=text)).first()
    return line.owner if line else None


@portal_view(Area.ORGANIZATION)
def call_routing_test(request):
    """The call-routing test: how a dial string from a person or workspace routes, step by step."""
    form = CallRoutingTestForm(request.POST or request.GET or None)
    report = caller = None
    if form.is_bound and form.is_valid():
        caller = _caller(request, form.cleaned_data["caller"])
        if caller is None:
            form.add_error("caller", _("No person or workspace with calling has this email, extension or number."))
        else:   # callers come from their lines, so the report always has a line to call from
            report = call_routing_report(request.organization, caller, form.cleaned_data["destination"],
                                         explain=True)
    return render(request, "calling/call_routing_test.html", {"form": form, "report": report, "caller": caller})
