"""Writes to numbers and calling lines: validate, save, audit — one path for portal, API and CSV."""
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from controlhub.actions import Actor, apply_fields, record_change, same_org
from controlhub.models import AuditAction, Location, Organization
from users.actions import create_person, require_location_scope, set_person_licenses
from users.models import CALLING_PERSON_KINDS, LicenseKind, Person, Workspace

from .dialplan import dial_pattern_regex, pattern_regex, replacement_template, specificity
from .engine.kamailio import gateway_destination
from .models import (
    CallType,
    DialPattern,
    DialPlan,
    Line,
    LocationPstn,
    Number,
    NumberState,
    OutgoingPermission,
    PChargeInfoPolicy,
    PermissionAction,
    RouteGroup,
    RouteGroupMember,
    TranslationPattern,
    Trunk,
    TrunkTransport,
    TrunkType,
    default_permissions,
)
from .validators import is_toll_free, normalize_number, number_range, validate_extension


class NumberErrors(ValidationError):
    """Per-number rejections of a bulk number operation: {e164 or input: reason}."""

    def __init__(self, problems: dict[str, str]):
        self.problems = problems
        super().__init__({"phoneNumbers": [f"{n}: {why}" for n, why in problems.items()]})


def normalise_numbers(raw_numbers: list[str], country: str) -> list[str]:
    """Normalise each number, collecting every problem (invalid, duplicate in the list) before refusing."""
    problems: dict[str, str] = {}
    seen: set[str] = set()
    result = []
    for raw in raw_numbers:
        try:
            e164 = normalize_number(raw, country)
        except ValidationError as exc:
            problems[str(raw)] = exc.messages[0]
            continue
        if e164 in seen:
            problems[e164] = _("listed twice")
            continue
        seen.add(e164)
        result.append(e164)
    if problems:
        raise NumberErrors(problems)
    return result


@transaction.atomic
def add_numbers(actor: Actor, location: Location, numbers: list[str],
                state: str = NumberState.INACTIVE) -> list[Number]:
    """Add numbers to a location's inventory. All or nothing: one bad number refuses the whole request."""
    actor.require(Number, "create")
    actor.require(Location, "change", location)
    if state not in NumberState.values:
        raise ValidationError({"state": _("State must be ACTIVE or INACTIVE.")})
    e164s = normalise_numbers(numbers, location.country)
    if not e164s:
        raise ValidationError({"phoneNumbers": _("List at least one number.")})
    taken = set(Number.objects.filter(e164__in=e164s).values_list("e164", flat=True))
    if taken:
        raise NumberErrors({n: _("already in use (in this or another organization)") for n in sorted(taken)})
    created = Number.objects.bulk_create([
        Number(organization=location.organization, location=location, e164=n, state=state,
               is_toll_free=is_toll_free(n)) for n in e164s
    ])
    for number in created:
        record_change(actor, AuditAction.CREATE, number, None)
    return created


def add_number_range(actor: Actor, location: Location, start: str, end: str | None,
                     state: str = NumberState.INACTIVE) -> list[Number]:
    return add_numbers(actor, location, number_range(start, end, location.country), state)


def _location_numbers(location: Location, e164s: list[str]) -> list[Number]:
    found = {n.e164: n for n in Number.objects.filter(location=location, e164__in=e164s).select_related("line")}
    missing = [n for n in e164s if n not in found]
    if missing:
        raise NumberErrors({n: _("not in %(location)s's inventory") % {"location": location.name} for n in missing})
    return [found[n] for n in e164s]


@transaction.atomic
def set_numbers_state(actor: Actor, location: Location, numbers: list[str], state: str) -> list[Number]:
    actor.require(Number, "change")
    actor.require(Location, "change", location)
    if state not in NumberState.values:
        raise ValidationError({"action": _("Use ACTIVATE or DEACTIVATE.")})
    result = _location_numbers(location, normalise_numbers(numbers, location.country))
    for number in result:
        before = number.audit_snapshot()
        number.state = state
        number.save(update_fields=["state", "updated"])
        record_change(actor, AuditAction.UPDATE, number, before)
    return result


