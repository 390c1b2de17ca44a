"""/v1/workspaces (with calling) and /v1/licenses (counts, assigned users, PATCH /licenses/users)."""
import pytest

from calling.models import Line
from controlhub.api.ids import license_id
from controlhub.models import AuditEvent, AuditSource
from tests.conftest import free_number, licence, org_location
from tests.integration.api_fixtures import (  # noqa: F401 (fixtures)
    LOCATION,
    ORG,
    PEOPLE,
    WORKSPACE,
    api_fixture,
    assert_webex_error,
    lic_id,
    wid,
)
from users.models import LicenseKind, Person, Workspace

pytestmark = pytest.mark.django_db


# --------------------------------------------------------------------------------------------- workspaces


def test_workspace_create_with_calling_update_delete(api, org):
    hq = org_location(org, "HQ")
    number = free_number(hq)
    response = api.post("workspaces", {
        "displayName": "Lobby", "capacity": 4, "type": "open", "orgId": wid(ORG, org),
        "calling": {"type": "webexCalling", "webexCalling": {"phoneNumber": number, "extension": "1001",
                                                             "locationId": wid(LOCATION, hq)}}})
    assert response.status_code == 200, response.content
    body = response.json()
    workspace = Workspace.objects.get(display_name="Lobby")
    assert body["id"] == wid(WORKSPACE, workspace) and body["locationId"] == wid(LOCATION, hq)
    assert body["capacity"] == 4 and body["type"] == "open" and body["supportedDevices"] == "phones"
    assert body["calling"] == {"type": "webexCalling", "webexCalling": {
        "phoneNumber": number, "extension": "1001", "locationId": wid(LOCATION, hq),
        "licenses": [lic_id(licence(org, LicenseKind.CALLING_WORKSPACES))]}}
    assert AuditEvent.objects.filter(object_type="workspace", action="CREATE", source=AuditSource.API).exists()
    assert api.get(f"workspaces/{body['id']}").json() == body
    assert [w["id"] for w in api.get("workspaces", {"calling": "webexCalling"}).json()["items"]] == [body["id"]]
    assert api.get("workspaces", {"calling": "none"}).json()["items"] == []
    assert [w["id"] for w in api.get("workspaces", {"displayName": "lob"}).json()["items"]] == [body["id"]]
    # PUT: capacity left out is cleared; calling "none" removes the line
    response = api.put(f"workspaces/{body['id']}", {"displayName": "Main Lobby", "calling": {"type": "none"}})
    assert response.status_code == 200, response.content
    assert response.json()["displayName"] == "Main Lobby" and "capacity" not in response.json()
    assert response.json()["calling"] == {"type": "none"}
    assert not Line.objects.filter(workspace=workspace).exists()
    assert api.delete(f"workspaces/{body['id']}").status_code == 204
    assert not Workspace.objects.filter(pk=workspace.pk).exists()


@pytest.mark.parametrize("change, field", [
    ({"displayName": ""}, "displayName"),
    ({"displayName": None}, "displayName"),
    ({"locationId": None}, "locationId"),
    ({"locationId": "bad id"}, "locationId"),
    ({"capacity": -2}, "capacity"),
    ({"capacity": "many"}, "capacity"),
    ({"type": "castle"}, "type"),
    ({"calling": {"type": "freeCalling"}}, "calling.type"),
    ({"calling": {"type": "webexCalling", "webexCalling": {"extension": "1"}}}, "calling.webexCalling.extension"),
    ({"calling": {"type": "webexCalling", "webexCalling": {}}}, "extension"),
    ({"calling": {"type": "webexCalling", "webexCalling": {"extension": "1201", "licenses": ["x"]}}},
     "calling.webexCalling.licenses"),
])
def test_workspace_bad_create_is_400_and_saves_nothing(api, org, change, field):
    body = {"displayName": "Desk", "locationId": wid(LOCATION, org_location(org, "HQ")), **change}
    before = (Workspace.objects.count(), Line.objects.count(), AuditEvent.objects.count())
    assert_webex_error(api.post("workspaces", body), 400, field)
    assert (Workspace.objects.count(), Line.objects.count(), AuditEvent.objects.count()) == before


# --------------------------------------------------------------------------------------------- licences


