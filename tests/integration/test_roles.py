"""Roles are enforced once, in `restrict()` and the actions: the whole matrix of restricted models × roles.

Expectations are written out by hand from DESIGN section 9 (not derived from `controlhub.roles`), so a change to
the roles table that is not also made here fails loudly.
"""
import itertools
from dataclasses import dataclass

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from calling.actions import add_number_range, assign_calling, remove_calling, set_main_number
from calling.models import Line, Number
from controlhub.actions import Actor, create_location, delete_location, update_location
from controlhub.models import Account, AuditEvent, Location, Organization, Partner
from controlhub.roles import Role
from devices.actions import Member, create_device, delete_device, set_device_members
from devices.models import Device, DeviceLine
from tests.conftest import SYSTEM, licence, org_location
from users.actions import (
    create_person,
    create_workspace,
    delete_person,
    set_person_licenses,
    update_person,
    update_workspace,
)
from users.models import License, LicenseKind, Person, Workspace

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


_macs = itertools.count(0x0A0000000001)
_emails = itertools.count(1)


def next_mac() -> str:
    return format(next(_macs), "012x")


# model -> (its admin area, how to read a row's organisation and location); WITHOUT_LOCATION: org-wide models
RESTRICTED = {
    Organization: ("organization", lambda o: (o.pk, None)),
    Location: ("locations", lambda o: (o.organization_id, o.pk)),
    Person: ("people", lambda o: (o.organization_id, o.location_id)),
    Workspace: ("workspaces", lambda o: (o.organization_id, o.location_id)),
    License: ("licenses", lambda o: (o.organization_id, None)),
    Number: ("numbers", lambda o: (o.organization_id, o.location_id)),
    Line: ("numbers", lambda o: (o.organization_id, o.location_id)),
    Device: ("devices", lambda o: (o.organization_id, o.location_id)),
    AuditEvent: ("audit", lambda o: (o.organization_id, None)),
}
WITHOUT_LOCATION = {Organization, License, AuditEvent}
ALL_AREAS = {"organization", "locations", "numbers", "people", "workspaces", "devices", "licenses", "audit"}

VIEWS = {
    Role.PARTNER_FULL_ADMIN: ALL_AREAS,
    Role.FULL_ADMIN: ALL_AREAS,
    Role.READ_ONLY_ADMIN: ALL_AREAS,
    Role.USER_DEVICE_ADMIN: ALL_AREAS,
    Role.LOCATION_ADMIN: ALL_AREAS - {"audit"},
}
CHANGES = {
    Role.PARTNER_FULL_ADMIN: ALL_AREAS,
    Role.FULL_ADMIN: ALL_AREAS,
    Role.READ_ONLY_ADMIN: set(),
    Role.USER_DEVICE_ADMIN: {"people", "workspaces", "devices", "licenses"},
    Role.LOCATION_ADMIN: {"locations", "numbers", "people", "workspaces", "devices"},
}
ROLES = list(VIEWS)


@dataclass
class World:
    acme: Organization       # partner 1; the admins under test administer it
    initech: Organization    # partner 1 too: only the partner admin sees it
    globex: Organization     # partner 2: nobody under test sees it
    partner: Partner

    def account(self, make_admin, role: str) -> Account:
        if role == Role.PARTNER_FULL_ADMIN:
            return make_admin(role, partner=self.partner)
        if role == Role.LOCATION_ADMIN:
            return make_admin(role, org=self.acme, locations=[org_location(self.acme, "HQ")])
        return make_admin(role, org=self.acme)

    def orgs_of(self, role: str) -> set:
        return {self.acme.pk, self.initech.pk} if role == Role.PARTNER_FULL_ADMIN else {self.acme.pk}


def populate(org: Organization, make_calling_person) -> None:
    """People, workspaces, lines and phones in both locations, plus a person with no location."""
    for location_name, ext in (("HQ", "1001"), ("Branch", "2001")):
        person = make_calling_person(org, ext, with_number=True, location_name=location_name)
        create_device(SYSTEM, org, mac=next_mac(), model="Cisco 7841", owner=person)
        workspace = create_workspace(SYSTEM, org, display_name=f"Lobby {location_name}",
                                     location=org_location(org, location_name))
        assign_calling(SYSTEM, workspace, location=None, extension=f"{ext[0]}900", phone_number=None)
    create_person(SYSTEM, org, email=f"nowhere{next(_emails)}@{org.sip_domain}", location=None)