@transaction.atomic
def remove_numbers(actor: Actor, location: Location, numbers: list[str]) -> None:
    actor.require(Number, "delete")
    actor.require(Location, "change", location)
    result = _location_numbers(location, normalise_numbers(numbers, location.country))
    in_use = {n.e164: _("assigned to %(owner)s; unassign it first") % {"owner": n.owner}
              for n in result if n.owner is not None}
    in_use |= {n.e164: _("the location's main number; choose another main number first")
               for n in result if n.is_main}
    if in_use:
        raise NumberErrors(in_use)
    for number in result:
        record_change(actor, AuditAction.DELETE, number, number.audit_snapshot())
        number.delete()


@transaction.atomic
def set_main_number(actor: Actor, location: Location, e164: str | None) -> Number | None:
    """Make one number of the location's inventory its main number (None clears it)."""
    actor.require(Location, "change", location)
    current = Number.objects.filter(location=location, is_main=True).first()
    new = None
    if e164:
        new = _location_numbers(location, [normalize_number(e164, location.country)])[0]
    if current == new:
        return new
    if current is not None:
        before = current.audit_snapshot()
        current.is_main = False
        current.save(update_fields=["is_main", "updated"])
        record_change(actor, AuditAction.UPDATE, current, before)
    if new is not None:
        before = new.audit_snapshot()
        new.is_main = True
        new.save(update_fields=["is_main", "updated"])
        record_change(actor, AuditAction.UPDATE, new, before)
    return new


# --------------------------------------------------------------------------------------------- calling lines


def _owner_model(owner: Person | Workspace) -> type:
    return Person if isinstance(owner, Person) else Workspace


@transaction.atomic
def assign_calling(actor: Actor, owner: Person | Workspace, *, location: Location | None,
                   extension: str | None, phone_number: str | None) -> Line:
    """Give a person or workspace calling — or change it: location, extension and/or number.

    Rules (Control Hub's): a calling licence (people), a location, and a number and/or extension; the number
    must be in that location's inventory and free; the extension 2–10 digits and unused in the organisation.
    """
    actor.require(_owner_model(owner), "change", owner)
    org = owner.organization
    line: Line | None = getattr(owner, "line", None)
    errors: dict[str, str] = {}
    if isinstance(owner, Person):
        if not owner.has_calling_licence:
            errors["licenses"] = _("Assign a Webex Calling licence (Professional or Basic) first.")
    location = location or (line.location if line else None) or getattr(owner, "location", None)
    if location is None:
        errors["location"] = _("Choose the location the calling user belongs to.")
    else:
        same_org(org, "location", location)
        if line is not None and line.location_id != location.pk:
            errors["location"] = _("The location of a calling user cannot be changed.")
        else:
            try:
                require_location_scope(actor, location)  # a location admin must not move people out of scope
            except ValidationError as exc:
                errors.update({k: v[0] for k, v in exc.message_dict.items()})
    ext = None
    if extension:
        try:
            ext = validate_extension(extension)
        except ValidationError as exc:
            errors["extension"] = exc.messages[0]
        else:
            clash = Line.objects.filter(organization=org, extension=ext).exclude(pk=line.pk if line else None).first()
            if clash is not None:
                errors["extension"] = _("Extension %(ext)s is already used by %(owner)s.") % {"ext": ext,
                                                                                              "owner": clash.owner}
    number = None
    if phone_number and location is not None:
        try:
            e164 = normalize_number(phone_number, location.country)
        except ValidationError as exc:
            errors["phoneNumber"] = exc.messages[0]
        else:
            number = Number.objects.filter(organization=org, e164=e164).select_related("location", "line").first()
            if number is None:
                errors["phoneNumber"] = _("%(n)s is not in this organization's number inventory; add it to the "
                                          "location first.") % {"n": e164}
            elif number.location_id != location.pk:
                errors["phoneNumber"] = _("%(n)s belongs to location %(loc)s, not %(here)s.") % {
                    "n": e164, "loc": number.location.name, "here": location.name}
            elif getattr(number, "line", None) is not None and number.line != line:
                errors["phoneNumber"] = _("%(n)s is already assigned to %(owner)s.") % {"n": e164,
                                                                                      "owner": number.owner}
    if not ext and number is None and "extension" not in errors and "phoneNumber" not in errors:
        errors["extension"] = _("A calling user needs a phone number, an extension, or both.")
    if errors:
        raise ValidationError(errors)
    if isinstance(owner, Person) and owner.location_id != location.pk:
        owner.location = location
        owner.save(update_fields=["location", "updated"])
    if line is None:
        line = Line(organization=org, location=location, extension=ext, number=number,
                    **{"person" if isinstance(owner, Person) else "workspace": owner})
        line.save()
        record_change(actor, AuditAction.CREATE, line, None)
    else:
        before = line.audit_snapshot()
        line.extension, line.number = ext, number
        line.save()
        record_change(actor, AuditAction.UPDATE, line, before)
    owner.line = line
    return line


