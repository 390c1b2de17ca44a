"""Template context shared by every portal page: the organisation in view and the navigation the role allows."""
from django.utils.functional import SimpleLazyObject

from controlhub.models import Organization
from controlhub.roles import VIEW, Area


def portal(request) -> dict:
    account = getattr(request, "user", None)
    if account is None or not account.is_authenticated:
        return {}
    org = getattr(request, "organization", None)
    if account.is_superuser:
        areas = set(Area)
    else:
        areas = {area for g in account.grants for area in Area if g.allows(area, VIEW)}
    # Partner admins (and anyone administering several organisations) get the organisation switcher.
    org_grants = [g for g in account.grants if g.organization_id]
    may_switch = account.is_superuser or any(g.partner_id for g in account.grants) or len(org_grants) > 1
    return {
        "current_org": org,
        "nav_areas": areas,
        "may_switch_org": may_switch,
        "switch_orgs": SimpleLazyObject(
            lambda: list(Organization.objects.restrict(account, VIEW).order_by("display_name")[:500])
            if may_switch else []),
    }
