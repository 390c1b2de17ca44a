"""/v1/telephony/config/numbers and a location's number inventory; number and extension validation."""
import pytest

from calling.actions import assign_calling
from calling.models import Number, NumberState
from controlhub.models import AuditEvent, AuditSource
from tests.conftest import SYSTEM, free_number, licence, org_location
from tests.integration.api_fixtures import (  # noqa: F401 (fixtures)
    LOCATION,
    PEOPLE,
    WORKSPACE,
    api_fixture,
    assert_webex_error,
    wid,
)
from users.actions import create_workspace

pytestmark = pytest.mark.django_db
TC = "telephony/config"


def all_numbers(api, params=None):
    params = {"max": 1000, **(params or {})}
    response = api.get(f"{TC}/numbers", params)
    assert response.status_code == 200, response.content
    return response.json()["phoneNumbers"]


def test_list_items_numbers_then_extension_only_lines(api, org, make_calling_person):
    with_number = make_calling_person(org, "1001", with_number=True)
    ext_only = make_calling_person(org, "1002", location_name="Branch")
    items = all_numbers(api)
    assert len(items) == 21  # 20 numbers + one extension-only line
    owned = next(i for i in items if i.get("owner"))
    assert owned == {
        "phoneNumber": with_number.line.number.e164, "extension": "1001", "routingPrefix": "81", "esn": "811001",
        "state": "ACTIVE", "phoneNumberType": "PRIMARY", "mainNumber": False, "tollFreeNumber": False,
        "includedTelephonyTypes": "PSTN_NUMBER", "isServiceNumber": False,
        "location": {"id": wid(LOCATION, org_location(org, "HQ")), "name": "HQ"},
        "owner": {"id": wid(PEOPLE, with_number), "type": "PEOPLE", "firstName": "Pat", "lastName": "Person1001",
                  "displayName": "Pat Person1001"}}
    last = items[-1]
    assert "phoneNumber" not in last and last["extension"] == "1002" and last["esn"] == "821002"
    assert last["owner"]["id"] == wid(PEOPLE, ext_only)
    assert last["location"]["name"] == "Branch"


def test_paging_across_numbers_and_extensions(api, org, make_calling_person):
    for i in range(3):
        make_calling_person(org, f"200{i}")
    seen, url = [], f"/v1/{TC}/numbers?max=7&locationId={wid(LOCATION, org_location(org, 'HQ'))}"
    while url:
        page = api.get(url)
        seen += page.json()["phoneNumbers"]
        url = page["Link"][1:page["Link"].index(">")] if page.has_header("Link") else None
        if url:
            assert "locationId=" in url and url.startswith("http://testserver/")
    assert len(seen) == 13
    assert [i.get("extension") for i in seen[-3:]] == ["2000", "2001", "2002"]


def test_filters(api, org, make_calling_person):
    hq = org_location(org, "HQ")
    person = make_calling_person(org, "3001", with_number=True)
    make_calling_person(org, "3002")
    workspace = create_workspace(SYSTEM, org, display_name="Lobby", location=hq)
    assign_calling(SYSTEM, workspace, location=hq, extension="3003", phone_number=free_number(hq))
    Number.objects.filter(pk=hq.numbers.filter(line__isnull=True).first().pk).update(state=NumberState.INACTIVE)

    assert len(all_numbers(api, {"locationId": wid(LOCATION, hq)})) == 11  # 10 numbers + 3002
    assert len(all_numbers(api, {"available": "true"})) == 18
    assert len(all_numbers(api, {"assigned": "true"})) == 2
    assert len(all_numbers(api, {"state": "INACTIVE"})) == 1
    assert [i["extension"] for i in all_numbers(api, {"ownerId": wid(PEOPLE, person)})] == ["3001"]
    assert [i["extension"] for i in all_numbers(api, {"ownerId": wid(WORKSPACE, workspace)})] == ["3003"]
    assert [i["extension"] for i in all_numbers(api, {"ownerType": "PLACE"})] == ["3003"]
    assert {i["extension"] for i in all_numbers(api, {"ownerType": "PEOPLE"})} == {"3001", "3002"}
    assert all_numbers(api, {"ownerType": "AUTO_ATTENDANT"}) == []
    assert [i["extension"] for i in all_numbers(api, {"extension": "3002"})] == ["3002"]
    assert [i["extension"] for i in all_numbers(api, {"numberType": "EXTENSION"})] == ["3002"]
    assert len(all_numbers(api, {"numberType": "NUMBER"})) == 20
    assert [i["phoneNumber"] for i in all_numbers(api, {"phoneNumber": person.line.number.e164})] == \
        [person.line.number.e164]
    assert [i["owner"]["displayName"] for i in all_numbers(api, {"ownerName": "lobby"})] == ["Lobby"]
    counts = api.get(f"{TC}/numbers", {"details": "true", "max": 1}).json()["count"]
    assert counts == {"assigned": 2, "unAssigned": 18, "inActive": 1, "extensionOnly": 1, "tollFreeNumbers": 0,
                      "total": 21, "mobileNumber": 0, "serviceNumber": 0, "available": 18, "elin": 0,
                      "reservedNumber": 0}