@transaction.atomic
def remove_calling(actor: Actor, owner: Person | Workspace) -> None:
    actor.require(_owner_model(owner), "change", owner)
    line = getattr(owner, "line", None)
    if line is None:
        return
    if owner.devices.exists():
        raise ValidationError(_("%(name)s still has phones; remove them before removing calling.") % {"name": owner})
    record_change(actor, AuditAction.DELETE, line, line.audit_snapshot())
    line.delete()


@transaction.atomic
def create_calling_person(actor: Actor, organization: Organization, *, location: Location | None,
                          extension: str | None = None, phone_number: str | None = None,
                          licenses=(), **person_fields) -> Person:
    """Create a person and, when a number or extension is given, their calling — all or nothing."""
    licenses = list(licenses)
    if (extension or phone_number) and not any(lic.kind in CALLING_PERSON_KINDS for lic in licenses):
        from users.models import License

        pro = License.objects.filter(organization=organization, kind=LicenseKind.CALLING_PROFESSIONAL).first()
        if pro is None:
            raise ValidationError({"licenses": _("This organization has no Webex Calling licences.")})
        licenses.append(pro)
    person = create_person(actor, organization, location=location, licenses=licenses, **person_fields)
    if extension or phone_number:
        assign_calling(actor, person, location=location, extension=extension, phone_number=phone_number)
    return person


@transaction.atomic
def change_calling_person_licenses(actor: Actor, person: Person, *, add=(), remove=()) -> Person:
    """Add and remove a person's services the Webex way: taking away the last calling licence also ends their
    calling (number and extension released; refused while they still have phones). Portal, API and CSV all
    change services through here; `users.actions.set_person_licenses` is its calling-unaware building block."""
    after = (set(person.licenses) | set(add)) - set(remove)
    if getattr(person, "line", None) is not None and not any(lic.kind in CALLING_PERSON_KINDS for lic in after):
        remove_calling(actor, person)
        person.refresh_from_db()
    return set_person_licenses(actor, person, add=list(add), remove=list(remove))


# --------------------------------------------------------------------------------------------- local gateways

TRUNK_FIELDS = ("name", "location", "trunk_type", "password", "address", "port", "domain", "transport",
                "peer_identity", "max_concurrent_calls", "dual_identity_support_enabled",
                "p_charge_info_support_policy", "device_type")
# What may change after creation (Webex: the type, location and address of a trunk are fixed).
TRUNK_UPDATE_FIELDS = ("name", "password", "max_concurrent_calls", "dual_identity_support_enabled",
                       "p_charge_info_support_policy", "port", "transport", "peer_identity")
MAX_ROUTE_GROUP_TRUNKS = 10


