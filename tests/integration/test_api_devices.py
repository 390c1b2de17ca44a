"""/v1/devices, supported devices, MAC validation, device members and a person's / workspace's devices."""
import pytest

from calling.actions import assign_calling
from controlhub.models import AuditEvent, AuditSource
from devices.actions import create_device
from devices.models import Device, DeviceLine, SupportedDevice
from tests.conftest import SYSTEM, org_location
from tests.integration.api_fixtures import (  # noqa: F401 (fixtures)
    DEVICE,
    LOCATION,
    ORG,
    PEOPLE,
    WORKSPACE,
    api_fixture,
    assert_webex_error,
    wid,
)
from users.actions import create_workspace

pytestmark = pytest.mark.django_db
TC = "telephony/config"
SUPPORTED_REQUIRED = {"model", "displayName", "type", "manufacturer", "managedBy", "supportedFor", "onboardingMethod",
                      "allowConfigureLayoutEnabled", "numberOfLinePorts", "kemSupportEnabled"}


def test_supported_devices(api):
    body = api.get(f"{TC}/supportedDevices").json()
    assert "STABLE" in body["upgradeChannelList"]
    assert len(body["devices"]) == SupportedDevice.objects.count() > 0
    for device in body["devices"]:
        assert SUPPORTED_REQUIRED <= set(device)
    m8851 = next(d for d in body["devices"] if d["model"] == "DMS Cisco 8851")
    assert m8851["numberOfLinePorts"] == 10 and m8851["kemSupportEnabled"] is True and m8851["type"] == "MPP"
    assert api.get(f"{TC}/supportedDevices", {"type": "not:MPP"}).json()["devices"] == []


def test_create_by_mac_list_detail_delete(api, org, make_calling_person):
    person = make_calling_person(org, "1001")
    response = api.post("devices", {"mac": "00:1a:2b:3c:4d:5e", "model": "DMS Cisco 8851",
                                    "personId": wid(PEOPLE, person)})
    assert response.status_code == 200, response.content
    body = response.json()
    device = Device.objects.get(mac="001a2b3c4d5e")
    assert body["id"] == wid(DEVICE, device) and body["mac"] == "001A2B3C4D5E"
    assert body["personId"] == wid(PEOPLE, person) and body["orgId"] == wid(ORG, org)
    assert body["locationId"] == wid(LOCATION, org_location(org, "HQ"))
    assert body["product"] == "Cisco 8851" and body["type"] == "phone" and body["connectionStatus"] == "pending"
    assert AuditEvent.objects.filter(object_type="device", action="CREATE", source=AuditSource.API).exists()
    assert api.get(f"devices/{body['id']}").json() == body
    assert [d["id"] for d in api.get("devices", {"personId": wid(PEOPLE, person)}).json()["items"]] == [body["id"]]
    assert [d["id"] for d in api.get("devices", {"mac": "001A.2B3C.4D5E"}).json()["items"]] == [body["id"]]
    assert api.get("devices", {"workspaceId": wid(WORKSPACE, person.pk)}).json()["items"] == []
    assert api.get("devices", {"tag": "x"}).json()["items"] == []
    assert api.delete(f"devices/{body['id']}").status_code == 204
    assert not Device.objects.filter(pk=device.pk).exists()
    assert AuditEvent.objects.filter(object_type="device", action="DELETE", source=AuditSource.API).exists()


def test_create_for_workspace_by_display_name(api, org):
    hq = org_location(org, "HQ")
    workspace = create_workspace(SYSTEM, org, display_name="Lobby", location=hq)
    assign_calling(SYSTEM, workspace, location=hq, extension="2001", phone_number=None)
    response = api.post("devices", {"mac": "0A1B2C3D4E5F", "model": "Cisco 6821",
                                    "workspaceId": wid(WORKSPACE, workspace)})
    assert response.status_code == 200, response.content
    assert response.json()["workspaceId"] == wid(WORKSPACE, workspace)


