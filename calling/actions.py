"""Writes to numbers and calling lines: validate, save, audit — one path for portal, API and CSV."""
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from controlhub.actions import Actor, record_change, same_org
from controlhub.models import AuditAction, Location, Organization
from users.actions import create_person, require_location_scope, set_person_licenses
from users.models import CALLING_PERSON_KINDS, LicenseKind, Person, Workspace

from .models import Line, Number, NumberState
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
        if not owner.licenses.filter(kind__in=CALLING_PERSON_KINDS).exists():
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
    after = (set(person.licenses.all()) | set(add)) - set(remove)
    if getattr(person, "line", None) is not None and not any(lic.kind in CALLING_PERSON_KINDS for lic in after):
        remove_calling(actor, person)
        person.refresh_from_db()
    return set_person_licenses(actor, person, add=list(add), remove=list(remove))
