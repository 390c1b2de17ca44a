"""Template context shared by every portal page: the organisation in view and the navigation the role allows."""
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
    return {"current_org": org, "nav_areas": areas}