@pytest.fixture
def world(make_org, partner, make_calling_person) -> World:
    other_partner = Partner.objects.create(name="Other partner")
    w = World(acme=make_org("Acme"), initech=make_org("Initech"), globex=make_org("Globex", partner_=other_partner),
              partner=partner)
    for org in (w.acme, w.initech, w.globex):
        populate(org, make_calling_person)
    return w


def expected_rows(world: World, role: str, model, areas: set) -> set:
    area, scope_of = RESTRICTED[model]
    if area not in areas[role]:
        return set()
    orgs = world.orgs_of(role)
    hq = org_location(world.acme, "HQ").pk
    result = set()
    for row in model.objects.all():
        org_id, location_id = scope_of(row)
        if org_id not in orgs:
            continue
        if role == Role.LOCATION_ADMIN and model not in WITHOUT_LOCATION and location_id != hq:
            continue
        result.add(row.pk)
    return result


@pytest.mark.parametrize("role", ROLES)
def test_restrict_view_matches_role_and_never_crosses_organisations(world, make_admin, role):
    account = world.account(make_admin, role)
    for model, (area, scope_of) in RESTRICTED.items():
        visible = set(model.objects.restrict(account, "view").values_list("pk", flat=True))
        assert visible == expected_rows(world, role, model, VIEWS), model.__name__
        # Never a row of Globex (another partner's customer), whatever the role.
        globex_rows = {row.pk for row in model.objects.all() if scope_of(row)[0] == world.globex.pk}
        assert globex_rows and not visible & globex_rows, model.__name__
        assert bool(visible) == (area in VIEWS[role]), model.__name__


@pytest.mark.parametrize("role", ROLES)
def test_restrict_change_matches_roles_table(world, make_admin, role):
    account = world.account(make_admin, role)
    for model, (area, _scope_of) in RESTRICTED.items():
        changeable = set(model.objects.restrict(account, "change").values_list("pk", flat=True))
        assert changeable == expected_rows(world, role, model, CHANGES), model.__name__
        assert bool(changeable) == (area in CHANGES[role]), model.__name__


def test_location_admin_sees_only_its_location_and_no_audit(world, make_admin):
    account = world.account(make_admin, Role.LOCATION_ADMIN)
    hq = org_location(world.acme, "HQ")
    assert list(Location.objects.restrict(account)) == [hq]
    assert {p.location_id for p in Person.objects.restrict(account)} == {hq.pk}  # not the person without location
    assert {d.location_id for d in Device.objects.restrict(account)} == {hq.pk}
    assert not AuditEvent.objects.restrict(account).exists()
    # Licences are organisation-wide; the location admin needs them to give people services.
    assert License.objects.restrict(account).count() == len(LicenseKind)
    assert not Location.objects.restrict(account, "delete").exists()
    assert not Location.objects.restrict(account, "create").exists()
    assert list(Location.objects.restrict(account, "change")) == [hq]


def test_anonymous_and_superuser(world):
    from django.contrib.auth.models import AnonymousUser

    assert not Person.objects.restrict(AnonymousUser()).exists()
    assert not Person.objects.restrict(None).exists()
    root = Account.objects.create_superuser("root@admins.test", "x")
    assert Person.objects.restrict(root).count() == Person.objects.count()


# --------------------------------------------------------------------------------------------- through the actions

COUNTED = [Organization, Location, Person, Workspace, License, Number, Line, Device, DeviceLine, AuditEvent]


def counts() -> dict:
    return {m.__name__: m.objects.count() for m in COUNTED}


def _hq_person(org) -> Person:
    return Person.objects.get(organization=org, line__extension="1001")


def _lobby(org) -> Workspace:
    return Workspace.objects.get(organization=org, display_name="Lobby HQ")


def _hq(org) -> Location:
    return org_location(org, "HQ")