def _validate_trunk(trunk: Trunk) -> None:
    errors: dict[str, str] = {}
    trunk.name = (trunk.name or "").strip()
    if not trunk.name:
        errors["name"] = _("Give the trunk a name.")
    if trunk.trunk_type not in TrunkType.values:
        errors["trunk_type"] = _("The trunk type must be REGISTERING or CERTIFICATE_BASED.")
    password = trunk.password or ""
    if not (8 <= len(password) <= 64) or not any(c.isdigit() for c in password) \
            or not any(c.isalpha() for c in password) or any(c.isspace() or c == '"' for c in password):
        errors["password"] = _("The password must be 8 to 64 characters with letters and digits, "
                               "without spaces or quotes.")
    if not 1 <= (trunk.max_concurrent_calls or 0) <= 10000:
        errors["max_concurrent_calls"] = _("Maximum concurrent calls must be between 1 and 10000.")
    if trunk.transport not in TrunkTransport.values:
        errors["transport"] = _("The transport must be udp, tcp or tls.")
    if trunk.p_charge_info_support_policy not in PChargeInfoPolicy.values:
        errors["p_charge_info_support_policy"] = _("Unknown P-Charge-Info policy.")
    if trunk.trunk_type == TrunkType.CERTIFICATE_BASED:
        trunk.address = (trunk.address or "").strip().lower()
        trunk.domain = (trunk.domain or "").strip().lower()
        if not trunk.address:
            errors["address"] = _("A certificate-based trunk needs the gateway's address (FQDN or IP address).")
        else:
            try:
                gateway_destination(trunk.address, trunk.port or 5061, trunk.transport)
            except ValueError:
                errors["address"] = _("“%(value)s” is not an FQDN or IP address.") % {"value": trunk.address}
        if trunk.port is None:
            errors["port"] = _("A certificate-based trunk needs the gateway's port.")
        elif not 1 <= trunk.port <= 65535:
            errors["port"] = _("The port must be between 1 and 65535.")
        if not trunk.domain:
            errors["domain"] = _("A certificate-based trunk needs the domain of the gateway's certificate.")
    else:
        trunk.address, trunk.port, trunk.domain = "", None, ""
    if errors:
        raise ValidationError(errors)
    trunk.full_clean(exclude=["sip_username"])


@transaction.atomic
def create_trunk(actor: Actor, organization: Organization, **data) -> Trunk:
    """Add a local gateway. Registering trunks get generated credentials (a password may be given)."""
    actor.require(Trunk, "create")
    trunk = Trunk(organization=organization)
    unknown = set(data) - set(TRUNK_FIELDS)
    if unknown:
        raise ValidationError({name: _("This field cannot be set here.") for name in sorted(unknown)})
    location = data.pop("location", None)
    if location is None:
        raise ValidationError({"location": _("Choose the location of the trunk.")})
    same_org(organization, "location", location)
    require_location_scope(actor, location)
    if data.get("password") in (None, ""):
        data.pop("password", None)
    for name, value in data.items():
        if value is not None:
            setattr(trunk, name, value)
    trunk.location = location
    _validate_trunk(trunk)
    trunk.save()
    record_change(actor, AuditAction.CREATE, trunk, None)
    return trunk


@transaction.atomic
def update_trunk(actor: Actor, trunk: Trunk, **data) -> Trunk:
    actor.require(Trunk, "change", trunk)
    unknown = set(data) - set(TRUNK_UPDATE_FIELDS)
    if unknown:
        raise ValidationError({name: _("This cannot be changed after the trunk is created.")
                               for name in sorted(unknown)})
    before = trunk.audit_snapshot()
    for name, value in data.items():
        if value is None and name != "port":
            continue
        if name == "password" and value == "":
            continue
        setattr(trunk, name, value)
    _validate_trunk(trunk)
    trunk.save()
    if record_change(actor, AuditAction.UPDATE, trunk, before) is None and "password" in data:
        # the password is not audited (a secret) but still has to reach the engine
        bump_engine(trunk)
    return trunk


def bump_engine(obj) -> None:
    from controlhub.sync import bump

    bump([obj])


def trunk_users(trunk: Trunk) -> list[str]:
    """What uses a trunk: locations (PSTN connection) and route groups, as names for an error message."""
    users = [_("location %(name)s") % {"name": pstn.location.name}
             for pstn in trunk.pstn_locations.select_related("location").order_by("location__name")]
    users += [_("route group %(name)s") % {"name": m.route_group.name}
              for m in trunk.memberships.select_related("route_group").order_by("route_group__name")]
    users += [_("dial plan %(name)s") % {"name": plan.name} for plan in trunk.dial_plans.order_by("name")]
    return users


