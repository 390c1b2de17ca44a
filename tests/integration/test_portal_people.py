"""The Users table and a person's pages: create with calling, edit, services, calling tab, delete."""
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from calling.actions import assign_calling
from calling.models import Line, Number
from controlhub.models import AuditEvent
from devices.actions import create_device
from tests.conftest import SYSTEM, free_number, licence, org_location
from tests.integration.portal_support import audit_count, client_for, errors_of, make_device
from users.models import License, LicenseKind, Person

pytestmark = pytest.mark.django_db


def add_people(org, count: int, start: int = 0) -> None:
    """Fast setup for the query-count test: people with licences, half of them with calling."""
    hq = org_location(org, "HQ")
    people = Person.objects.bulk_create([
        Person(organization=org, email=f"bulk{start + i}@{org.sip_domain}", first_name="Bulk", last_name=str(i),
               display_name=f"Bulk {start + i:05d}", location=hq, status="active", has_calling_professional=True,
               has_messaging=True) for i in range(count)])
    Line.objects.bulk_create([Line(organization=org, location=hq, person=p, extension=str(20000 + start + i))
                              for i, p in enumerate(people) if i % 2 == 0])


def count_queries(client, url) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize("query", ["", "?q=bulk&sort=-extension", "?service=CALLPRO&calling=true&sort=location",
                                   "?status=active"])
def test_users_list_queries_do_not_grow_with_people(org, full_admin, query):
    client = client_for(full_admin)
    add_people(org, 30)
    small = count_queries(client, "/users/" + query)
    add_people(org, 270, start=30)
    large = count_queries(client, "/users/" + query)
    assert small == large
    with CaptureQueriesContext(connection) as ctx:
        client.get("/users/" + query)
    assert not any("COUNT(" in q["sql"].upper() for q in ctx.captured_queries)


def test_users_list_filters_sorts_and_links(org, full_admin, make_calling_person):
    ada = make_calling_person(org, "1001", with_number=True, email="ada@example.com")
    bo = make_calling_person(org, "1002", location_name="Branch", email="bo@example.com")
    client = client_for(full_admin)
    page = client.get("/users/", {"q": "ada@"})
    assert [p.pk for p in page.context["page"].items] == [ada.pk]
    assert f'href="tel:{ada.line.number.e164}"' in page.content.decode()
    page = client.get("/users/", {"location": org_location(org, "Branch").pk})
    assert [p.pk for p in page.context["page"].items] == [bo.pk]
    page = client.get("/users/", {"sort": "-extension"})
    assert [p.pk for p in page.context["page"].items][:2] == [bo.pk, ada.pk]
    page = client.get("/users/", {"q": "1002"})
    assert [p.pk for p in page.context["page"].items] == [bo.pk]
    partial = client.get("/users/", {"q": "ada"}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="people-table")
    assert b"<html" not in partial.content and b"ada@example.com" in partial.content


def test_users_list_pages(org, full_admin):
    add_people(org, 120)
    client = client_for(full_admin)
    first, third = client.get("/users/"), client.get("/users/?page=3")
    assert len(first.context["page"].items) == 50 and first.context["page"].has_next
    assert len(third.context["page"].items) == 20 and not third.context["page"].has_next
    assert b'rel="next"' in first.content


def test_add_user_with_calling(org, full_admin):
    hq = org_location(org, "HQ")
    number = free_number(hq)
    response = client_for(full_admin).post("/users/add/", {
        "email": "New.Person@Example.com", "first_name": "New", "last_name": "Person", "status": "active",
        "location": hq.pk, "licenses": [licence(org, LicenseKind.MESSAGING).pk], "phone_number": number,
        "extension": "4321"})
    person = Person.objects.get(email="new.person@example.com")
    assert response.status_code == 302 and response["Location"] == f"/users/{person.pk}/"
    assert person.line.extension == "4321" and person.line.number.e164 == number
    assert Person.objects.get(pk=person.pk).service_kinds == {"MSG", "CALLPRO"}
    assert AuditEvent.objects.filter(object_id=str(person.pk), source="UI", actor=full_admin).exists()


def test_add_user_without_calling(org, full_admin):
    response = client_for(full_admin).post("/users/add/", {"email": "plain@example.com", "status": "invite_pending"})
    assert response.status_code == 302
    assert not hasattr(Person.objects.get(email="plain@example.com"), "line")


@pytest.mark.parametrize("change, field, message", [
    ({"email": ""}, "email", "This field is required."),
    ({"email": "not-an-email"}, "email", "Enter a valid email address."),
    ({"email": "taken@example.com"}, "email", "already exists"),
    ({"extension": "12a"}, "extension", "not an extension"),
    ({"extension": "1001"}, "extension", "already used by"),
    ({"phone_number": "+1 999"}, "phone_number", "wrong number of digits"),
    ({"phone_number": "BRANCH"}, "phone_number", "belongs to location Branch"),
    ({"phone_number": "TAKEN"}, "phone_number", "already assigned to"),
    ({"location": "", "extension": "4444"}, "location", "Choose the location"),
    ({"status": "dancing"}, "status", "Select a valid choice."),
    ({"licenses": ["OTHER-ORG"]}, "licenses", "Select a valid choice"),
])
def test_bad_user_input_is_shown_next_to_the_field(org, other_org, full_admin, make_calling_person, change, field,
                                                   message):
    make_calling_person(org, "1001", with_number=True, email="taken@example.com")
    hq, branch = org_location(org, "HQ"), org_location(org, "Branch")
    taken = Number.objects.filter(location=hq, line__isnull=False).first().e164
    data = {"email": "fresh@example.com", "status": "active", "location": hq.pk, "extension": "4321",
            "phone_number": ""}
    data.update(change)
    if data.get("phone_number") == "BRANCH":
        data["phone_number"] = free_number(branch)
    if data.get("phone_number") == "TAKEN":
        data["phone_number"] = taken
    if data.get("licenses") == ["OTHER-ORG"]:
        data["licenses"] = [License.objects.exclude(organization=org).first().pk]
    before = (Person.objects.count(), Line.objects.count(), audit_count())
    response = client_for(full_admin).post("/users/add/", data)
    assert response.status_code == 200
    assert any(message in str(e) for e in errors_of(response, field)), response.context["form"].errors
    assert (Person.objects.count(), Line.objects.count(), audit_count()) == before