def test_licence_list_and_detail(api, org, make_calling_person):
    person = make_calling_person(org, "2001")
    pro = licence(org)
    items = api.get("licenses").json()["items"]
    assert {i["name"] for i in items} >= {"Webex Calling - Professional", "Webex Calling - Basic",
                                          "Webex Calling - Workspaces"}
    listed = next(i for i in items if i["name"] == "Webex Calling - Professional")
    assert listed == {"id": lic_id(pro), "name": "Webex Calling - Professional", "totalUnits": 1000,
                      "consumedUnits": 1, "consumedByUsers": 1, "consumedByWorkspaces": 0}
    assert api.get(f"licenses/{lic_id(pro)}").json() == listed
    with_users = api.get(f"licenses/{lic_id(pro)}", {"includeAssignedTo": "user"}).json()
    assert with_users["users"] == [{"id": wid(PEOPLE, person), "type": "INTERNAL",
                                    "displayName": person.display_name, "email": person.email}]
    assert_webex_error(api.get("licenses/nonsense"), 400, "licenseId")
    assert_webex_error(api.get(f"licenses/{license_id(org.pk, 'CALLPRO', person.pk)}"), 404)


def test_assign_calling_licence_with_properties(api, org):
    hq = org_location(org, "HQ")
    created = api.post("people", {"emails": ["lic@example.com"], "firstName": "Lic"}).json()
    number = free_number(hq)
    body = {"personId": created["id"], "orgId": wid(ORG, org), "licenses": [
        {"id": lic_id(licence(org)), "operation": "add",
         "properties": {"locationId": wid(LOCATION, hq), "phoneNumber": number, "extension": "3001"}},
        {"id": lic_id(licence(org, LicenseKind.MESSAGING))}]}
    response = api.patch("licenses/users", body)
    assert response.status_code == 200, response.content
    result = response.json()
    assert result["personId"] == created["id"] and result["email"] == "lic@example.com"
    assert set(result["licenses"]) == {lic_id(licence(org)), lic_id(licence(org, LicenseKind.MESSAGING))}
    person = Person.objects.get(email="lic@example.com")
    assert person.line.extension == "3001" and person.line.number.e164 == number
    # removing the calling licence by email ends calling
    response = api.patch("licenses/users", {"email": "LIC@example.com", "licenses": [
        {"id": lic_id(licence(org)), "operation": "remove"}]})
    assert response.status_code == 200, response.content
    assert response.json()["licenses"] == [lic_id(licence(org, LicenseKind.MESSAGING))]
    assert not Line.objects.filter(person=person).exists()


def test_assign_licences_bad_input_changes_nothing(api, org, other_org, make_calling_person):
    person = make_calling_person(org, "4001")
    taken = make_calling_person(org, "4002")
    stranger = make_calling_person(other_org, "4003")
    pro = lic_id(licence(org))
    cases = [
        ({"licenses": [{"id": pro}]}, 400, "personId"),
        ({"personId": wid(PEOPLE, stranger), "licenses": [{"id": pro}]}, 404, "Person"),
        ({"email": "nobody@example.com", "licenses": [{"id": pro}]}, 404, "Person"),
        ({"personId": wid(PEOPLE, person), "licenses": [{"id": "x"}]}, 400, "licenses"),
        ({"personId": wid(PEOPLE, person), "licenses": [{"id": lic_id(licence(other_org))}]}, 400, "licenses"),
        ({"personId": wid(PEOPLE, person), "licenses": [{"id": pro, "operation": "swap"}]}, 400, "operation"),
        ({"personId": wid(PEOPLE, person), "licenses": [{"id": pro, "properties": {"extension": "4002"}}]}, 400,
         "extension"),
        ({"personId": wid(PEOPLE, person), "licenses": [{"id": pro, "operation": "add"},
                                                        {"id": pro, "operation": "remove"}]}, 400, "licenses"),
        ({"personId": wid(PEOPLE, person), "siteUrls": [{"siteUrl": "x.webex.com"}]}, 400, "siteUrls"),
        ({"personId": wid(PEOPLE, person),
          "licenses": [{"id": pro, "properties": {"locationId": wid(LOCATION, org_location(other_org, "HQ")),
                                                  "extension": "4009"}}]}, 400, "properties.locationId"),
    ]
    for body, status, fragment in cases:
        events = AuditEvent.objects.count()
        assert_webex_error(api.patch("licenses/users", body), status, fragment)
        assert AuditEvent.objects.count() == events, body
    person.refresh_from_db()
    assert person.line.extension == "4001" and taken.line.extension == "4002"


def test_workspace_list_queries_constant(api, org, django_assert_max_num_queries):
    from calling.actions import assign_calling
    from tests.conftest import SYSTEM
    from users.actions import create_workspace

    hq = org_location(org, "HQ")
    create_workspace(SYSTEM, org, display_name="W0", location=hq)
    with django_assert_max_num_queries(10) as small:
        api.get("workspaces")
    for i in range(1, 9):
        workspace = create_workspace(SYSTEM, org, display_name=f"W{i}", location=hq)
        if i % 2:
            assign_calling(SYSTEM, workspace, location=hq, extension=f"55{i}0", phone_number=None)
    with django_assert_max_num_queries(len(small.captured_queries)):
        assert len(api.get("workspaces").json()["items"]) == 9