@transaction.atomic
def delete_trunk(actor: Actor, trunk: Trunk) -> None:
    actor.require(Trunk, "delete", trunk)
    users = trunk_users(trunk)
    if users:
        raise ValidationError(_("%(name)s is in use by %(users)s; remove it there first.")
                              % {"name": trunk.name, "users": ", ".join(users)})
    record_change(actor, AuditAction.DELETE, trunk, trunk.audit_snapshot())
    trunk.delete()


def _route_group_members(organization: Organization, members) -> list[tuple[Trunk, int]]:
    """Validate [(trunk, priority)]: 1–10 trunks of this organisation, each once, priorities 1–10."""
    members = list(members or [])
    if not members:
        raise ValidationError({"local_gateways": _("A route group needs at least one trunk.")})
    if len(members) > MAX_ROUTE_GROUP_TRUNKS:
        raise ValidationError({"local_gateways": _("A route group holds at most 10 trunks.")})
    seen = set()
    for trunk, priority in members:
        if trunk.organization_id != organization.pk:
            raise ValidationError({"local_gateways": _("Trunk not found in this organization.")})
        if trunk.pk in seen:
            raise ValidationError({"local_gateways": _("%(name)s is listed twice.") % {"name": trunk.name}})
        seen.add(trunk.pk)
        if not isinstance(priority, int) or not 1 <= priority <= 10:
            raise ValidationError({"local_gateways": _("Priorities are whole numbers from 1 to 10.")})
    return members


def _set_members(group: RouteGroup, members: list[tuple[Trunk, int]]) -> None:
    group.members.all().delete()
    RouteGroupMember.objects.bulk_create([RouteGroupMember(route_group=group, trunk=t, priority=p)
                                          for t, p in members])


def _validate_route_group(group: RouteGroup) -> None:
    group.name = (group.name or "").strip()
    if not group.name:
        raise ValidationError({"name": _("Give the route group a name.")})
    group.full_clean()


@transaction.atomic
def create_route_group(actor: Actor, organization: Organization, *, name: str, members) -> RouteGroup:
    actor.require(RouteGroup, "create")
    group = RouteGroup(organization=organization, name=name)
    _validate_route_group(group)
    members = _route_group_members(organization, members)
    group.save()
    _set_members(group, members)
    record_change(actor, AuditAction.CREATE, group, None)
    return group


@transaction.atomic
def update_route_group(actor: Actor, group: RouteGroup, *, name: str | None = None, members=None) -> RouteGroup:
    actor.require(RouteGroup, "change", group)
    before = group.audit_snapshot()
    if name is not None:
        group.name = name
    _validate_route_group(group)
    group.save()
    if members is not None:
        _set_members(group, _route_group_members(group.organization, members))
    record_change(actor, AuditAction.UPDATE, group, before)
    bump_engine(group)   # priorities are not in the audit snapshot but change the engine's order
    return group


@transaction.atomic
def delete_route_group(actor: Actor, group: RouteGroup) -> None:
    actor.require(RouteGroup, "delete", group)
    plans = [plan.name for plan in group.dial_plans.order_by("name")]
    if plans:
        raise ValidationError(_("%(name)s is the route of dial plan %(plans)s; change it there first.")
                              % {"name": group.name, "plans": ", ".join(plans)})
    users = [pstn.location.name for pstn in group.pstn_locations.select_related("location")]
    if users:
        raise ValidationError(_("%(name)s is the PSTN connection of %(users)s; change it there first.")
                              % {"name": group.name, "users": ", ".join(sorted(users))})
    record_change(actor, AuditAction.DELETE, group, group.audit_snapshot())
    group.delete()


