"""Portal pages for people (Users) and workspaces. Calling and devices tabs live in their own apps' views."""
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST, require_safe

from calling.actions import change_calling_person_licenses
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
from controlhub.roles import Area

from .actions import (
    create_workspace,
    delete_person,
    delete_workspace,
    update_person,
    update_workspace,
)
from .filters import PersonFilterSet
from .forms import PersonForm, ServicesForm, WorkspaceForm
from .models import Person, Workspace

PAGE_SIZE = 50
SORTABLE = {"name": gettext_lazy("Name"), "email": gettext_lazy("Email"), "location": gettext_lazy("Location"),
            "extension": gettext_lazy("Extension")}


@require_safe
@portal_view(Area.PEOPLE)
def person_list(request):
    """The Users table: one filterset (shared with /v1/people), LIMIT/OFFSET pages, no COUNT(*), a constant
    number of queries per page whatever the organisation's size."""
    people = (scoped(request, Person)
              .select_related("location", "line__number")
              .prefetch_related("organization__licenses"))
    filterset = PersonFilterSet(request.GET or None, queryset=people, organization=request.organization,
                                account=request.user)
    tidy_filter_form(filterset.form, hide=("email", "display_name"))
    page = paginate(request, filterset.qs, size=PAGE_SIZE)
    sort = request.GET.get("sort") or "name"
    columns = []
    for key, label in SORTABLE.items():
        active = sort.lstrip("-") == key
        descending = sort.startswith("-")
        params = {**page.params, "sort": f"-{key}" if active and not descending else key}
        columns.append({"key": key, "label": label, "active": active, "descending": active and descending,
                        "url": "?" + urlencode(params)})
    context = {"filter": filterset, "page": page, "columns": columns,
               "can_add": may(request.user, Area.PEOPLE, "create")}
    template = "users/_people_table.html" if request.htmx and request.htmx.target == "people-table" \
        else "users/person_list.html"
    return render(request, template, context)


def _person_or_404(request, pk):
    return visible_or_404(request, Person, Person.objects.select_related("location", "line__number",
                                                                         "line__location", "account"), pk=pk)


@require_safe
@portal_view(Area.PEOPLE)
def person_detail(request, pk):
    person = _person_or_404(request, pk)
    return render(request, "users/person_detail.html", {
        "person": person,
        "line": getattr(person, "line", None),
        "licenses": person.licenses,
        "devices": person.devices.select_related("model"),
        "can_edit": may_change(request, person),
        "can_delete": may_change(request, person, "delete"),
        "invitation_pending": invitation_pending(person),
    })


def invitation_pending(person: Person) -> bool:
    """Whether the person still has to set a first password with an invitation link (not for SSO people)."""
    from . import sso

    account = person.account
    if person.status == "inactive" or (account is not None and account.has_usable_password()):
        return False
    return sso.password_sign_in_refused(person.email) is None


@require_POST
@portal_view(Area.PEOPLE)
def person_resend_invitation(request, pk):
    """Send the invitation mail again; the earlier link stops working."""
    from .invitations import resend_invitation

    person = _person_or_404(request, pk)
    require_change(request, person)
    try:
        resend_invitation(actor(request), person)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("A new invitation was sent to %(email)s. Earlier invitation links no longer "
                                    "work.") % {"email": person.email})
    return redirect("users:person_detail", pk=person.pk)


@portal_view(Area.PEOPLE)
def person_edit(request, pk):
    person = _person_or_404(request, pk)
    require_change(request, person)
    initial = {name: getattr(person, name) for name in PersonForm.PERSON_FIELDS}
    form = PersonForm(request.POST or None, initial=initial, account=request.user, organization=request.organization)
    if request.method == "POST" and form.is_valid():
        try:
            update_person(actor(request), person, **form.person_data())
        except ValidationError as exc:
            attach_errors(form, exc, model=Person)
            person.refresh_from_db()
        else:
            messages.success(request, _("%(name)s was saved.") % {"name": person})
            return redirect("users:person_detail", pk=person.pk)
    return render(request, "users/person_form.html", {"form": form, "person": person})


