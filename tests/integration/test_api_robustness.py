"""No input makes /v1 answer 500: every write endpoint gets wrong types, odd strings and malformed IDs in each field,
every list endpoint odd filter values; each answer is a Webex-shaped 2xx/4xx."""
import json

import pytest

from devices.actions import create_device
from tests.conftest import SYSTEM, free_number, licence, org_location
from tests.integration.api_fixtures import (  # noqa: F401 (fixtures)
    DEVICE,
    LOCATION,
    PEOPLE,
    WORKSPACE,
    api_fixture,
    lic_id,
    wid,
)
from users.actions import create_workspace

pytestmark = pytest.mark.django_db
TC = "telephony/config"
ODD_VALUES = [None, 0, -1, 10**20, 1.5, True, "", " ", "x" * 3000, "nul\x00char", "💥", [], {}, ["x"], [{}],
              {"a": 1}, "Y2lzY29zcGFyazovL3VzL1BFT1BMRS9h", "Y2lzY29zcGFyazovL3VzL0xJQ0VOU0UvYV9iOmM"]
ODD_STRINGS = ["", "x" * 3000, "nul\x00char", "💥", "-1", "true", "Y2lzY29zcGFyazovL3VzL1BFT1BMRS9h", "%", "a,b,,c"]


def variants(body: dict):
    """The body with one field (top level or one level down) replaced by each odd value."""
    for key, value in body.items():
        for odd in ODD_VALUES:
            yield {**body, key: odd}
        if isinstance(value, dict):
            for inner in value:
                for odd in ODD_VALUES:
                    yield {**body, key: {**value, inner: odd}}
        if isinstance(value, list) and value and isinstance(value[0], dict):
            for inner in value[0]:
                for odd in ODD_VALUES:
                    yield {**body, key: [{**value[0], inner: odd}, *value[1:]]}


@pytest.fixture
def targets(org, make_calling_person):
    hq = org_location(org, "HQ")
    person = make_calling_person(org, "1001", with_number=True)
    other = make_calling_person(org, "1002")
    workspace = create_workspace(SYSTEM, org, display_name="Lobby", location=hq)
    device = create_device(SYSTEM, org, mac="00aabbccee01", model="DMS Cisco 8851", owner=person)
    location = f"{TC}/locations/{wid(LOCATION, hq)}"
    person_body = {"emails": ["odd@example.com"], "firstName": "O", "displayName": "Odd", "extension": "1100",
                   "locationId": wid(LOCATION, hq), "licenses": [lic_id(licence(org))],
                   "phoneNumbers": [{"type": "work", "value": free_number(hq)}]}
    return [
        ("post", "people", person_body),
        ("put", f"people/{wid(PEOPLE, other)}", {**person_body, "emails": [other.email]}),
        ("post", "locations", {"name": "Odd", "timeZone": "UTC", "preferredLanguage": "en_us",
                               "address": {"address1": "x", "city": "y", "country": "US"}}),
        ("put", f"locations/{wid(LOCATION, hq)}", {"name": "HQ", "address": {"city": "San Jose"}}),
        ("put", location, {"routingPrefix": "81", "outsideDialDigit": "9", "announcementLanguage": "en_us",
                           "callingLineId": {"phoneNumber": free_number(hq)}}),
        ("post", f"{TC}/locations", {"id": wid(LOCATION, hq), "announcementLanguage": "en_us"}),
        ("put", f"{location}/actions/modifyAnnouncementLanguage/invoke", {"announcementLanguageCode": "en_us"}),
        ("post", f"{location}/numbers", {"phoneNumbers": ["+12025550140"], "state": "ACTIVE", "numberType": "DID"}),
        ("put", f"{location}/numbers", {"phoneNumbers": [free_number(hq)], "action": "ACTIVATE"}),
        ("delete", f"{location}/numbers", {"phoneNumbers": ["+12025550141"]}),
        ("post", f"{TC}/actions/validateNumbers/invoke", {"phoneNumbers": ["+12025550142"]}),
        ("post", f"{TC}/actions/validateExtensions/invoke", {"extensions": ["1234"]}),
        ("post", f"{location}/actions/validateExtensions/invoke", {"extensions": ["1234"]}),
        ("post", "devices", {"mac": "00aabbccee02", "model": "DMS Cisco 8851", "personId": wid(PEOPLE, person)}),
        ("post", f"{TC}/devices/actions/validateMacs/invoke", {"macs": ["00aabbccee03"]}),
        ("put", f"{TC}/devices/{wid(DEVICE, device)}/members",
         {"members": [{"id": wid(PEOPLE, person), "port": 1, "lineType": "PRIMARY", "lineLabel": "x"}]}),
        ("post", "workspaces", {"displayName": "Odd", "locationId": wid(LOCATION, hq), "capacity": 2,
                                "calling": {"type": "webexCalling", "webexCalling": {"extension": "1300"}}}),
        ("put", f"workspaces/{wid(WORKSPACE, workspace)}", {"displayName": "Lobby", "type": "open"}),
        ("patch", "licenses/users", {"personId": wid(PEOPLE, other), "licenses": [
            {"id": lic_id(licence(org)), "operation": "add", "properties": {"extension": "1400"}}]}),
    ]


