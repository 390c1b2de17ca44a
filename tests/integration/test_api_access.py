"""Who may see and change what through /v1: other organisations are 404, read-only admins get 403 on writes,
location admins stay in their locations, partner admins reach their customers with `orgId`; error bodies."""
import pytest

from calling.actions import assign_calling
from calling.models import Number
from controlhub.models import AuditEvent, AuditSource, Location, Partner
from controlhub.roles import Role
from devices.actions import create_device
from devices.models import Device
from tests.conftest import SYSTEM, free_number, licence, org_location
from tests.integration.api_fixtures import (  # noqa: F401 (fixtures)
    DEVICE,
    LOCATION,
    ORG,
    PEOPLE,
    WORKSPACE,
    Api,
    api_fixture,
    api_for_fixture,
    assert_webex_error,
    hq_admin_api_fixture,
    lic_id,
    partner_api_fixture,
    read_only_api_fixture,
    wid,
)
from users.actions import create_workspace
from users.models import Person, Workspace

pytestmark = pytest.mark.django_db
TC = "telephony/config"


@pytest.fixture
def world(org, other_org, make_calling_person):
    """Each organisation: a calling person per location, a workspace and a phone at HQ and Branch."""
    objects = {}
    for o in (org, other_org):
        hq, branch = org_location(o, "HQ"), org_location(o, "Branch")
        hq_person = make_calling_person(o, "1001", with_number=True)
        branch_person = make_calling_person(o, "2001", location_name="Branch", with_number=True)
        hq_ws = create_workspace(SYSTEM, o, display_name="HQ Lobby", location=hq)
        assign_calling(SYSTEM, hq_ws, location=hq, extension="1500", phone_number=None)
        branch_ws = create_workspace(SYSTEM, o, display_name="Branch Lobby", location=branch)
        assign_calling(SYSTEM, branch_ws, location=branch, extension="2500", phone_number=None)
        hq_device = create_device(SYSTEM, o, mac=f"00aa00{len(objects)}0000{1}", model="DMS Cisco 8851",
                                  owner=hq_person)
        branch_device = create_device(SYSTEM, o, mac=f"00aa00{len(objects)}0000{2}", model="DMS Cisco 8851",
                                      owner=branch_person)
        objects[o.pk] = dict(org=o, hq=hq, branch=branch, hq_person=hq_person, branch_person=branch_person,
                             hq_ws=hq_ws, branch_ws=branch_ws, hq_device=hq_device, branch_device=branch_device)
    return objects[org.pk], objects[other_org.pk]


def detail_paths(o: dict, where: str = "hq") -> list[str]:
    person, ws, device, location = o[f"{where}_person"], o[f"{where}_ws"], o[f"{where}_device"], o[where]
    return [
        f"people/{wid(PEOPLE, person)}",
        f"locations/{wid(LOCATION, location)}",
        f"{TC}/locations/{wid(LOCATION, location)}",
        f"devices/{wid(DEVICE, device)}",
        f"{TC}/devices/{wid(DEVICE, device)}/members",
        f"{TC}/devices/{wid(DEVICE, device)}/availableMembers",
        f"{TC}/people/{wid(PEOPLE, person)}/devices",
        f"{TC}/workspaces/{wid(WORKSPACE, ws)}/devices",
        f"workspaces/{wid(WORKSPACE, ws)}",
    ]


def listed_ids(api, o: dict) -> set[str]:
    """Every ID of the organisation's objects that shows up in any list the caller can read."""
    found = set()
    for path, key in [("people", "items"), ("locations", "items"), (f"{TC}/locations", "locations"),
                      ("devices", "items"), ("workspaces", "items"), ("licenses", "items"),
                      ("organizations", "items")]:
        response = api.get(path, {"max": 1000} if key != "items" or path not in ("licenses", "organizations")
                           else None)
        assert response.status_code == 200, (path, response.content)
        found |= {item["id"] for item in response.json()[key]}
    numbers = api.get(f"{TC}/numbers", {"max": 1000}).json()["phoneNumbers"]
    found |= {n["phoneNumber"] for n in numbers if "phoneNumber" in n}
    return found


def ids_of(o: dict) -> set[str]:
    org = o["org"]
    return ({wid(PEOPLE, p) for p in Person.objects.filter(organization=org)}
            | {wid(LOCATION, loc) for loc in Location.objects.filter(organization=org)}
            | {wid(DEVICE, d) for d in Device.objects.filter(organization=org)}
            | {wid(WORKSPACE, w) for w in Workspace.objects.filter(organization=org)}
            | {lic_id(licence(org))} | {wid(ORG, org)}
            | set(Number.objects.filter(organization=org).values_list("e164", flat=True)))