@transaction.atomic
def set_location_pstn_connection(actor: Actor, location: Location,
                                 route: Trunk | RouteGroup | None) -> LocationPstn | None:
    """Make a trunk or route group the location's PSTN connection (None removes it)."""
    actor.require(Location, "change", location)
    if route is not None:
        same_org(location.organization, "premiseRouteId", route)
    current = LocationPstn.objects.filter(location=location).select_related("trunk", "route_group").first()
    if route is None:
        if current is not None:
            record_change(actor, AuditAction.DELETE, current, current.audit_snapshot())
            current.delete()
        return None
    trunk = route if isinstance(route, Trunk) else None
    group = route if isinstance(route, RouteGroup) else None
    if current is None:
        current = LocationPstn.objects.create(organization=location.organization, location=location, trunk=trunk,
                                              route_group=group)
        record_change(actor, AuditAction.CREATE, current, None)
        return current
    before = current.audit_snapshot()
    current.trunk, current.route_group = trunk, group
    current.save()
    record_change(actor, AuditAction.UPDATE, current, before)
    return current


# --------------------------------------------------------------------------------------------- dial plan

UNSUPPORTED_ACTIONS = {"AUTH_CODE", "TRANSFER_NUMBER_1", "TRANSFER_NUMBER_2", "TRANSFER_NUMBER_3"}


def clean_permissions(current: dict, changes) -> dict:
    """Merge {callType: {"action", "transferEnabled"}} (or [{callType, action, transferEnabled}]) into `current`.

    Every call type ends up present; errors name the call type and say why (unknown type, unsupported action).
    """
    if isinstance(changes, list):
        as_dict = {}
        for index, entry in enumerate(changes):
            if not isinstance(entry, dict) or "callType" not in entry:
                raise ValidationError({"callingPermissions": _("Entry %(n)s needs a callType.") % {"n": index + 1}})
            as_dict[str(entry["callType"])] = entry
        changes = as_dict
    if not isinstance(changes, dict):
        raise ValidationError({"callingPermissions": _("Give a list of call types with an action each.")})
    merged = {**default_permissions(), **(current or {})}
    for call_type, entry in changes.items():
        if call_type not in CallType.values:
            raise ValidationError({"callingPermissions": _("%(type)s is not a call type; use one of %(types)s.")
                                   % {"type": call_type, "types": ", ".join(CallType.values)}})
        if not isinstance(entry, dict):
            raise ValidationError({"callingPermissions": _("%(type)s needs an action.") % {"type": call_type}})
        action = entry.get("action", merged[call_type]["action"])
        if action in UNSUPPORTED_ACTIONS:
            raise ValidationError({"callingPermissions": _(
                "%(type)s: %(action)s is not supported by this call engine; use ALLOW or BLOCK.")
                % {"type": call_type, "action": action}})
        if action not in PermissionAction.values:
            raise ValidationError({"callingPermissions": _("%(type)s: the action must be ALLOW or BLOCK, not "
                                                           "%(action)r.") % {"type": call_type, "action": action}})
        transfer = entry.get("transferEnabled", merged[call_type].get("transferEnabled", True))
        if not isinstance(transfer, bool):
            raise ValidationError({"callingPermissions": _("%(type)s: transferEnabled must be true or false.")
                                   % {"type": call_type}})
        merged[call_type] = {"action": action, "transferEnabled": transfer}
    return {ct: merged[ct] for ct in CallType.values}


def outgoing_permission_of(owner: Location | Person) -> OutgoingPermission | None:
    field = "location" if isinstance(owner, Location) else "person"
    return OutgoingPermission.objects.filter(**{field: owner}).first()


def effective_permissions(owner: Location | Person) -> tuple[dict, str]:
    """(permissions, where they come from: LOCATION | PEOPLE | DEFAULT) for a location or a person."""
    own = outgoing_permission_of(owner)
    if isinstance(owner, Person):
        if own is not None and own.use_custom:
            return own.permissions, "PEOPLE"
        line = Line.objects.filter(person=owner).select_related("location").first()
        if line is None:
            return default_permissions(), "DEFAULT"
        return effective_permissions(line.location)
    if own is not None:
        return own.permissions, "LOCATION"
    return default_permissions(), "DEFAULT"