@pytest.mark.parametrize("params, field", [
    ({"available": "maybe"}, "available"), ({"state": "ON"}, "state"), ({"ownerType": "ROBOT"}, "ownerType"),
    ({"ownerId": "zzz"}, "ownerId"), ({"locationId": "zzz"}, "locationId"), ({"max": "ten"}, "max"),
    ({"max": 0}, "max"), ({"start": -1}, "start"), ({"numberType": "BOTH"}, "numberType")])
def test_bad_filters_are_400(api, org, params, field):
    assert_webex_error(api.get(f"{TC}/numbers", params), 400, field)


def test_list_queries_constant(api, org, make_calling_person, django_assert_max_num_queries):
    make_calling_person(org, "4000", with_number=True)
    with django_assert_max_num_queries(12) as small:
        api.get(f"{TC}/numbers", {"details": "true"})
    for i in range(8):
        make_calling_person(org, f"41{i}0", with_number=i < 4, location_name="HQ" if i % 2 else "Branch")
    with django_assert_max_num_queries(len(small.captured_queries)):
        response = api.get(f"{TC}/numbers", {"details": "true"})
    assert len(response.json()["phoneNumbers"]) == 24


def test_add_activate_remove(api, org):
    hq = org_location(org, "HQ")
    url = f"{TC}/locations/{wid(LOCATION, hq)}/numbers"
    response = api.post(url, {"phoneNumbers": ["+12025550180", "+12025550181"], "numberType": "DID",
                              "state": "INACTIVE"})
    assert response.status_code == 201, response.content
    added = Number.objects.filter(e164__in=["+12025550180", "+12025550181"])
    assert {n.state for n in added} == {"INACTIVE"} and {n.location_id for n in added} == {hq.pk}
    assert AuditEvent.objects.filter(object_type="number", action="CREATE", source=AuditSource.API).count() == 2
    # adding again is harmless, as in Webex
    assert api.post(url, {"phoneNumbers": ["+12025550180"]}).status_code == 201
    assert api.put(url, {"phoneNumbers": ["+12025550180"], "action": "ACTIVATE"}).status_code == 204
    assert Number.objects.get(e164="+12025550180").state == "ACTIVE"
    assert api.delete(url, {"phoneNumbers": ["+12025550180", "+12025550181"]}).status_code == 204
    assert not Number.objects.filter(e164__in=["+12025550180", "+12025550181"]).exists()
    assert AuditEvent.objects.filter(object_type="number", action="DELETE", source=AuditSource.API).count() == 2


def test_add_errors_use_the_list_body_and_add_nothing(api, org, other_org):
    url = f"{TC}/locations/{wid(LOCATION, org_location(org, 'HQ'))}/numbers"
    taken = org_location(other_org, "HQ").numbers.first().e164
    count = Number.objects.count()
    response = api.post(url, {"phoneNumbers": ["+12025550190", taken, "12"]})
    assert response.status_code == 400
    errors = response.json()[0]["errors"]
    assert {e["number"] for e in errors} == {"12"}  # normalising fails first, before the in-use check
    response = api.post(url, {"phoneNumbers": ["+12025550190", taken]})
    assert [e["number"] for e in response.json()[0]["errors"]] == [taken]
    assert all({"number", "errorType", "errorCode", "errorMessage", "errorTitle"} <= set(e)
               for e in response.json()[0]["errors"])
    assert Number.objects.count() == count
    for body, field in [({}, "phoneNumbers"), ({"phoneNumbers": "+12025550190"}, "phoneNumbers"),
                        ({"phoneNumbers": ["+12025550190"], "state": "ON"}, "state"),
                        ({"phoneNumbers": ["+12025550190"], "numberType": "MOBILE"}, "numberType")]:
        assert_webex_error(api.post(url, body), 400, field)
    assert Number.objects.count() == count


