"""Helpers shared by the people, licence and workspace endpoints."""
from rest_framework.exceptions import ValidationError

from controlhub.api.ids import license_tail
from controlhub.models import Organization
from controlhub.roles import Role

from ..models import License

# Our admin roles as Webex role IDs (tails of `ciscospark://us/ROLE/<id>`).
WEBEX_ROLES: dict[str, tuple[str, ...]] = {
    Role.PARTNER_FULL_ADMIN: ("id_full_admin",),
    Role.FULL_ADMIN: ("id_full_admin",),
    Role.READ_ONLY_ADMIN: ("id_readonly_admin",),
    Role.USER_DEVICE_ADMIN: ("id_user_admin", "id_device_admin"),
    Role.LOCATION_ADMIN: ("id_location_admin",),
}


def resolve_licences(org: Organization, raw_ids, field: str = "licenses", unique: bool = True) -> list[License]:
    """Licence IDs of a request → this organisation's licences (one per ID sent unless `unique`); 400 naming the
    field for any other ID."""
    if raw_ids is None:
        return []
    wanted = []
    for raw in raw_ids:
        parsed = license_tail(raw) if isinstance(raw, str) else None
        if parsed is None or parsed[0] != org.pk:
            raise ValidationError({field: f"“{str(raw)[:100]}” is not a licence of this organization."})
        wanted.append(parsed)
    found = {(lic.kind, lic.licence_uuid): lic
             for lic in License.objects.filter(organization=org, licence_uuid__in=[w[2] for w in wanted])}
    result = []
    for raw, (_, kind, lic_uuid) in zip(raw_ids, wanted, strict=True):
        licence = found.get((kind, lic_uuid))
        if licence is None:
            raise ValidationError({field: f"“{raw[:100]}” is not a licence of this organization."})
        if not unique or licence not in result:
            result.append(licence)
    return result