@transaction.atomic
def set_outgoing_permissions(actor: Actor, owner: Location | Person, *, permissions=None,
                             use_custom: bool | None = None) -> OutgoingPermission:
    """Set a location's outgoing permissions, or a person's own (with `use_custom` to switch them on/off)."""
    is_location = isinstance(owner, Location)
    actor.require(Location if is_location else Person, "change", owner)   # location admins: their own only
    if use_custom is not None and not isinstance(use_custom, bool):
        raise ValidationError({"useCustomEnabled": _("Must be true or false.")})
    current = outgoing_permission_of(owner)
    if current is None:
        base = effective_permissions(owner)[0]
        current = OutgoingPermission(organization=owner.organization, permissions=base,
                                     **({"location": owner} if is_location else {"person": owner}))
        before = None
    else:
        before = current.audit_snapshot()
    if permissions is not None:
        current.permissions = clean_permissions(current.permissions, permissions)
    if use_custom is not None and not is_location:
        current.use_custom = use_custom
    current.save()
    record_change(actor, AuditAction.CREATE if before is None else AuditAction.UPDATE, current, before)
    return current


def _clean_translation_pattern(pattern: TranslationPattern) -> None:
    pattern.name = (pattern.name or "").strip()
    if not pattern.name:
        raise ValidationError({"name": _("Give the translation pattern a name.")})
    if len(pattern.name) > 60:
        raise ValidationError({"name": _("A name has at most 60 characters.")})
    try:
        pattern.matching_pattern = (pattern.matching_pattern or "").strip().upper()
        pattern_regex(pattern.matching_pattern)
    except ValueError as exc:
        raise ValidationError({"matchingPattern": str(exc)}) from None
    try:
        pattern.replacement_pattern = (pattern.replacement_pattern or "").strip().upper()
        replacement_template(pattern.matching_pattern, pattern.replacement_pattern)
    except ValueError as exc:
        raise ValidationError({"replacementPattern": str(exc)}) from None
    same_level = TranslationPattern.objects.filter(organization=pattern.organization,
                                                   location=pattern.location).exclude(pk=pattern.pk)
    if same_level.filter(name__iexact=pattern.name).exists():
        raise ValidationError({"name": _("A translation pattern named %(name)s already exists here.")
                               % {"name": pattern.name}})
    clash = same_level.filter(matching_pattern=pattern.matching_pattern).first()
    if clash is not None:
        raise ValidationError({"matchingPattern": _("Translation pattern %(name)s already matches %(pattern)s.")
                               % {"name": clash.name, "pattern": pattern.matching_pattern}})


@transaction.atomic
def create_translation_pattern(actor: Actor, organization: Organization, *, name: str, matching_pattern: str,
                               replacement_pattern: str, location: Location | None = None) -> TranslationPattern:
    actor.require(TranslationPattern, "create")
    same_org(organization, "locationId", location)
    pattern = TranslationPattern(organization=organization, location=location, name=name,
                                 matching_pattern=matching_pattern, replacement_pattern=replacement_pattern)
    _clean_translation_pattern(pattern)
    pattern.save()
    record_change(actor, AuditAction.CREATE, pattern, None)
    return pattern


@transaction.atomic
def update_translation_pattern(actor: Actor, pattern: TranslationPattern, **data) -> TranslationPattern:
    actor.require(TranslationPattern, "change", pattern)
    before = pattern.audit_snapshot()
    apply_fields(pattern, data, ("name", "matching_pattern", "replacement_pattern"))
    _clean_translation_pattern(pattern)
    pattern.save()
    record_change(actor, AuditAction.UPDATE, pattern, before)
    return pattern


@transaction.atomic
def delete_translation_pattern(actor: Actor, pattern: TranslationPattern) -> None:
    actor.require(TranslationPattern, "delete", pattern)
    record_change(actor, AuditAction.DELETE, pattern, pattern.audit_snapshot())
    pattern.delete()