# Every write of the domain layer, aimed at an object in the organisation's HQ (or at the organisation itself).
WRITES = {
    "create_person": lambda a, org: create_person(a, org, email="new@example.com", location=_hq(org)),
    "update_person": lambda a, org: update_person(a, _hq_person(org), title="Boss"),
    "set_person_licenses": lambda a, org: set_person_licenses(a, _hq_person(org),
                                                              add=[licence(org, LicenseKind.MEETINGS)]),
    "create_workspace": lambda a, org: create_workspace(a, org, display_name="Kitchen", location=_hq(org)),
    "update_workspace": lambda a, org: update_workspace(a, _lobby(org), capacity=4),
    "create_location": lambda a, org: create_location(a, org, name="Annex", time_zone="UTC", address1="3 Back St",
                                                      city="Austin", country="US"),
    "update_location": lambda a, org: update_location(a, _hq(org), city="Oakland"),
    "delete_location": lambda a, org: delete_location(a, org_location(org, "Empty")),
    "add_number_range": lambda a, org: add_number_range(a, _hq(org), "+13125550100", "+13125550104"),
    "set_main_number": lambda a, org: set_main_number(a, _hq(org),
                                                      _hq(org).numbers.filter(line=None).first().e164),
    "assign_calling": lambda a, org: assign_calling(a, _hq_person(org), location=None, extension="1099",
                                                    phone_number=None),
    "remove_calling": lambda a, org: remove_calling(a, _lobby(org)),
    "create_device": lambda a, org: create_device(a, org, mac=next_mac(), model="Cisco 7841", owner=_hq_person(org)),
    "set_device_members": lambda a, org: set_device_members(a, _hq_person(org).devices.get(), [
        Member(_hq_person(org).line, 1), Member(_lobby(org).line, 2)]),
    "delete_device": lambda a, org: delete_device(a, _hq_person(org).devices.get()),
    "delete_person": lambda a, org: delete_person(a, Person.objects.get(organization=org, email__startswith="hq-")),
}

# Which of these writes each role may perform (DESIGN section 9); the location admin administers HQ.
ALLOWED_WRITES = {
    Role.FULL_ADMIN: set(WRITES),
    Role.PARTNER_FULL_ADMIN: set(WRITES),
    Role.READ_ONLY_ADMIN: set(),
    Role.USER_DEVICE_ADMIN: {"create_person", "update_person", "delete_person", "set_person_licenses",
                             "create_workspace", "update_workspace", "assign_calling", "remove_calling",
                             "create_device", "set_device_members", "delete_device"},
    Role.LOCATION_ADMIN: set(WRITES) - {"create_location", "delete_location"},
}


@pytest.fixture
def acme_extras(world):
    """An empty location to delete and a person without phones to delete."""
    create_location(SYSTEM, world.acme, name="Empty", time_zone="UTC", address1="x", city="y", country="US")
    create_person(SYSTEM, world.acme, email="hq-leaver@example.com", location=_hq(world.acme))


def attempt(account: Account, write: str, org: Organization) -> str:
    """Run one write and undo it, so every write of a role starts from the same world."""
    with transaction.atomic():
        before = counts()
        try:
            WRITES[write](Actor(account), org)
        except PermissionDenied:
            untouched = counts() == before and not AuditEvent.objects.filter(actor=account).exists()
            outcome = "refused" if untouched else "refused but wrote something"
        except ValidationError as exc:
            outcome = f"invalid: {exc}"
        else:
            outcome = "done" if AuditEvent.objects.filter(actor=account).exists() else "done without audit"
        transaction.set_rollback(True)
    return outcome


@pytest.mark.parametrize("role", ROLES)
def test_writes_follow_roles_and_refusals_write_nothing(world, acme_extras, make_admin, role):
    account = world.account(make_admin, role)
    outcomes = {write: attempt(account, write, world.acme) for write in WRITES}
    assert outcomes == {write: "done" if write in ALLOWED_WRITES[role] else "refused" for write in WRITES}


# --------------------------------------------------------------------------------------------- scope details


def assert_nothing_written(before: dict) -> None:
    assert counts() == before  # AuditEvent included: a refusal leaves no audit row either


@pytest.fixture
def location_admin(world, make_admin) -> Actor:
    return Actor(world.account(make_admin, Role.LOCATION_ADMIN))


def test_location_admin_cannot_create_a_person_outside_its_locations(world, location_admin):
    before = counts()
    with pytest.raises(ValidationError) as exc:
        create_person(location_admin, world.acme, email="out@example.com", location=org_location(world.acme, "Branch"))
    assert list(exc.value.message_dict) == ["location"]
    # Without a location the person would fall outside the admin's scope at once.
    with pytest.raises(PermissionDenied):
        create_person(location_admin, world.acme, email="out@example.com", location=None)
    assert_nothing_written(before)
    person = create_person(location_admin, world.acme, email="in@example.com", location=_hq(world.acme))
    assert person.location == _hq(world.acme)


def test_location_admin_cannot_move_people_out_of_its_locations(world, location_admin):
    person = create_person(SYSTEM, world.acme, email="mover@example.com", location=_hq(world.acme),
                           licenses=[licence(world.acme)])
    before = counts()
    with pytest.raises(ValidationError) as exc:
        update_person(location_admin, person, location=org_location(world.acme, "Branch"))
    assert list(exc.value.message_dict) == ["location"]
    with pytest.raises(PermissionDenied):
        update_person(location_admin, Person.objects.get(pk=person.pk), location=None)
    # Giving calling in another location would move the person there.
    with pytest.raises(ValidationError) as exc:
        assign_calling(location_admin, Person.objects.get(pk=person.pk), location=org_location(world.acme, "Branch"),
                       extension="2777", phone_number=None)
    assert "location" in exc.value.message_dict
    assert_nothing_written(before)
    assert Person.objects.get(pk=person.pk).location == _hq(world.acme)