def test_create_bad_input_is_400_and_saves_nothing(api, org, other_org, make_calling_person):
    person = make_calling_person(org, "3001")
    stranger = make_calling_person(other_org, "3001")
    no_calling = make_calling_person(org, "3002")
    no_calling.line.delete()
    create_device(SYSTEM, org, mac="00aabbccdd01", model="DMS Cisco 8851", owner=person)
    ok = {"mac": "00aabbccdd02", "model": "DMS Cisco 8851", "personId": wid(PEOPLE, person)}
    cases = [
        ({k: v for k, v in ok.items() if k != "mac"}, "mac"),
        ({**ok, "mac": "zz:zz"}, "mac"),
        ({**ok, "mac": "ff:ff:ff:ff:ff:ff"}, "mac"),
        ({**ok, "mac": "00aabbccdd01"}, "mac"),
        ({**ok, "model": "Nokia 3310"}, "model"),
        ({**ok, "model": None}, "model"),
        ({**ok, "workspaceId": wid(WORKSPACE, person.pk)}, "personId"),
        ({k: v for k, v in ok.items() if k != "personId"}, "personId"),
        ({**ok, "personId": "###"}, "personId"),
        ({**ok, "personId": wid(PEOPLE, stranger)}, "personId"),
        ({**ok, "personId": wid(PEOPLE, no_calling)}, "personId"),
        ({**ok, "password": "secret"}, "password"),
    ]
    for body, field in cases:
        before = (Device.objects.count(), DeviceLine.objects.count(), AuditEvent.objects.count())
        assert_webex_error(api.post("devices", body), 400, field)
        assert (Device.objects.count(), DeviceLine.objects.count(), AuditEvent.objects.count()) == before, body


def test_validate_macs(api, org, make_calling_person):
    person = make_calling_person(org, "4001")
    create_device(SYSTEM, org, mac="00aabbccdd10", model="DMS Cisco 8851", owner=person)
    body = api.post(f"{TC}/devices/actions/validateMacs/invoke",
                    {"macs": ["00:AA:BB:CC:DD:11", "00aabbccdd10", "00-aa-bb-cc-dd-11", "nope"]}).json()
    assert body["status"] == "ERRORS"
    assert [(s["mac"], s["state"]) for s in body["macStatus"]] == [
        ("00AABBCCDD11", "AVAILABLE"), ("00AABBCCDD10", "UNAVAILABLE"), ("00AABBCCDD11", "DUPLICATE_IN_LIST"),
        ("nope", "INVALID")]
    assert api.post(f"{TC}/devices/actions/validateMacs/invoke", {"macs": ["00aabbccdd12"]}).json()["status"] == "OK"
    assert_webex_error(api.post(f"{TC}/devices/actions/validateMacs/invoke", {"macs": []}), 400, "macs")


def test_members_get_put_and_available(api, org, make_calling_person):
    owner = make_calling_person(org, "5001", with_number=True)
    shared = make_calling_person(org, "5002")
    device = create_device(SYSTEM, org, mac="00aabbccdd20", model="DMS Cisco 8851", owner=owner)
    url = f"{TC}/devices/{wid(DEVICE, device)}/members"
    body = api.get(url).json()
    assert body["model"] == "DMS Cisco 8851" and body["maxLineCount"] == 10
    assert body["members"] == [{
        "id": wid(PEOPLE, owner), "memberType": "PEOPLE", "firstName": "Pat", "lastName": "Person5001",
        "phoneNumber": owner.line.number.e164, "extension": "5001", "routingPrefix": "81", "esn": "815001",
        "allowCallDeclineEnabled": True, "location": {"id": wid(LOCATION, org_location(org, "HQ")), "name": "HQ"},
        "lineType": "PRIMARY", "primaryOwner": True, "port": 1, "lineWeight": 1, "hotlineEnabled": False,
        "t38FaxCompressionEnabled": False}]
    available = api.get(f"{TC}/devices/{wid(DEVICE, device)}/availableMembers").json()["members"]
    assert [m["id"] for m in available] == [wid(PEOPLE, shared)]
    response = api.put(url, {"members": [
        {"id": wid(PEOPLE, owner), "port": 1, "primaryOwner": True, "lineType": "PRIMARY"},
        {"id": wid(PEOPLE, shared), "port": 2, "lineType": "SHARED_CALL_APPEARANCE", "lineLabel": "Boss"}]})
    assert response.status_code == 204, response.content
    members = api.get(url).json()["members"]
    assert [(m["port"], m["id"], m["lineType"], m["primaryOwner"]) for m in members] == [
        (1, wid(PEOPLE, owner), "PRIMARY", True), (2, wid(PEOPLE, shared), "SHARED_CALL_APPEARANCE", False)]
    assert members[1]["lineLabel"] == "Boss"
    assert AuditEvent.objects.filter(object_type="device", action="UPDATE", source=AuditSource.API).exists()
    # the person's device list shows it as a shared appearance
    devices = api.get(f"{TC}/people/{wid(PEOPLE, shared)}/devices").json()
    assert devices["maxDeviceCount"] >= 1
    assert [(d["id"], d["type"], d["primaryOwner"]) for d in devices["devices"]] == [
        (wid(DEVICE, device), "SHARED_CALL_APPEARANCE", False)]
    assert devices["devices"][0]["owner"]["id"] == wid(PEOPLE, owner)
    # no body: back to the owner's line alone (wxc-sdk sends no body for an empty list)
    assert api.put(url).status_code == 204
    assert [m["id"] for m in api.get(url).json()["members"]] == [wid(PEOPLE, owner)]