@portal_view(Area.PEOPLE)
def person_services(request, pk):
    person = _person_or_404(request, pk)
    require_change(request, person)
    current = set(person.licenses)
    form = ServicesForm(request.POST or None, initial={"licenses": list(current)},
                        organization=request.organization)
    if request.method == "POST" and form.is_valid():
        chosen = set(form.cleaned_data["licenses"])
        try:
            # The same rule as /v1 and CSV: dropping the calling licence ends calling (refused while phones remain).
            change_calling_person_licenses(actor(request), person, add=list(chosen - current),
                                           remove=list(current - chosen))
        except ValidationError as exc:
            attach_errors(form, exc)
        else:
            messages.success(request, _("Services of %(name)s were saved.") % {"name": person})
            return redirect("users:person_detail", pk=person.pk)
    return render(request, "users/person_services.html", {"form": form, "person": person})


@portal_view(Area.PEOPLE)
def person_delete(request, pk):
    person = _person_or_404(request, pk)
    return confirm_and_delete(
        request, person, delete_person, kind=_("user"),
        done=_("%(name)s was deleted.") % {"name": person}, success_url=reverse("users:person_list"),
        cancel_url=reverse("users:person_detail", kwargs={"pk": person.pk}))


# --------------------------------------------------------------------------------------------- workspaces


@require_safe
@portal_view(Area.WORKSPACES)
def workspace_list(request):
    workspaces = scoped(request, Workspace).select_related("location", "line__number")
    q = (request.GET.get("q") or "").strip()
    if q:
        workspaces = workspaces.filter(display_name__icontains=q)
    page = paginate(request, workspaces.order_by("display_name", "id"), size=PAGE_SIZE)
    return render(request, "users/workspace_list.html", {
        "page": page, "q": q, "can_add": may(request.user, Area.WORKSPACES, "create")})


def _workspace_or_404(request, pk):
    return visible_or_404(request, Workspace, Workspace.objects.select_related("location", "line__number"), pk=pk)


@portal_view(Area.WORKSPACES)
def workspace_add(request):
    require_change(request, model=Workspace, action="create")
    form = WorkspaceForm(request.POST or None, account=request.user, organization=request.organization)
    if request.method == "POST" and form.is_valid():
        try:
            workspace = create_workspace(actor(request), request.organization, **form.workspace_data())
        except ValidationError as exc:
            attach_errors(form, exc, model=Workspace)
        else:
            messages.success(request, _("Workspace %(name)s was added.") % {"name": workspace})
            return redirect("users:workspace_detail", pk=workspace.pk)
    return render(request, "users/workspace_form.html", {"form": form})


@require_safe
@portal_view(Area.WORKSPACES)
def workspace_detail(request, pk):
    workspace = _workspace_or_404(request, pk)
    return render(request, "users/workspace_detail.html", {
        "workspace": workspace,
        "line": getattr(workspace, "line", None),
        "devices": workspace.devices.select_related("model"),
        "can_edit": may_change(request, workspace),
        "can_delete": may_change(request, workspace, "delete"),
    })


@portal_view(Area.WORKSPACES)
def workspace_edit(request, pk):
    workspace = _workspace_or_404(request, pk)
    require_change(request, workspace)
    initial = {"display_name": workspace.display_name, "location": workspace.location,
               "capacity": workspace.capacity, "type": workspace.type}
    form = WorkspaceForm(request.POST or None, initial=initial, account=request.user,
                         organization=request.organization)
    if request.method == "POST" and form.is_valid():
        try:
            update_workspace(actor(request), workspace, **form.workspace_data())
        except ValidationError as exc:
            attach_errors(form, exc, model=Workspace)
            workspace.refresh_from_db()
        else:
            messages.success(request, _("Workspace %(name)s was saved.") % {"name": workspace})
            return redirect("users:workspace_detail", pk=workspace.pk)
    return render(request, "users/workspace_form.html", {"form": form, "workspace": workspace})


@portal_view(Area.WORKSPACES)
def workspace_delete(request, pk):
    workspace = _workspace_or_404(request, pk)
    return confirm_and_delete(
        request, workspace, delete_workspace, kind=_("workspace"),
        done=_("%(name)s was deleted.") % {"name": workspace}, success_url=reverse("users:workspace_list"),
        cancel_url=reverse("users:workspace_detail", kwargs={"pk": workspace.pk}))