def test_other_organisation_is_invisible_in_lists_and_404_in_detail(api, world):
    mine, theirs = world
    listed = listed_ids(api, mine)
    assert ids_of(mine) <= listed
    assert not (ids_of(theirs) & listed)
    for path in detail_paths(theirs) + detail_paths(theirs, "branch") + [
            f"organizations/{wid(ORG, theirs['org'])}", f"licenses/{lic_id(licence(theirs['org']))}"]:
        assert_webex_error(api.get(path), 404)
    for path in detail_paths(mine):
        assert api.get(path).status_code == 200, path
    # asking for the other organisation by orgId is 404 too
    for path in ("people", "locations", f"{TC}/numbers", "devices", "workspaces", "licenses"):
        assert_webex_error(api.get(path, {"orgId": wid(ORG, theirs["org"])}), 404, "Organization")
    assert_webex_error(api.get("people", {"orgId": "garbage"}), 400, "orgId")


def test_writes_to_another_organisation_are_404_and_change_nothing(api, world):
    _, theirs = world
    events = AuditEvent.objects.count()
    person, ws, device, hq = theirs["hq_person"], theirs["hq_ws"], theirs["hq_device"], theirs["hq"]
    attempts = [
        ("put", f"people/{wid(PEOPLE, person)}", {"emails": ["x@example.com"]}),
        ("delete", f"people/{wid(PEOPLE, person)}", None),
        ("put", f"locations/{wid(LOCATION, hq)}", {"name": "Mine now"}),
        ("delete", f"locations/{wid(LOCATION, hq)}", None),
        ("put", f"{TC}/locations/{wid(LOCATION, hq)}", {"routingPrefix": "999"}),
        ("post", f"{TC}/locations/{wid(LOCATION, hq)}/numbers", {"phoneNumbers": ["+12025550150"]}),
        ("put", f"{TC}/locations/{wid(LOCATION, hq)}/numbers", {"phoneNumbers": [free_number(hq)]}),
        ("delete", f"{TC}/locations/{wid(LOCATION, hq)}/numbers", {"phoneNumbers": [free_number(hq)]}),
        ("delete", f"devices/{wid(DEVICE, device)}", None),
        ("put", f"{TC}/devices/{wid(DEVICE, device)}/members", {"members": []}),
        ("put", f"workspaces/{wid(WORKSPACE, ws)}", {"displayName": "Mine"}),
        ("delete", f"workspaces/{wid(WORKSPACE, ws)}", None),
        ("post", f"{TC}/locations", {"id": wid(LOCATION, hq)}),
        ("patch", "licenses/users", {"personId": wid(PEOPLE, person), "licenses": []}),
    ]
    for method, path, body in attempts:
        assert_webex_error(getattr(api, method)(path, body), 404)
    # a body naming another organisation's person is refused as bad input
    assert_webex_error(api.post("devices", {"mac": "00bb00000001", "model": "DMS Cisco 8851",
                                            "personId": wid(PEOPLE, person)}), 400, "personId")
    assert AuditEvent.objects.count() == events


def test_read_only_admin_reads_but_gets_403_on_every_write(read_only_api, world):
    mine, _ = world
    api = read_only_api
    for path in detail_paths(mine):
        assert api.get(path).status_code == 200, path
    person, ws, device, hq = mine["hq_person"], mine["hq_ws"], mine["hq_device"], mine["hq"]
    events = AuditEvent.objects.count()
    person_body = api.get(f"people/{wid(PEOPLE, person)}").json()
    attempts = [
        ("post", "people", {"emails": ["ro@example.com"]}),
        ("put", f"people/{wid(PEOPLE, person)}", {**person_body, "firstName": "Changed"}),
        ("delete", f"people/{wid(PEOPLE, person)}", None),
        ("post", "locations", {"name": "RO", "timeZone": "UTC", "address": {"address1": "x", "city": "y",
                                                                           "country": "US"}}),
        ("put", f"locations/{wid(LOCATION, hq)}", {"name": "RO"}),
        ("delete", f"locations/{wid(LOCATION, mine['branch'])}", None),
        ("put", f"{TC}/locations/{wid(LOCATION, hq)}", {"routingPrefix": "999"}),
        ("post", f"{TC}/locations", {"id": wid(LOCATION, hq)}),
        ("post", f"{TC}/locations/{wid(LOCATION, hq)}/numbers", {"phoneNumbers": ["+12025550150"]}),
        ("put", f"{TC}/locations/{wid(LOCATION, hq)}/numbers", {"phoneNumbers": [free_number(hq)],
                                                               "action": "DEACTIVATE"}),
        ("delete", f"{TC}/locations/{wid(LOCATION, hq)}/numbers", {"phoneNumbers": [free_number(hq)]}),
        ("post", "devices", {"mac": "00bb00000002", "model": "DMS Cisco 8851", "personId": wid(PEOPLE, person)}),
        ("delete", f"devices/{wid(DEVICE, device)}", None),
        ("put", f"{TC}/devices/{wid(DEVICE, device)}/members", {"members": [{"id": wid(PEOPLE, person)}]}),
        ("post", "workspaces", {"displayName": "RO", "locationId": wid(LOCATION, hq)}),
        ("put", f"workspaces/{wid(WORKSPACE, ws)}", {"displayName": "RO"}),
        ("delete", f"workspaces/{wid(WORKSPACE, ws)}", None),
        ("patch", "licenses/users", {"personId": wid(PEOPLE, person),
                                     "licenses": [{"id": lic_id(licence(mine["org"])), "operation": "remove"}]}),
    ]
    for method, path, body in attempts:
        assert_webex_error(getattr(api, method)(path, body), 403)
    assert AuditEvent.objects.count() == events