def test_members_bad_input_changes_nothing(api, org, other_org, make_calling_person):
    owner = make_calling_person(org, "6001")
    stranger = make_calling_person(other_org, "6002")
    device = create_device(SYSTEM, org, mac="00aabbccdd30", model="DMS Cisco 6821", owner=owner)
    url = f"{TC}/devices/{wid(DEVICE, device)}/members"
    me = {"id": wid(PEOPLE, owner), "port": 1}
    cases = [
        ({"members": [me, {"id": wid(PEOPLE, stranger), "port": 2}]}, "members[1].id"),
        ({"members": [me, {"id": "??", "port": 2}]}, "members[1].id"),
        ({"members": [{**me, "port": 3}]}, "Port 3"),
        ({"members": [{**me, "port": "one"}]}, "members[0].port"),
        ({"members": [{**me, "lineType": "SIDE"}]}, "lineType"),
        ({"members": [{**me, "hotlineEnabled": True}]}, "hotlineEnabled"),
        ({"members": "all"}, "members"),
    ]
    for body, fragment in cases:
        assert_webex_error(api.put(url, body), 400, fragment)
    assert list(device.lines.values_list("port", flat=True)) == [1]
    assert_webex_error(api.get(f"{TC}/devices/{wid(DEVICE, owner.pk)}/members"), 404, "Device not found")


def test_workspace_devices(api, org):
    hq = org_location(org, "HQ")
    workspace = create_workspace(SYSTEM, org, display_name="Lobby", location=hq)
    assign_calling(SYSTEM, workspace, location=hq, extension="7001", phone_number=None)
    device = create_device(SYSTEM, org, mac="00aabbccdd40", model="DMS Cisco 8865", owner=workspace)
    body = api.get(f"{TC}/workspaces/{wid(WORKSPACE, workspace)}/devices").json()
    assert [(d["id"], d["model"], d["type"], d["primaryOwner"], d["owner"]["type"]) for d in body["devices"]] == [
        (wid(DEVICE, device), "DMS Cisco 8865", "PRIMARY", True, "PLACE")]


def test_list_queries_constant(api, org, make_calling_person, django_assert_max_num_queries):
    person = make_calling_person(org, "8000")
    create_device(SYSTEM, org, mac="00aabbcc0000", model="DMS Cisco 8851", owner=person)
    with django_assert_max_num_queries(10) as small:
        api.get("devices")
    for i in range(1, 9):
        create_device(SYSTEM, org, mac=f"00aabbcc00{i:02}", model="DMS Cisco 6821", owner=person)
    with django_assert_max_num_queries(len(small.captured_queries)):
        assert len(api.get("devices").json()["items"]) == 9