def test_location_admin_cannot_create_or_delete_locations(world, acme_extras, location_admin):
    before = counts()
    with pytest.raises(PermissionDenied):
        create_location(location_admin, world.acme, name="Annex", time_zone="UTC", address1="x", city="y",
                        country="US")
    with pytest.raises(PermissionDenied):
        delete_location(location_admin, org_location(world.acme, "Empty"))
    with pytest.raises(PermissionDenied):
        update_location(location_admin, org_location(world.acme, "Branch"), city="Elsewhere")
    assert_nothing_written(before)
    update_location(location_admin, _hq(world.acme), city="Oakland")


def test_location_admin_cannot_put_another_locations_line_on_a_phone(world, location_admin):
    phone = _hq_person(world.acme).devices.get()
    branch_line = Person.objects.get(organization=world.acme, line__extension="2001").line
    with pytest.raises(ValidationError) as exc:
        set_device_members(location_admin, phone, [Member(_hq_person(world.acme).line, 1), Member(branch_line, 2)])
    assert "outside the locations you administer" in exc.value.message_dict["members"][0]
    # An appearance a full administrator put there may stay when the location admin edits the phone.
    set_device_members(SYSTEM, phone, [Member(_hq_person(world.acme).line, 1), Member(branch_line, 2)])
    kept = set_device_members(location_admin, phone, [Member(_hq_person(world.acme).line, 1),
                                                      Member(branch_line, 3), Member(_lobby(world.acme).line, 2)])
    assert {(a.port, a.line_id) for a in kept} == {(1, _hq_person(world.acme).line.pk), (3, branch_line.pk),
                                                   (2, _lobby(world.acme).line.pk)}


def test_user_and_device_admin_creates_people_and_phones_not_locations_or_numbers(world, make_admin):
    actor = Actor(world.account(make_admin, Role.USER_DEVICE_ADMIN))
    branch = org_location(world.acme, "Branch")
    person = create_person(actor, world.acme, email="uda@example.com", location=branch,
                           licenses=[licence(world.acme)])
    assign_calling(actor, person, location=None, extension="2555", phone_number=None)
    device = create_device(actor, world.acme, mac=next_mac(), model="Cisco 8851", owner=person)
    assert device.location == branch
    before = counts()
    with pytest.raises(PermissionDenied):
        create_location(actor, world.acme, name="Annex", time_zone="UTC", address1="x", city="y", country="US")
    with pytest.raises(PermissionDenied):
        add_number_range(actor, branch, "+13125550100", "+13125550101")
    assert_nothing_written(before)


@pytest.mark.parametrize("role", [Role.FULL_ADMIN, Role.PARTNER_FULL_ADMIN, Role.USER_DEVICE_ADMIN])
def test_no_writes_into_an_organisation_outside_the_role(world, make_admin, role):
    actor = Actor(world.account(make_admin, role))
    globex, globex_hq = world.globex, org_location(world.globex, "HQ")
    globex_person = _hq_person(globex)
    before = counts()
    with pytest.raises(PermissionDenied):
        create_person(actor, globex, email="sneaky@example.com")
    with pytest.raises(ValidationError):
        create_person(actor, globex, email="sneaky@example.com", location=globex_hq)
    with pytest.raises(ValidationError):
        create_workspace(actor, globex, display_name="Sneaky", location=globex_hq)
    with pytest.raises(PermissionDenied):
        create_location(actor, globex, name="Sneaky", time_zone="UTC", address1="x", city="y", country="US")
    with pytest.raises(PermissionDenied):
        create_device(actor, globex, mac=next_mac(), model="Cisco 7841", owner=globex_person)
    with pytest.raises(PermissionDenied):
        update_person(actor, globex_person, title="Owned")
    with pytest.raises(PermissionDenied):
        delete_device(actor, globex_person.devices.get())
    assert_nothing_written(before)


def test_partner_admin_writes_into_each_of_its_customers(world, make_admin):
    actor = Actor(world.account(make_admin, Role.PARTNER_FULL_ADMIN))
    for org in (world.acme, world.initech):
        person = create_person(actor, org, email=f"partner-made@{org.sip_domain}", location=_hq(org))
        assert person.organization == org
    create_location(actor, world.initech, name="Annex", time_zone="UTC", address1="x", city="y", country="US")
