"""The real wxc-sdk (1.41.0) against a live server, base URL patched, in its strict mode: every extra field, null or
unknown enum value in one of our responses fails validation here (reference/webex-api.md §10)."""
import os

# Must be set before wxc_sdk is imported: its models and enums read it once, at import time (wxc_sdk/base.py).
_previous_mode = os.environ.get("API_MODEL_ALLOW_EXTRA")
os.environ["API_MODEL_ALLOW_EXTRA"] = "forbid"

import pytest  # noqa: E402
import wxc_sdk.base  # noqa: E402
from rest_framework.authtoken.models import Token  # noqa: E402
from wxc_sdk import WebexSimpleApi  # noqa: E402
from wxc_sdk.as_rest import AsRestSession  # noqa: E402
from wxc_sdk.common import NumberState  # noqa: E402
from wxc_sdk.licenses import LicenseProperties, LicenseRequest  # noqa: E402
from wxc_sdk.locations import Location as WebexLocation  # noqa: E402
from wxc_sdk.people import Person as WebexPerson  # noqa: E402
from wxc_sdk.people import PhoneNumber, PhoneNumberType  # noqa: E402
from wxc_sdk.rest import RestError, RestSession  # noqa: E402
from wxc_sdk.telephony.devices import AvailableMember  # noqa: E402
from wxc_sdk.telephony.location import CallingLineId, TelephonyLocation  # noqa: E402
from wxc_sdk.telephony.location.numbers import NumbersRequestAction  # noqa: E402
from wxc_sdk.workspaces import CallingType, Workspace, WorkspaceCalling, WorkspaceWebexCalling  # noqa: E402

from calling.models import Number  # noqa: E402
from controlhub.models import AuditEvent, AuditSource, Location  # noqa: E402
from controlhub.roles import Role  # noqa: E402
from devices.models import Device  # noqa: E402
from tests.conftest import free_number, licence, org_location  # noqa: E402
from tests.integration.api_fixtures import LOCATION, ORG, PEOPLE, wid  # noqa: E402
from users.models import Person  # noqa: E402

if _previous_mode is None:  # the models are built; leave the environment as it was for everything else
    del os.environ["API_MODEL_ALLOW_EXTRA"]
else:
    os.environ["API_MODEL_ALLOW_EXTRA"] = _previous_mode

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def webex(live_server, monkeypatch, org, make_admin) -> WebexSimpleApi:
    """The SDK as a customer full admin of `org` uses it, pointed at the live server."""
    admin = make_admin(Role.FULL_ADMIN, org=org)
    token = Token.objects.create(user=admin)
    monkeypatch.setattr(RestSession, "BASE", f"{live_server.url}/v1")
    monkeypatch.setattr(AsRestSession, "BASE", f"{live_server.url}/v1")
    api = WebexSimpleApi(tokens=token.key)
    yield api
    api.close()


def test_strict_mode_is_on():
    assert wxc_sdk.base.API_MODEL_ALLOW_EXTRA == "forbid"


def test_me_organizations_licences(webex, org):
    me = webex.people.me()
    assert me.org_id == wid(ORG, org) and me.roles
    orgs = webex.organizations.list()
    assert [o.org_id for o in orgs] == [wid(ORG, org)]
    detail = webex.organizations.details(org_id=me.org_id, calling_data=True)
    assert detail.display_name == "Acme" and detail.created is not None
    licences = webex.licenses.list()
    by_name = {lic.name: lic for lic in licences}
    pro = by_name["Webex Calling - Professional"]
    assert pro.webex_calling_professional and pro.total_units == 1000 and pro.consumed_units == 0
    # the SDK's own licence test: <org uuid>:<TYPE without _>_<uuid4>
    org_uuid, rest = wxc_sdk.base.webex_id_to_uuid(pro.license_id).split(":")
    assert org_uuid == str(org.pk) and "_" not in pro.lic_type and len(pro.lic_uuid) == 36
    assert webex.licenses.details(pro.license_id).name == pro.name
    assert by_name["Webex Calling - Workspaces"].webex_calling_workspaces


