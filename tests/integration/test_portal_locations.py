"""Locations in the portal: add, edit, delete with confirmation, the action's refusal, bad input."""
import pytest

from controlhub.models import AuditEvent, Location
from tests.conftest import org_location
from tests.integration.portal_support import audit_count, client_for, errors_of

pytestmark = pytest.mark.django_db

GOOD = {"name": "Stockholm", "time_zone": "Europe/Stockholm", "preferred_language": "sv_se",
        "announcement_language": "sv_se", "address1": "Kungsgatan 1", "address2": "", "city": "Stockholm",
        "state": "", "postal_code": "111 43", "country": "se", "routing_prefix": "83", "outside_dial_digit": "0"}


def test_add_location(org, full_admin):
    response = client_for(full_admin).post("/locations/add/", GOOD)
    location = Location.objects.get(organization=org, name="Stockholm")
    assert response.status_code == 302 and response["Location"] == f"/locations/{location.pk}/"
    assert location.country == "SE" and location.routing_prefix == "83"
    event = AuditEvent.objects.get(object_id=str(location.pk), action="CREATE")
    assert event.source == "UI" and event.actor == full_admin


@pytest.mark.parametrize("field, value, message", [
    ("name", "", "This field is required."),
    ("name", "hq", "A location with this name already exists."),
    ("time_zone", "Mars/Olympus", "Select a valid choice."),
    ("country", "Sweden", "Ensure this value has at most 2 characters"),
    ("country", "S1", "two-letter ISO country code"),
    ("routing_prefix", "081", "routing prefix is 1 to 7 digits"),
    ("routing_prefix", "81", "Another location already uses this routing prefix."),
    ("outside_dial_digit", "99", "at most 1 character"),
    ("address1", "", "This field is required."),
    ("preferred_language", "xx", "Select a valid choice."),
])
def test_bad_location_input_is_shown_next_to_the_field(org, full_admin, field, value, message):
    before = (Location.objects.count(), audit_count())
    response = client_for(full_admin).post("/locations/add/", {**GOOD, field: value})
    assert response.status_code == 200
    errors = errors_of(response, field) or errors_of(response, None)
    assert any(message in str(e) for e in errors), errors
    assert message.split("“")[0][:20] in response.content.decode().replace("&#x27;", "'")
    assert (Location.objects.count(), audit_count()) == before


def test_edit_location(org, full_admin):
    hq = org_location(org, "HQ")
    data = {**GOOD, "name": "HQ West", "routing_prefix": "81"}
    response = client_for(full_admin).post(f"/locations/{hq.pk}/edit/", data)
    assert response.status_code == 302
    hq.refresh_from_db()
    assert hq.name == "HQ West" and hq.time_zone == "Europe/Stockholm"
    event = AuditEvent.objects.filter(object_id=str(hq.pk), action="UPDATE").latest("id")
    assert event.before["name"] == "HQ" and event.after["name"] == "HQ West"


def test_edit_with_clash_changes_nothing(org, full_admin):
    hq = org_location(org, "HQ")
    response = client_for(full_admin).post(f"/locations/{hq.pk}/edit/", {**GOOD, "name": "Branch",
                                                                          "routing_prefix": "81"})
    assert response.status_code == 200
    assert "A location with this name already exists." in str(errors_of(response, "name"))
    hq.refresh_from_db()
    assert hq.name == "HQ" and hq.time_zone == "America/Los_Angeles"


def test_delete_location_in_use_is_refused_clearly(org, full_admin):
    hq = org_location(org, "HQ")
    client = client_for(full_admin)
    confirm = client.get(f"/locations/{hq.pk}/delete/")
    assert confirm.status_code == 200 and b"cannot be undone" in confirm.content
    response = client.post(f"/locations/{hq.pk}/delete/")
    assert response.status_code == 200
    assert "still has" in response.context["error"] and "phone numbers" in response.context["error"]
    assert Location.objects.filter(pk=hq.pk).exists()


def test_delete_empty_location(org, full_admin):
    client = client_for(full_admin)
    client.post("/locations/add/", GOOD)
    location = Location.objects.get(organization=org, name="Stockholm")
    response = client.post(f"/locations/{location.pk}/delete/")
    assert response.status_code == 302 and response["Location"] == "/locations/"
    assert not Location.objects.filter(pk=location.pk).exists()
    assert AuditEvent.objects.filter(object_id=str(location.pk), action="DELETE", source="UI").exists()


def test_location_detail_shows_numbers_and_people(org, full_admin, make_calling_person):
    person = make_calling_person(org, "1001", with_number=True)
    hq = org_location(org, "HQ")
    content = client_for(full_admin).get(f"/locations/{hq.pk}/").content.decode()
    assert f'href="tel:{person.line.number.e164}"' in content
    assert person.display_name in content
