"""What every portal view shares: sign-in and admin checks, fetching objects as the asking account may see them,
turning domain-action errors into form errors, and cheap pagination.

Views stay thin: parse a form, fetch what they act on with `visible_or_404`, call one domain action with
`actor(request)`, and render. Scoping lives in `RestrictedQuerySet.restrict`, never in a view.
"""
from dataclasses import dataclass
from functools import wraps
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.db.models import UniqueConstraint
from django.shortcuts import get_object_or_404, redirect, render

from controlhub.actions import Actor
from controlhub.models import AuditSource
from controlhub.roles import CHANGE, VIEW

from .middleware import resolve_organization

# Keys the domain actions and the /v1 API use, mapped to portal form field names.
API_FIELD_NAMES = {
    "phoneNumber": "phone_number",
    "phoneNumbers": "numbers",
    "personId": "owner",
    "workspaceId": "owner",
    "locationId": "location",
}


def portal_view(area: str | None = None):
    """Sign-in required; admins only; `request.organization` resolved; the role must see `area`.

    A signed-in person without an admin role gets a plain page (403) explaining the admin portal is for
    administrators; an admin whose role does not include the area gets the 403 page.
    """

    def decorate(view):
        @login_required
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            org = resolve_organization(request)
            if org is None or not request.user.is_admin:
                return render(request, "portal/not_admin.html", status=403)
            request.organization = org
            if area is not None and not may(request.user, area, VIEW):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapper

    return decorate


def may(account, area: str, action: str = CHANGE) -> bool:
    """Whether any of the account's roles allows `action` on `area` (ignoring location scope)."""
    return account.is_superuser or any(g.allows(area, action) for g in account.grants)


def actor(request) -> Actor:
    return Actor(account=request.user, source=AuditSource.UI)


def scoped(request, model, action: str = VIEW):
    """The model's rows in the organisation in view, as far as the account may `action` them."""
    return model.objects.restrict(request.user, action).filter(organization=request.organization)


def visible_or_404(request, model, queryset=None, **lookup):
    """Fetch an object the account may see in the organisation in view; anything else is a 404."""
    qs = (queryset if queryset is not None else model.objects.all()).restrict(request.user, VIEW)
    return get_object_or_404(qs.filter(organization=request.organization), **lookup)


def may_change(request, obj, action: str = "change") -> bool:
    """Whether the account may `action` this object (a visible object the role may not change gives 403)."""
    model = type(obj)
    return model.objects.restrict(request.user, action).filter(pk=obj.pk).exists()


def require_change(request, obj=None, model=None, action: str = "change") -> None:
    """403 unless the account may `action` the object (or, with no object, create in the model's area)."""
    if obj is not None:
        if not may_change(request, obj, action):
            raise PermissionDenied
        return
    if not may(request.user, model.admin_area, action):
        raise PermissionDenied


def attach_errors(form, exc: ValidationError, field_names: dict[str, str] | None = None, model=None) -> None:
    """Put a domain action's ValidationError on the form: next to the field it names, else at the top.

    Unique-constraint violations arrive without a field; with `model`, each is placed next to the field its
    constraint covers (a duplicate location name shows under Name).
    """
    names = {**API_FIELD_NAMES, **(field_names or {})}
    by_message = constraint_fields(model) if model is not None else {}
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc.messages)
        return
    for key, errors in exc.message_dict.items():
        for error in errors:
            field = names.get(key, key)
            if field == NON_FIELD_ERRORS:
                field = by_message.get(error, field)
            form.add_error(field if field in form.fields else None, error)


def constraint_fields(model) -> dict[str, str]:
    """{violation message: field} for the model's unique constraints over one field (besides the organisation)."""
    result = {}
    for constraint in model._meta.constraints:
        if not isinstance(constraint, UniqueConstraint):
            continue
        fields = [f for f in constraint.fields if f != "organization"]
        for expression in constraint.expressions:
            fields += [getattr(e, "name", None) for e in getattr(expression, "source_expressions", [])]
        fields = [f for f in fields if f]
        if len(fields) == 1:
            result[str(constraint.violation_error_message)] = fields[0]
    return result


@dataclass
class Page:
    """One page of a list fetched with LIMIT/OFFSET and one extra row to know whether another page follows:
    no COUNT(*) over the whole filtered table, so large tables stay fast."""

    items: list
    number: int
    size: int
    has_next: bool
    params: dict

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def start(self) -> int:
        return (self.number - 1) * self.size + 1 if self.items else 0

    @property
    def end(self) -> int:
        return (self.number - 1) * self.size + len(self.items)

    def url(self, number: int) -> str:
        return "?" + urlencode({**self.params, "page": number})

    @property
    def next_url(self) -> str:
        return self.url(self.number + 1)

    @property
    def previous_url(self) -> str:
        return self.url(self.number - 1)


def paginate(request, queryset, size: int = 50, max_page: int = 100_000) -> Page:
    try:
        number = int(request.GET.get("page", "1"))
    except ValueError:
        number = 1
    number = min(max(number, 1), max_page)
    offset = (number - 1) * size
    rows = list(queryset[offset:offset + size + 1])
    params = {k: v for k, v in request.GET.items() if k != "page" and v != ""}
    return Page(items=rows[:size], number=number, size=size, has_next=len(rows) > size, params=params)


def querystring_without(request, *names) -> str:
    params = {k: v for k, v in request.GET.items() if k not in names and v != ""}
    return urlencode(params)


def tidy_filter_form(form, hide: tuple[str, ...] = ()):
    """Make a filterset's form read well in a filter bar: "All" instead of dashes, "Any/Yes/No" for booleans,
    and without the filters only the API needs."""
    from django import forms
    from django.utils.translation import gettext_lazy

    for name in hide:
        form.fields.pop(name, None)
    for field in form.fields.values():
        if isinstance(field, forms.NullBooleanField):
            field.widget.choices = [("unknown", gettext_lazy("Any")), ("true", gettext_lazy("Yes")),
                                    ("false", gettext_lazy("No"))]
        elif isinstance(field, forms.ModelChoiceField):
            field.empty_label = gettext_lazy("All")
        elif isinstance(field, forms.ChoiceField) and field.choices and list(field.choices)[0][0] == "":
            field.choices = [("", gettext_lazy("All"))] + list(field.choices)[1:]
    return form


def confirm_and_delete(request, obj, remove, *, kind: str, done: str, success_url: str, cancel_url: str,
                       action: str = "delete", **context):
    """The confirmation page before a destructive action, and the action itself on POST.

    `remove(actor, obj)` is the domain action; its refusal (e.g. "still has phones") is shown on the page and
    nothing changes. `context` may add title, explanation and confirm_label for the page.
    """
    require_change(request, obj, action=action)
    error = None
    if request.method == "POST":
        try:
            remove(actor(request), obj)
        except ValidationError as exc:
            error = " ".join(exc.messages)
        else:
            messages.success(request, done)
            return redirect(success_url)
    return render(request, "portal/confirm_delete.html", {
        "object": obj, "kind": kind, "error": error, "cancel_url": cancel_url, **context})