def _clean_dial_patterns(plan: DialPlan, patterns) -> list[str]:
    """Validated, de-duplicated +E.164 dial patterns, none already in another dial plan of the organisation."""
    cleaned: list[str] = []
    for raw in patterns or []:
        pattern = str(raw or "").strip().upper()
        try:
            dial_pattern_regex(pattern)
        except ValueError as exc:
            raise ValidationError({"dialPatterns": f"{pattern or '(empty)'}: {exc}"}) from None
        if pattern not in cleaned:
            cleaned.append(pattern)
    taken = (DialPattern.objects.filter(organization=plan.organization, pattern__in=cleaned)
             .exclude(dial_plan=plan.pk).select_related("dial_plan").first())
    if taken is not None:
        raise ValidationError({"dialPatterns": _("%(pattern)s is already in dial plan %(plan)s.")
                               % {"pattern": taken.pattern, "plan": taken.dial_plan.name}})
    return sorted(cleaned, key=specificity)


def _clean_dial_plan(plan: DialPlan, route) -> None:
    plan.name = (plan.name or "").strip()
    if not plan.name:
        raise ValidationError({"name": _("Give the dial plan a name.")})
    if route is None:
        raise ValidationError({"routeId": _("Choose the trunk or route group its calls go to.")})
    same_org(plan.organization, "routeId", route)
    plan.trunk = route if isinstance(route, Trunk) else None
    plan.route_group = route if isinstance(route, RouteGroup) else None
    if DialPlan.objects.filter(organization=plan.organization, name__iexact=plan.name).exclude(pk=plan.pk).exists():
        raise ValidationError({"name": _("A dial plan named %(name)s already exists.") % {"name": plan.name}})


@transaction.atomic
def create_dial_plan(actor: Actor, organization: Organization, *, name: str, route: Trunk | RouteGroup | None,
                     dial_patterns=()) -> DialPlan:
    actor.require(DialPlan, "create")
    plan = DialPlan(organization=organization, name=name)
    _clean_dial_plan(plan, route)
    patterns = _clean_dial_patterns(plan, dial_patterns)
    plan.save()
    DialPattern.objects.bulk_create([DialPattern(organization=organization, dial_plan=plan, pattern=p)
                                     for p in patterns])
    record_change(actor, AuditAction.CREATE, plan, None, {**plan.audit_snapshot(), "dial_patterns": patterns})
    return plan


@transaction.atomic
def update_dial_plan(actor: Actor, plan: DialPlan, *, name: str | None = None, route=None, add=(), delete=(),
                     delete_all: bool = False) -> DialPlan:
    """Rename, re-route, and add/delete dial patterns (Webex: {dialPatterns: [{dialPattern, action}]})."""
    actor.require(DialPlan, "change", plan)
    current = list(plan.patterns.values_list("pattern", flat=True))
    before = {**plan.audit_snapshot(), "dial_patterns": sorted(current, key=specificity)}
    if name is not None:
        plan.name = name
    _clean_dial_plan(plan, route if route is not None else plan.route)
    deleting = {str(p or "").strip().upper() for p in delete}
    unknown = sorted(deleting - set(current))
    if unknown and not delete_all:
        raise ValidationError({"dialPatterns": _("%(pattern)s is not a dial pattern of %(plan)s.")
                               % {"pattern": unknown[0], "plan": plan.name}})
    kept = [] if delete_all else [p for p in current if p not in deleting]
    wanted = _clean_dial_patterns(plan, kept + list(add))
    plan.save()
    plan.patterns.exclude(pattern__in=wanted).delete()
    DialPattern.objects.bulk_create([DialPattern(organization=plan.organization, dial_plan=plan, pattern=p)
                                     for p in wanted if p not in current])
    record_change(actor, AuditAction.UPDATE, plan, before, {**plan.audit_snapshot(), "dial_patterns": wanted})
    return plan


@transaction.atomic
def delete_dial_plan(actor: Actor, plan: DialPlan) -> None:
    actor.require(DialPlan, "delete", plan)
    record_change(actor, AuditAction.DELETE, plan, plan.audit_snapshot())
    plan.delete()