def test_licences_running_out_is_refused(org, full_admin):
    License.objects.filter(organization=org, kind=LicenseKind.CALLING_PROFESSIONAL).update(total_units=0)
    response = client_for(full_admin).post("/users/add/", {
        "email": "x@example.com", "status": "active", "location": org_location(org, "HQ").pk,
        "extension": "4321"})
    assert "No Webex Calling - Professional licences left" in str(errors_of(response, "licenses"))
    assert not Person.objects.filter(email="x@example.com").exists()


def test_edit_user(org, full_admin, make_calling_person):
    person = make_calling_person(org, "1001")
    data = {"email": person.email, "first_name": "Patricia", "last_name": "P", "display_name": "", "title": "CTO",
            "department": "", "status": "active", "location": person.location.pk}
    response = client_for(full_admin).post(f"/users/{person.pk}/edit/", data)
    assert response.status_code == 302
    person.refresh_from_db()
    assert person.display_name == "Patricia P" and person.title == "CTO"


def test_edit_user_location_of_calling_user_is_refused(org, full_admin, make_calling_person):
    person = make_calling_person(org, "1001")
    data = {"email": person.email, "status": "active", "location": org_location(org, "Branch").pk}
    response = client_for(full_admin).post(f"/users/{person.pk}/edit/", data)
    assert response.status_code == 200
    assert "cannot be changed" in str(errors_of(response, "location"))
    person.refresh_from_db()
    assert person.location.name == "HQ"


def test_services(org, full_admin, make_calling_person):
    person = make_calling_person(org, "1001")
    client = client_for(full_admin)
    meetings = licence(org, LicenseKind.MEETINGS)
    response = client.post(f"/users/{person.pk}/services/", {"licenses": [licence(org).pk, meetings.pk]})
    assert response.status_code == 302
    assert Person.objects.get(pk=person.pk).service_kinds == {"CALLPRO", "MTG"}
    number = free_number(org_location(org, "HQ"))
    assign_calling(SYSTEM, person, location=None, extension="1001", phone_number=number)
    create_device(SYSTEM, org, mac="00:56:2b:00:00:01", model="DMS Cisco 8851", owner=person)
    # With a phone: refused, nothing changes (the same rule as /v1 and CSV)
    response = client.post(f"/users/{person.pk}/services/", {"licenses": [meetings.pk]})
    assert response.status_code == 200
    assert "still has phones" in str(list(errors_of(response, None)) + list(errors_of(response, "licenses")))
    assert Person.objects.get(pk=person.pk).service_kinds == {"CALLPRO", "MTG"}
    # Without phones: the calling licence goes and calling with it; the number is free again
    person.devices.all().delete()
    response = client.post(f"/users/{person.pk}/services/", {"licenses": [meetings.pk]})
    assert response.status_code == 302
    person = Person.objects.get(pk=person.pk)
    assert Person.objects.get(pk=person.pk).service_kinds == {"MTG"}
    assert not hasattr(person, "line")
    assert Number.objects.get(e164=number).owner is None


def test_calling_tab_assigns_changes_and_removes(org, full_admin):
    client = client_for(full_admin)
    client.post("/users/add/", {"email": "c@example.com", "status": "active",
                                "location": org_location(org, "HQ").pk, "licenses": [licence(org).pk]})
    person = Person.objects.get(email="c@example.com")
    number = free_number(org_location(org, "HQ"))
    response = client.post(f"/users/{person.pk}/calling/", {"location": org_location(org, "HQ").pk,
                                                             "phone_number": number, "extension": "5555"})
    assert response.status_code == 302
    person = Person.objects.get(pk=person.pk)
    assert person.line.number.e164 == number and person.line.extension == "5555"
    page = client.get(f"/users/{person.pk}/").content.decode()
    assert f'href="sip:{person.line.sip_address}"' in page and f'href="tel:{number}"' in page
    response = client.post(f"/users/{person.pk}/calling/", {"phone_number": "", "extension": ""})
    assert "needs a phone number, an extension, or both" in str(errors_of(response, "extension"))
    response = client.post(f"/users/{person.pk}/calling/", {"phone_number": "", "extension": "5556"})
    assert response.status_code == 302
    assert Person.objects.get(pk=person.pk).line.number is None
    assert client.get(f"/users/{person.pk}/calling/remove/").status_code == 200
    assert client.post(f"/users/{person.pk}/calling/remove/").status_code == 302
    assert not Line.objects.filter(person=person).exists()


def test_delete_user_with_phone_is_refused_then_allowed(org, full_admin, make_calling_person):
    person = make_calling_person(org, "1001")
    device = make_device(org, person)
    client = client_for(full_admin)
    response = client.post(f"/users/{person.pk}/delete/")
    assert response.status_code == 200 and "still has phones" in response.context["error"]
    device.delete()
    response = client.post(f"/users/{person.pk}/delete/")
    assert response.status_code == 302 and not Person.objects.filter(pk=person.pk).exists()
