"""/v1/people: Webex shapes, filters, paging, me, create/update/delete with calling, bad input, audit."""
import pytest

from calling.models import Line
from controlhub.models import AuditEvent, AuditSource
from controlhub.roles import Role
from tests.conftest import free_number, licence, org_location
from tests.integration.api_fixtures import (  # noqa: F401 (fixtures)
    LOCATION,
    ORG,
    PEOPLE,
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
from users.models import LicenseKind, Person

pytestmark = pytest.mark.django_db


def test_list_shape_and_calling_data(api, org, make_calling_person):
    person = make_calling_person(org, "1001", with_number=True)
    plain = api.get("people").json()["items"]
    assert len(plain) == 1
    item = plain[0]
    assert item["id"] == wid(PEOPLE, person)
    assert item["emails"] == [person.email]
    assert item["orgId"] == wid(ORG, org)
    assert item["licenses"] == [lic_id(licence(org))]
    assert item["status"] == "pending" and item["invitePending"] is True and item["type"] == "person"
    assert "extension" not in item and "phoneNumbers" not in item
    assert all(v is not None for v in item.values())
    calling = api.get("people", {"callingData": "true"}).json()["items"][0]
    assert calling["extension"] == "1001"
    assert calling["locationId"] == wid(LOCATION, org_location(org, "HQ"))
    assert calling["phoneNumbers"] == [{"type": "work", "value": person.line.number.e164, "primary": True},
                                       {"type": "work_extension", "value": "811001"}]


def test_filters(api, org, make_calling_person):
    a = make_calling_person(org, "1001", email="ada@example.com")
    b = make_calling_person(org, "1002", location_name="Branch", email="bob@example.com")
    Person.objects.filter(pk=b.pk).update(display_name="Bob Builder")

    def ids(params):
        response = api.get("people", params)
        assert response.status_code == 200, response.content
        return {item["id"] for item in response.json()["items"]}

    assert ids({"email": "ADA@example.com"}) == {wid(PEOPLE, a)}
    assert ids({"displayName": "Bob"}) == {wid(PEOPLE, b)}
    assert ids({"id": f"{wid(PEOPLE, a)},{wid(PEOPLE, b)}"}) == {wid(PEOPLE, a), wid(PEOPLE, b)}
    assert ids({"locationId": wid(LOCATION, org_location(org, "Branch"))}) == {wid(PEOPLE, b)}
    assert ids({"email": "nobody@example.com"}) == set()


def test_paging_link_is_absolute_and_keeps_filters(api, org, make_calling_person):
    for i in range(5):
        make_calling_person(org, f"20{i}0")
    first = api.get("people", {"max": 2, "callingData": "true"})
    assert len(first.json()["items"]) == 2
    link = first["Link"]
    assert link.startswith("<http://testserver/v1/people?") and link.endswith('>; rel="next"')
    url = link[1:link.index(">")]
    assert "callingData=true" in url and "max=2" in url and "start=2" in url
    seen = [i["id"] for i in first.json()["items"]]
    while url:
        page = api.get(url)
        seen += [i["id"] for i in page.json()["items"]]
        assert all("extension" in i for i in page.json()["items"])
        url = page["Link"][1:page["Link"].index(">")] if page.has_header("Link") else None
    assert len(seen) == len(set(seen)) == 5


def test_list_query_count_is_constant(api, org, make_calling_person, django_assert_max_num_queries):
    make_calling_person(org, "3001", with_number=True)
    with django_assert_max_num_queries(12) as small:
        api.get("people", {"callingData": "true"})
    for i in range(12):
        make_calling_person(org, f"31{i:02}", with_number=i % 2 == 0)
    with django_assert_max_num_queries(len(small.captured_queries)):
        response = api.get("people", {"callingData": "true"})
    assert len(response.json()["items"]) == 13


def test_me_for_admin_without_person_is_stable(api, org, full_admin):
    me = api.get("people/me").json()
    assert me["emails"] == [full_admin.email]
    assert me["orgId"] == wid(ORG, org)
    assert me["roles"] and me["type"] == "person"
    assert api.get("people/me").json()["id"] == me["id"]
    assert api.get(f"people/{me['id']}").json()["emails"] == [full_admin.email]


def test_me_for_account_with_person(org, make_calling_person, make_admin):
    admin = make_admin(Role.FULL_ADMIN, org=org)
    person = make_calling_person(org, "4001")
    Person.objects.filter(pk=person.pk).update(account=admin)
    me = Api(admin).get("people/me", {"callingData": "true"}).json()
    assert me["id"] == wid(PEOPLE, person) and me["extension"] == "4001"


def test_create_calling_person(api, org):
    hq = org_location(org, "HQ")
    number = free_number(hq)
    body = {"emails": ["New.User@Example.com"], "firstName": "New", "lastName": "User",
            "phoneNumbers": [{"type": "work", "value": number}], "extension": "5001",
            "locationId": wid(LOCATION, hq), "licenses": [lic_id(licence(org))], "title": "Engineer"}
    response = api.post("people", body, {"callingData": "true"})
    assert response.status_code == 200, response.content
    created = response.json()
    person = Person.objects.get(email="new.user@example.com")
    assert created["id"] == wid(PEOPLE, person)
    assert created["displayName"] == "New User" and created["title"] == "Engineer"
    assert created["extension"] == "5001"
    assert {"type": "work", "value": number, "primary": True} in created["phoneNumbers"]
    assert person.line.number.e164 == number
    events = AuditEvent.objects.filter(object_id=str(person.pk), object_type="person")
    assert events.filter(source=AuditSource.API, action="CREATE", actor__isnull=False).exists()
    assert AuditEvent.objects.filter(object_type="line", source=AuditSource.API).exists()


def test_create_derives_location_from_number(api, org):
    branch = org_location(org, "Branch")
    number = free_number(branch)
    response = api.post("people", {"emails": ["n@example.com"], "phoneNumbers": [{"type": "work", "value": number}],
                                   "licenses": [lic_id(licence(org))]}, {"callingData": "true"})
    assert response.status_code == 200, response.content
    assert response.json()["locationId"] == wid(LOCATION, branch)


def bad_people_bodies(org):
    hq = org_location(org, "HQ")
    ok = {"emails": ["x@example.com"], "locationId": wid(LOCATION, hq), "extension": "6001",
          "licenses": [lic_id(licence(org))]}
    return [
        ({**ok, "emails": []}, "emails"),
        ({k: v for k, v in ok.items() if k != "emails"}, "emails"),
        ({**ok, "emails": ["not-an-email"]}, "emails"),
        ({**ok, "emails": "x@example.com"}, "emails"),
        ({**ok, "extension": "1"}, "extension"),
        ({**ok, "extension": {"a": 1}}, "extension"),
        ({**ok, "locationId": "garbage!"}, "locationId"),
        ({**ok, "locationId": wid(LOCATION, "00000000-0000-4000-8000-000000000000")}, "locationId"),
        ({**ok, "licenses": ["bogus"]}, "licenses"),
        ({**ok, "licenses": "bogus"}, "licenses"),
        ({**ok, "phoneNumbers": [{"type": "work", "value": "+1 555"}]}, "phoneNumbers"),
        ({**ok, "phoneNumbers": [{"type": "pager", "value": "+14085550100"}]}, "phoneNumbers"),
        ({**ok, "firstName": "x" * 65}, "firstName"),
    ]


def test_create_bad_input_is_400_and_saves_nothing(api, org):
    for body, field in bad_people_bodies(org):
        before = (Person.objects.count(), Line.objects.count(), AuditEvent.objects.count())
        response = api.post("people", body)
        assert_webex_error(response, 400, field)
        assert (Person.objects.count(), Line.objects.count(), AuditEvent.objects.count()) == before, body


def test_create_with_other_orgs_location_or_licence_is_400(api, org, other_org):
    hq_other = org_location(other_org, "HQ")
    response = api.post("people", {"emails": ["y@example.com"], "locationId": wid(LOCATION, hq_other)})
    assert_webex_error(response, 400, "locationId")
    response = api.post("people", {"emails": ["y@example.com"], "licenses": [lic_id(licence(other_org))]})
    assert_webex_error(response, 400, "licenses")
    assert not Person.objects.filter(email="y@example.com").exists()


@pytest.mark.parametrize("raw", ["{not json", "[1, 2]", '"text"', "null"])
def test_malformed_json_is_400(api, raw):
    response = api.post("people", raw=raw)
    assert_webex_error(response, 400)


def test_update_names_licences_and_calling_in_one_call(api, org):
    hq = org_location(org, "HQ")
    created = api.post("people", {"emails": ["u@example.com"], "firstName": "U", "locationId": wid(LOCATION, hq),
                                  "licenses": [lic_id(licence(org, LicenseKind.MESSAGING))]}).json()
    number = free_number(hq)
    body = {**created, "firstName": "Una", "lastName": "Updated", "displayName": "Una Updated",
            "licenses": [lic_id(licence(org)), lic_id(licence(org, LicenseKind.MESSAGING))],
            "extension": "7001", "phoneNumbers": [{"type": "work", "value": number}]}
    response = api.put(f"people/{created['id']}", body, {"callingData": "true"})
    assert response.status_code == 200, response.content
    updated = response.json()
    assert updated["displayName"] == "Una Updated" and updated["extension"] == "7001"
    assert set(updated["licenses"]) == set(body["licenses"])
    # the GET → PUT round trip with calling data changes nothing
    again = api.put(f"people/{created['id']}", updated, {"callingData": "true"})
    assert again.status_code == 200 and again.json()["phoneNumbers"] == updated["phoneNumbers"]
    # dropping the calling licence ends calling
    body = {**updated, "licenses": [lic_id(licence(org, LicenseKind.MESSAGING))]}
    body.pop("extension"), body.pop("phoneNumbers")
    response = api.put(f"people/{created['id']}", body, {"callingData": "true"})
    assert response.status_code == 200, response.content
    assert "extension" not in response.json()
    assert not Line.objects.filter(person__email="u@example.com").exists()


def test_update_failing_part_changes_nothing(api, org, make_calling_person):
    person = make_calling_person(org, "8001")
    other = make_calling_person(org, "8002")
    body = api.get(f"people/{wid(PEOPLE, person)}", {"callingData": "true"}).json()
    events = AuditEvent.objects.count()
    # names are fine, the extension clashes: nothing at all may change
    response = api.put(f"people/{body['id']}", {**body, "firstName": "Changed", "extension": "8002"})
    assert_webex_error(response, 400, "extension")
    person.refresh_from_db()
    assert person.first_name == "Pat" and person.line.extension == "8001"
    assert AuditEvent.objects.count() == events
    assert other.line.extension == "8002"


def test_update_bad_input(api, org, make_calling_person):
    person = make_calling_person(org, "8101")
    url = f"people/{wid(PEOPLE, person)}"
    body = api.get(url).json()
    for bad, field in [({**body, "emails": []}, "emails"), ({**body, "licenses": ["nope"]}, "licenses"),
                       ({**body, "extension": "x"}, "extension"), ({**body, "locationId": 5}, "locationId")]:
        assert_webex_error(api.put(url, bad), 400, field)
    assert_webex_error(api.put("people/not-an-id!", body), 400, "personId")
    assert_webex_error(api.put(f"people/{wid(PEOPLE, '00000000-0000-4000-8000-000000000000')}", body), 404)


def test_delete(api, org, make_calling_person):
    person = make_calling_person(org, "9001")
    response = api.delete(f"people/{wid(PEOPLE, person)}")
    assert response.status_code == 204
    assert not Person.objects.filter(pk=person.pk).exists()
    assert AuditEvent.objects.filter(object_id=str(person.pk), action="DELETE", source=AuditSource.API).exists()
    assert_webex_error(api.get(f"people/{wid(PEOPLE, person)}"), 404, "Person not found")


def test_roles_filter(api, org, full_admin, make_calling_person):
    person = make_calling_person(org, "9101")
    Person.objects.filter(pk=person.pk).update(account=full_admin)
    from controlhub.api.ids import webex_id

    items = api.get("people", {"roles": webex_id("ROLE", "id_full_admin")}).json()["items"]
    assert [i["id"] for i in items] == [wid(PEOPLE, person)]
    assert items[0]["roles"] == [webex_id("ROLE", "id_full_admin")]
    assert api.get("people", {"roles": webex_id("ROLE", "id_readonly_admin")}).json()["items"] == []
    assert_webex_error(api.get("people", {"roles": "nonsense"}), 400, "roles")
