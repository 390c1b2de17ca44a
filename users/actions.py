"""Writes to people, workspaces and licences: validate, save, audit — one path for portal, API and CSV."""
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from controlhub.actions import Actor, apply_fields, clean_or_raise, record_change, same_org
from controlhub.models import AuditAction, Location, Organization

from .models import CALLING_PERSON_KINDS, PERSON_SERVICE_FLAGS, License, LicenseKind, Person, Workspace

PERSON_FIELDS = ("email", "first_name", "last_name", "display_name", "title", "department", "location", "status")
WORKSPACE_FIELDS = ("display_name", "location", "capacity", "type")


def _normalise_person(person: Person) -> None:
    person.email = (person.email or "").strip().lower()
    person.first_name = (person.first_name or "").strip()
    person.last_name = (person.last_name or "").strip()
    person.display_name = (person.display_name or "").strip() or f"{person.first_name} {person.last_name}".strip()
    if not person.display_name:
        person.display_name = person.email


def _check_email_free(person: Person) -> None:
    if Person.objects.with_email(person.email).exclude(pk=person.pk).exists():
        raise ValidationError({"email": _("A user with the email %(email)s already exists.")
                                        % {"email": person.email}})


def check_license_set(licenses) -> None:
    """Services that cannot be combined on one person."""
    if sum(lic.kind in CALLING_PERSON_KINDS for lic in licenses) > 1:
        raise ValidationError({"licenses": _("A user has at most one Webex Calling licence (Professional or "
                                             "Basic).")})
    if any(lic.kind == LicenseKind.CALLING_WORKSPACES for lic in licenses):
        raise ValidationError({"licenses": _("Webex Calling - Workspaces is for workspaces, not for users.")})


def check_license_units(licenses: list[License], adding: int = 1) -> None:
    """Refuse assigning more units of a licence than the organisation has."""
    if not licenses:
        return
    consumed = dict(License.objects.filter(pk__in=[lic.pk for lic in licenses]).with_users()
                    .values_list("pk", "users"))
    for lic in licenses:
        if consumed.get(lic.pk, 0) + adding > lic.total_units:
            raise ValidationError({"licenses": _("No %(name)s licences left (%(total)s of %(total)s assigned).")
                                               % {"name": lic.name, "total": lic.total_units}})


@transaction.atomic
def create_person(actor: Actor, organization: Organization, *, licenses: list[License] = (),
                  send_welcome: bool = True, **data) -> Person:
    """Add a person. Unless told otherwise, a worker mails them a welcome once the transaction commits."""
    actor.require(Person, "create")
    person = Person(organization=organization)
    apply_fields(person, data, PERSON_FIELDS)
    same_org(organization, "location", person.location)
    same_org(organization, "licenses", *licenses)
    _normalise_person(person)
    clean_or_raise(person)
    _check_email_free(person)
    if person.location is not None:
        require_location_scope(actor, person.location)
    check_license_set(licenses)
    check_license_units(list(licenses))
    person.set_service_kinds({lic.kind for lic in licenses})
    person.save()
    actor.require(Person, "create", person)  # inside the actor's scope (organisation, locations); else rolled back
    record_change(actor, AuditAction.CREATE, person, None)
    if send_welcome:
        from .tasks import send_welcome_mail

        transaction.on_commit(lambda: send_welcome_mail.delay(str(person.pk)))
    return person


def require_location_scope(actor: Actor, location: Location) -> None:
    """A location admin may only place people, workspaces and lines in their own locations.

    Checked against the locations the actor can *see*: an organisation-wide admin who may not edit locations (user
    and device admin) still places people in any of them.
    """
    if actor.account is None:
        return
    if not Location.objects.restrict(actor.account, "view").filter(pk=location.pk).exists():
        raise ValidationError({"location": _("You can only use locations you administer.")})