def test_locations_and_calling_details(webex, org):
    names = [loc.name for loc in webex.locations.list()]
    assert names == ["Branch", "HQ"]
    new_id = webex.locations.create(name="Stockholm", time_zone="Europe/Stockholm", preferred_language="en_us",
                                    announcement_language="en_us", address1="Drottninggatan 1", city="Stockholm",
                                    state="AB", postal_code="11151", country="SE")
    created = webex.locations.details(new_id)
    assert created.name == "Stockholm" and created.address.country == "SE" and created.org_id == wid(ORG, org)
    webex.locations.update(new_id, WebexLocation(name="Stockholm City", address=created.address))
    assert webex.locations.details(new_id).name == "Stockholm City"
    assert webex.telephony.location.enable_for_calling(webex.locations.details(new_id)) == new_id

    hq = org_location(org, "HQ")
    main = free_number(hq)
    calling = {loc.location_id: loc for loc in webex.telephony.location.list()}
    assert calling[wid(LOCATION, hq)].routing_prefix == "81"
    webex.telephony.location.update(wid(LOCATION, hq), TelephonyLocation(
        calling_line_id=CallingLineId(phone_number=main), routing_prefix="810", outside_dial_digit="9"))
    details = webex.telephony.location.details(wid(LOCATION, hq))
    assert (details.calling_line_id.phone_number, details.routing_prefix, details.outside_dial_digit) == \
        (main, "810", "9")
    webex.telephony.location.change_announcement_language(wid(LOCATION, hq), language_code="en_gb")
    assert Location.objects.get(pk=hq.pk).announcement_language == "en_gb"
    assert AuditEvent.objects.filter(source=AuditSource.API, object_type="location").count() >= 3


def test_numbers(webex, org):
    hq = org_location(org, "HQ")
    hq_id = wid(LOCATION, hq)
    result = webex.telephony.location.number.add(hq_id, ["+12025550160", "+12025550161"], state=NumberState.active)
    assert result.errors == []
    assert set(Number.objects.filter(e164__startswith="+1202555016").values_list("state", flat=True)) == {"ACTIVE"}
    rejected = webex.telephony.location.number.add(hq_id, ["+12025550162", "42"])
    assert [e.number for e in rejected.errors] == ["42"]
    webex.telephony.location.number.manage_number_state(hq_id, ["+12025550160"],
                                                        action=NumbersRequestAction.deactivate)
    assert Number.objects.get(e164="+12025550160").state == "INACTIVE"
    numbers = list(webex.telephony.phone_numbers(location_id=hq_id, max=4))  # 3 pages, following Link
    assert len(numbers) == 12 and all(n.location.name == "HQ" for n in numbers)
    assert {n.phone_number for n in numbers} >= {"+12025550160", "+12025550161"}
    counts = webex.telephony.phone_number_details()
    assert counts.total == 22 and counts.in_active == 1
    webex.telephony.location.number.remove(hq_id, ["+12025550160", "+12025550161"])
    assert not Number.objects.filter(e164__in=["+12025550160", "+12025550161"]).exists()
    validation = webex.telephony.validate_phone_numbers(["+12025550163", hq.numbers.first().e164])
    assert [s.state for s in validation.phone_numbers] == ["Available", "Duplicate"]
    assert not webex.telephony.validate_extensions(["12", "x"]).ok
    assert webex.telephony.location.validate_extensions(hq_id, ["1234"]).ok


def test_calling_people(webex, org):
    hq = org_location(org, "HQ")
    pro = next(lic for lic in webex.licenses.list() if lic.webex_calling_professional)
    number = free_number(hq)
    created = webex.people.create(WebexPerson(
        emails=["ada@example.com"], first_name="Ada", last_name="Lovelace", display_name="Ada Lovelace",
        phone_numbers=[PhoneNumber(number_type=PhoneNumberType.work, value=number)], extension="1001",
        location_id=wid(LOCATION, hq), licenses=[pro.license_id]), calling_data=True)
    assert created.extension == "1001" and created.location_id == wid(LOCATION, hq)
    assert created.tn.value == number
    # a second user, calling-enabled the way the SDK's own tests do it
    plain = webex.people.create(WebexPerson(emails=["bob@example.com"], display_name="Bob"))
    response = webex.licenses.assign_licenses_to_users(person_id=plain.person_id, licenses=[LicenseRequest(
        id=pro.license_id, properties=LicenseProperties(location_id=wid(LOCATION, hq), extension="1002"))])
    assert pro.license_id in response.licenses
    bob = webex.people.details(plain.person_id, calling_data=True)
    assert bob.extension == "1002"
    # GET → change → PUT, as the SDK documents it
    bob.title = "Engineer"
    updated = webex.people.update(bob, calling_data=True)
    assert updated.title == "Engineer" and updated.extension == "1002"
    everyone = list(webex.people.list(calling_data=True, max=1))
    assert {p.emails[0] for p in everyone} == {"ada@example.com", "bob@example.com"}
    assert [p.person_id for p in webex.people.list(email="ada@example.com")] == [created.person_id]
    assert [u.email for u in webex.licenses.assigned_users(pro.license_id)] == ["ada@example.com",
                                                                               "bob@example.com"]
    webex.people.delete_person(plain.person_id)
    assert not Person.objects.filter(email="bob@example.com").exists()
    with pytest.raises(RestError) as exc:
        webex.people.details(plain.person_id)
    assert exc.value.response.status_code == 404 and "Person not found" in str(exc.value)


