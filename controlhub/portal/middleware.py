"""Resolve the organisation a portal request acts on into `request.organization`.

A partner admin chooses one of its customers with the organisation switcher; the choice lives in the session and
is re-checked against `Organization.objects.restrict(account)` on every request, so a revoked role or a forged
session value never widens what the account sees. Resolution is lazy: requests that never look at it (the /v1
API, static files) pay no query.
"""
from django.core.exceptions import ValidationError
from django.utils.functional import SimpleLazyObject

from controlhub.models import Organization
from controlhub.roles import VIEW
from controlhub.tenancy import home_organization

SESSION_KEY = "portal_organization"


def resolve_organization(request) -> Organization | None:
    """The organisation in view for this request (cached on the request), or None for a non-admin."""
    if hasattr(request, "_portal_organization"):
        return request._portal_organization
    account = getattr(request, "user", None)
    org = None
    if account is not None and account.is_authenticated:
        visible = Organization.objects.restrict(account, VIEW)
        chosen = request.session.get(SESSION_KEY)
        if chosen:
            try:
                org = visible.filter(pk=chosen).first()
            except (ValueError, TypeError, ValidationError):  # a malformed session value is ignored, never a 500
                org = None
            if org is None:
                request.session.pop(SESSION_KEY, None)
        if org is None:
            home = home_organization(account)
            if home is not None and visible.filter(pk=home.pk).exists():
                org = home
            elif home is not None:
                org = None  # a person without an admin role: the admin portal shows them nothing
    request._portal_organization = org
    return org


class OrganizationMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.organization = SimpleLazyObject(lambda: resolve_organization(request))
        return self.get_response(request)