def check(response, what):
    assert response.status_code < 500, (what, response.status_code, response.content[:300])
    if response.status_code >= 400 and response.content:
        body = response.json()
        assert isinstance(body, list) or {"message", "trackingId"} <= set(body), (what, body)


def test_write_endpoints_never_fail_with_500(api, targets):
    for method, path, body in targets:
        call = getattr(api, method)
        for raw in ("[]", '"text"', "1", "null", "{", "\xff", "[" * 5000 + "]" * 5000):
            check(call(path, raw=raw), (path, raw[:20]))
        for variant in variants(body):
            check(call(path, variant), (path, json.dumps(variant)[:200]))


@pytest.mark.parametrize("path, params", [
    ("people", ["email", "displayName", "id", "locationId", "roles", "callingData", "max", "start", "orgId"]),
    ("locations", ["name", "id", "max"]),
    (f"{TC}/locations", ["name", "order", "max"]),
    (f"{TC}/numbers", ["locationId", "phoneNumber", "available", "assigned", "ownerName", "ownerId", "ownerType",
                       "extension", "numberType", "phoneNumberType", "state", "details", "tollFreeNumbers",
                       "includedTelephonyTypes", "max", "start"]),
    ("devices", ["personId", "workspaceId", "locationId", "mac", "displayName", "product", "type",
                 "connectionStatus", "tag"]),
    ("workspaces", ["locationId", "displayName", "capacity", "type", "calling"]),
    ("licenses", ["orgId"]),
    (f"{TC}/supportedDevices", ["type", "allowConfigureLayoutEnabled"]),
])
def test_list_filters_never_fail_with_500(api, org, path, params):
    for name in params:
        for value in ODD_STRINGS:
            check(api.get(path, {name: value}), (path, name, value[:20]))


def test_odd_path_ids_are_400_or_404(api, org):
    for template in ("people/{}", "locations/{}", f"{TC}/locations/{{}}", "devices/{}", "workspaces/{}",
                     "licenses/{}", "organizations/{}", f"{TC}/devices/{{}}/members",
                     f"{TC}/people/{{}}/devices", f"{TC}/workspaces/{{}}/devices"):
        for odd in ("x", "%00", "Y2lzY29zcGFyazovL3VzL1BFT1BMRS9h", "Y2lzY29zcGFyazovL3VzL0xJQ0VOU0UvYV9iOmM",
                    "00000000-0000-0000-0000-000000000000", "💥"):
            response = api.get(template.format(odd))
            assert response.status_code in (400, 404), (template, odd, response.status_code)