@transaction.atomic
def update_person(actor: Actor, person: Person, **data) -> Person:
    actor.require(Person, "change", person)
    before = person.audit_snapshot()
    location_before = person.location_id
    apply_fields(person, data, PERSON_FIELDS)
    same_org(person.organization, "location", person.location)
    _normalise_person(person)
    clean_or_raise(person)
    _check_email_free(person)
    if person.location_id != location_before:
        if hasattr(person, "line"):
            raise ValidationError({"location": _("A calling user's location cannot be changed; remove calling "
                                                 "first or keep the location.")})
        if person.location is not None:
            require_location_scope(actor, person.location)
    person.save()
    actor.require(Person, "change", person)  # still in the actor's scope (a location admin clearing the location)
    record_change(actor, AuditAction.UPDATE, person, before)
    return person


@transaction.atomic
def set_person_licenses(actor: Actor, person: Person, *, add: list[License] = (), remove: list[License] = ()) -> Person:
    """Add and remove services. Removing the last calling licence of a calling user is refused while they have
    calling (its number, extension and phones would silently vanish)."""
    actor.require(Person, "change", person)
    same_org(person.organization, "licenses", *add, *remove)
    before = person.audit_snapshot()
    current = set(person.licenses)
    new = (current | set(add)) - set(remove)
    has_calling = any(lic.kind in CALLING_PERSON_KINDS for lic in new)
    if hasattr(person, "line") and not has_calling:
        raise ValidationError({"licenses": _("%(name)s has calling (number or extension); remove calling before "
                                             "removing the calling licence.") % {"name": person}})
    check_license_set(new)
    check_license_units([lic for lic in new if lic not in current])
    person.set_service_kinds({lic.kind for lic in new})
    person.save(update_fields=[*PERSON_SERVICE_FLAGS.values(), "updated"])
    record_change(actor, AuditAction.UPDATE, person, before)
    return person


@transaction.atomic
def delete_person(actor: Actor, person: Person) -> None:
    actor.require(Person, "delete", person)
    if person.devices.exists():
        raise ValidationError(_("%(name)s still has phones; remove them first.") % {"name": person})
    before = person.audit_snapshot()
    record_change(actor, AuditAction.DELETE, person, before)
    person.delete()


@transaction.atomic
def create_workspace(actor: Actor, organization: Organization, **data) -> Workspace:
    actor.require(Workspace, "create")
    workspace = Workspace(organization=organization)
    apply_fields(workspace, data, WORKSPACE_FIELDS)
    same_org(organization, "location", workspace.location)
    workspace.display_name = (workspace.display_name or "").strip()
    clean_or_raise(workspace)
    require_location_scope(actor, workspace.location)
    workspace.save()
    actor.require(Workspace, "create", workspace)
    record_change(actor, AuditAction.CREATE, workspace, None)
    return workspace


@transaction.atomic
def update_workspace(actor: Actor, workspace: Workspace, **data) -> Workspace:
    actor.require(Workspace, "change", workspace)
    before = workspace.audit_snapshot()
    location_before = workspace.location_id
    apply_fields(workspace, data, WORKSPACE_FIELDS)
    same_org(workspace.organization, "location", workspace.location)
    workspace.display_name = (workspace.display_name or "").strip()
    clean_or_raise(workspace)
    if workspace.location_id != location_before:
        if hasattr(workspace, "line"):
            raise ValidationError({"location": _("A workspace with calling cannot move to another location.")})
        require_location_scope(actor, workspace.location)
    workspace.save()
    record_change(actor, AuditAction.UPDATE, workspace, before)
    return workspace


@transaction.atomic
def delete_workspace(actor: Actor, workspace: Workspace) -> None:
    actor.require(Workspace, "delete", workspace)
    if workspace.devices.exists():
        raise ValidationError(_("%(name)s still has phones; remove them first.") % {"name": workspace})
    record_change(actor, AuditAction.DELETE, workspace, workspace.audit_snapshot())
    workspace.delete()