def test_location_admin_is_limited_to_its_locations(hq_admin_api, world):
    mine, _ = world
    api = hq_admin_api
    for path in detail_paths(mine, "hq"):
        assert api.get(path).status_code == 200, path
    for path in detail_paths(mine, "branch"):
        assert_webex_error(api.get(path), 404)
    people = {p["id"] for p in api.get("people").json()["items"]}
    assert wid(PEOPLE, mine["hq_person"]) in people and wid(PEOPLE, mine["branch_person"]) not in people
    numbers = api.get(f"{TC}/numbers", {"max": 1000}).json()["phoneNumbers"]
    assert {n["location"]["name"] for n in numbers} == {"HQ"}
    assert [d["id"] for d in api.get("devices").json()["items"]] == [wid(DEVICE, mine["hq_device"])]
    assert [w["displayName"] for w in api.get("workspaces").json()["items"]] == ["HQ Lobby"]
    assert [loc["name"] for loc in api.get("locations").json()["items"]] == ["HQ"]
    # writes: inside HQ fine, Branch invisible, organisation-wide work refused
    response = api.post("people", {"emails": ["hq@example.com"], "extension": "1100",
                                   "locationId": wid(LOCATION, mine["hq"]), "licenses": [lic_id(licence(mine["org"]))]})
    assert response.status_code == 200, response.content
    assert AuditEvent.objects.filter(object_type="person", action="CREATE", source=AuditSource.API,
                                     actor=api.account).exists()
    assert_webex_error(api.post("people", {"emails": ["br@example.com"], "extension": "2100",
                                           "locationId": wid(LOCATION, mine["branch"])}), 400, "locationId")
    assert_webex_error(api.post(f"{TC}/locations/{wid(LOCATION, mine['branch'])}/numbers",
                                {"phoneNumbers": ["+12025550151"]}), 404)
    assert api.post(f"{TC}/locations/{wid(LOCATION, mine['hq'])}/numbers",
                    {"phoneNumbers": ["+12025550151"]}).status_code == 201
    assert_webex_error(api.post("locations", {"name": "New", "timeZone": "UTC",
                                              "address": {"address1": "x", "city": "y", "country": "US"}}), 403)
    assert_webex_error(api.delete(f"workspaces/{wid(WORKSPACE, mine['branch_ws'])}"), 404)
    assert_webex_error(api.put(f"{TC}/devices/{wid(DEVICE, mine['hq_device'])}/members", {"members": [
        {"id": wid(PEOPLE, mine["hq_person"]), "port": 1},
        {"id": wid(PEOPLE, mine["branch_person"]), "port": 2}]}), 400, "members[1].id")
    assert Person.objects.filter(email="hq@example.com").exists()
    assert not Person.objects.filter(email="br@example.com").exists()


def test_partner_admin_reaches_customers_with_org_id(partner_api, world, make_admin):
    mine, theirs = world
    api = partner_api
    orgs = {o["id"] for o in api.get("organizations").json()["items"]}
    assert orgs == {wid(ORG, mine["org"]), wid(ORG, theirs["org"])}
    for o in (mine, theirs):
        org_id = wid(ORG, o["org"])
        people = {p["id"] for p in api.get("people", {"orgId": org_id}).json()["items"]}
        assert people == {wid(PEOPLE, p) for p in Person.objects.filter(organization=o["org"])}
        assert api.get(f"people/{wid(PEOPLE, o['hq_person'])}", {"orgId": org_id}).status_code == 200
        assert api.get("licenses", {"orgId": org_id}).json()["items"][0]["id"].startswith("Y2lzY29")
    org_id = wid(ORG, theirs["org"])
    response = api.post("locations", {"name": "Partner Site", "timeZone": "UTC",
                                      "address": {"address1": "x", "city": "y", "country": "US"}},
                        {"orgId": org_id})
    assert response.status_code == 200, response.content
    assert Location.objects.get(name="Partner Site").organization == theirs["org"]
    # the next page of a customer's list keeps orgId
    page = api.get("people", {"orgId": org_id, "max": 1})
    assert f"orgId={org_id}" in page["Link"]
    # another partner's admin sees none of it
    outsider = Api(make_admin(Role.PARTNER_FULL_ADMIN, partner=Partner.objects.create(name="Other partner")))
    assert outsider.get("organizations").json()["items"] == []
    assert_webex_error(outsider.get("people", {"orgId": org_id}), 404)
    assert_webex_error(outsider.get(f"organizations/{org_id}"), 404)