def test_state_and_remove_errors(api, org, make_calling_person):
    hq = org_location(org, "HQ")
    person = make_calling_person(org, "5001", with_number=True)
    url = f"{TC}/locations/{wid(LOCATION, hq)}/numbers"
    branch_number = org_location(org, "Branch").numbers.first().e164
    assert_webex_error(api.put(url, {"phoneNumbers": [branch_number], "action": "DEACTIVATE"}), 400, "inventory")
    assert_webex_error(api.put(url, {"phoneNumbers": [branch_number], "action": "PAUSE"}), 400, "action")
    assert_webex_error(api.delete(url, {"phoneNumbers": [person.line.number.e164]}), 400, "assigned")
    assert_webex_error(api.delete(url), 400, "phoneNumbers")
    assert Number.objects.filter(e164=person.line.number.e164).exists()
    assert Number.objects.get(e164=branch_number).state == "ACTIVE"


def test_validate_numbers(api, org, other_org):
    ours = org_location(org, "HQ").numbers.first().e164
    theirs = org_location(other_org, "HQ").numbers.first().e164
    response = api.post(f"{TC}/actions/validateNumbers/invoke",
                        {"phoneNumbers": ["+12025550170", "(202) 555-0171", "+12025550170", ours, theirs, "abc",
                                          "+18005550100"]})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "ERRORS"
    assert [(n["phoneNumber"], n["state"]) for n in body["phoneNumbers"]] == [
        ("+12025550170", "Available"), ("+12025550171", "Available"), ("+12025550170", "Duplicate In List"),
        (ours, "Duplicate"), (theirs, "Unavailable"), ("abc", "Invalid"), ("+18005550100", "Available")]
    assert body["phoneNumbers"][-1]["tollFreeNumber"] is True
    ok = api.post(f"{TC}/actions/validateNumbers/invoke", {"phoneNumbers": ["+12025550170"]}).json()
    assert ok["status"] == "OK"
    assert_webex_error(api.post(f"{TC}/actions/validateNumbers/invoke", {"phoneNumbers": []}), 400, "phoneNumbers")


def test_validate_extensions(api, org, other_org, make_calling_person):
    make_calling_person(org, "6001")
    make_calling_person(other_org, "6002")
    body = {"extensions": ["6001", "6002", "6002", "1", "abcd"]}
    for path in (f"{TC}/actions/validateExtensions/invoke",
                 f"{TC}/locations/{wid(LOCATION, org_location(org, 'Branch'))}/actions/validateExtensions/invoke"):
        result = api.post(path, body).json()
        assert result["status"] == "ERRORS"
        assert [s["state"] for s in result["extensionStatus"]] == ["DUPLICATE", "VALID", "DUPLICATE_IN_LIST",
                                                                   "INVALID", "INVALID"]
        assert api.post(path, {"extensions": ["6003"]}).json() == {
            "status": "OK", "extensionStatus": [{"extension": "6003", "state": "VALID"}]}
        assert_webex_error(api.post(path, {"extensions": "6003"}), 400, "extensions")
    assert_webex_error(api.post(f"{TC}/locations/{wid(LOCATION, org_location(other_org, 'HQ'))}/actions/"
                                "validateExtensions/invoke", body), 404)


def test_licence_for_workspace_numbers_is_reported(api, org):
    hq = org_location(org, "HQ")
    workspace = create_workspace(SYSTEM, org, display_name="Kitchen", location=hq)
    assign_calling(SYSTEM, workspace, location=hq, extension="7001", phone_number=None)
    ws_licence = next(i for i in api.get("licenses").json()["items"] if i["name"] == "Webex Calling - Workspaces")
    assert ws_licence["consumedByWorkspaces"] == 1 and ws_licence["consumedUnits"] == 1
    assert licence(org) is not None