def test_devices_and_members(webex, org, make_calling_person):
    owner = make_calling_person(org, "2001", with_number=True)
    other = make_calling_person(org, "2002")
    supported = webex.telephony.devices.supported_devices()
    assert "DMS Cisco 8851" in {d.model for d in supported.devices} and supported.upgrade_channel_list
    assert webex.telephony.devices.validate_macs(["00:1A:2B:3C:4D:5E"]).status == "OK"
    device = webex.devices.create_by_mac_address("00:1A:2B:3C:4D:5E", person_id=wid(PEOPLE, owner),
                                                 model="DMS Cisco 8851")
    assert device.mac == "001A2B3C4D5E" and device.person_id == wid(PEOPLE, owner)
    assert Device.objects.filter(mac="001a2b3c4d5e").exists()
    assert [d.device_id for d in webex.devices.list(person_id=wid(PEOPLE, owner))] == [device.device_id]
    members = webex.telephony.devices.members(device.device_id)
    assert members.model == "DMS Cisco 8851" and members.max_line_count == 10
    assert [(m.member_id, m.primary_owner, m.port) for m in members.members] == [(wid(PEOPLE, owner), True, 1)]
    available = list(webex.telephony.devices.available_members(device.device_id))
    assert [m.member_id for m in available] == [wid(PEOPLE, other)]
    assert isinstance(available[0], AvailableMember)
    webex.telephony.devices.update_members(device.device_id, members.members + available)
    members = webex.telephony.devices.members(device.device_id)
    assert [(m.member_id, m.port, m.line_type) for m in members.members] == [
        (wid(PEOPLE, owner), 1, "PRIMARY"), (wid(PEOPLE, other), 2, "SHARED_CALL_APPEARANCE")]
    shared = webex.person_settings.devices(wid(PEOPLE, other))
    assert [(d.device_id, d.primary_owner) for d in shared.devices] == [(device.device_id, False)]
    webex.telephony.devices.update_members(device.device_id, [])
    assert len(webex.telephony.devices.members(device.device_id).members) == 1
    webex.devices.delete(device.device_id)
    assert not Device.objects.exists()


def test_workspaces(webex, org):
    hq = org_location(org, "HQ")
    workspace = webex.workspaces.create(Workspace(display_name="Lobby", location_id=wid(LOCATION, hq),
                                                  calling=WorkspaceCalling(type=CallingType.webex,
                                                                           webex_calling=WorkspaceWebexCalling(
                                                                               extension="3001"))))
    assert workspace.calling.type == CallingType.webex and workspace.calling.webex_calling.extension == "3001"
    assert [w.display_name for w in webex.workspaces.list()] == ["Lobby"]
    workspace.capacity = 3
    updated = webex.workspaces.update(workspace.workspace_id, workspace)
    assert updated.capacity == 3
    device = webex.devices.create_by_mac_address("0A1B2C3D4E5F", workspace_id=workspace.workspace_id,
                                                 model="DMS Cisco 6821")
    listed = list(webex.workspace_settings.devices.list(workspace.workspace_id))
    assert [d.device_id for d in listed] == [device.device_id]
    assert licence(org) is not None


def test_partner_admin_with_org_id(live_server, monkeypatch, org, other_org, partner, make_admin):
    admin = make_admin(Role.PARTNER_FULL_ADMIN, partner=partner)
    monkeypatch.setattr(RestSession, "BASE", f"{live_server.url}/v1")
    webex = WebexSimpleApi(tokens=Token.objects.create(user=admin).key)
    try:
        assert {o.display_name for o in webex.organizations.list()} == {"Acme", "Globex"}
        customer = wid(ORG, other_org)
        new_id = webex.locations.create(name="Partner made", time_zone="UTC", preferred_language="en_us",
                                        announcement_language="en_us", address1="1 Road", city="Town", state="",
                                        postal_code="", country="US", org_id=customer)
        assert Location.objects.get(name="Partner made").organization == other_org
        assert new_id in {loc.location_id for loc in webex.locations.list(org_id=customer)}
        numbers = list(webex.telephony.phone_numbers(org_id=customer, max=7))  # 3 pages, orgId kept in Link
        assert len(numbers) == 20 and {n.phone_number for n in numbers} == set(
            Number.objects.filter(organization=other_org).values_list("e164", flat=True))
        assert [lic.name for lic in webex.licenses.list(org_id=customer)]
    finally:
        webex.close()