def test_error_body_echoes_tracking_id_and_auth(api, org):
    response = api.get("people/nonsense!", HTTP_TRACKINGID="SIMPLE_1234")
    body = assert_webex_error(response, 400, "personId")
    assert body["trackingId"] == "SIMPLE_1234" and response["TrackingID"] == "SIMPLE_1234"
    assert api.get("people").has_header("TrackingID")
    anonymous = Api(None)
    assert_webex_error(anonymous.get("people"), 401)
    bad = Api(None)
    bad.client.credentials(HTTP_AUTHORIZATION="Bearer not-a-token")
    assert_webex_error(bad.get("people/me"), 401)
    assert_webex_error(api.get("no/such/endpoint"), 404)
    assert_webex_error(api.patch("people"), 405)


def test_openapi_document_is_served(api):
    response = api.get("openapi.json")
    assert response.status_code == 200
    text = response.content.decode()
    for path in ("/v1/people", "/v1/telephony/config/numbers", "/v1/devices", "/v1/licenses/users"):
        assert path in text


def test_every_write_is_audited_as_api_by_the_token_owner(api, org):
    hq = org_location(org, "HQ")
    start = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first()
    location = f"{TC}/locations/{wid(LOCATION, hq)}"
    person = api.post("people", {"emails": ["aud@example.com"], "extension": "1201", "locationId": wid(LOCATION, hq),
                                 "licenses": [lic_id(licence(org))]}).json()
    assert api.put(f"people/{person['id']}", {**person, "title": "Auditor"}).status_code == 200
    from users.models import LicenseKind

    assert api.patch("licenses/users", {"personId": person["id"], "licenses": [
        {"id": lic_id(licence(org, LicenseKind.MESSAGING))}]}).status_code == 200
    new_location = api.post("locations", {"name": "Audit", "timeZone": "UTC", "address": {
        "address1": "x", "city": "y", "country": "US"}}).json()["id"]
    assert api.put(f"locations/{new_location}", {"name": "Audited"}).status_code == 204
    assert api.put(location, {"outsideDialDigit": "9"}).status_code == 204
    assert api.post(f"{location}/numbers", {"phoneNumbers": ["+12025550130"]}).status_code == 201
    assert api.put(f"{location}/numbers", {"phoneNumbers": ["+12025550130"], "action": "DEACTIVATE"}).status_code \
        == 204
    assert api.delete(f"{location}/numbers", {"phoneNumbers": ["+12025550130"]}).status_code == 204
    device = api.post("devices", {"mac": "00aabbccff01", "model": "DMS Cisco 8851", "personId": person["id"]}).json()
    workspace = api.post("workspaces", {"displayName": "Aud", "locationId": wid(LOCATION, hq), "calling": {
        "type": "webexCalling", "webexCalling": {"extension": "1202"}}}).json()
    assert api.put(f"{TC}/devices/{device['id']}/members", {"members": [
        {"id": person["id"], "port": 1}, {"id": workspace["id"], "port": 2}]}).status_code == 204
    assert api.delete(f"devices/{device['id']}").status_code == 204
    assert api.put(f"workspaces/{workspace['id']}", {"displayName": "Aud 2"}).status_code == 200
    assert api.delete(f"workspaces/{workspace['id']}").status_code == 204
    assert api.delete(f"people/{person['id']}").status_code == 204
    assert api.delete(f"locations/{new_location}").status_code == 204
    events = AuditEvent.objects.filter(id__gt=start or 0)
    assert {(e.source, e.actor_id) for e in events} == {(AuditSource.API, api.account.pk)}
    assert {(e.object_type, e.action) for e in events} >= {
        ("person", "CREATE"), ("person", "UPDATE"), ("person", "DELETE"), ("line", "CREATE"),
        ("location", "CREATE"), ("location", "UPDATE"), ("location", "DELETE"),
        ("number", "CREATE"), ("number", "UPDATE"), ("number", "DELETE"),
        ("device", "CREATE"), ("device", "UPDATE"), ("device", "DELETE"),
        ("workspace", "CREATE"), ("workspace", "UPDATE"), ("workspace", "DELETE")}
