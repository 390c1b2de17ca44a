"""Numbers in the portal: add a range, activate/deactivate, remove after confirmation, main number, filters."""
import pytest

from calling.models import Number, NumberState
from tests.conftest import org_location
from tests.integration.portal_support import audit_count, client_for, errors_of

pytestmark = pytest.mark.django_db


def test_add_a_range(org, full_admin):
    branch = org_location(org, "Branch")
    response = client_for(full_admin).post("/numbers/add/", {
        "location": branch.pk, "start": "+1 (212) 555-7000", "end": "+12125557004", "state": "ACTIVE"})
    assert response.status_code == 302
    added = Number.objects.filter(location=branch, e164__startswith="+1212555700")
    assert added.count() == 5 and set(added.values_list("state", flat=True)) == {"ACTIVE"}


@pytest.mark.parametrize("start, end, field, message", [
    ("", "", "start", "This field is required."),
    ("hello", "", "start", "not part of a phone number"),
    ("+12125557010", "+12125557001", "end", "must be after the first"),
    ("+12125550000", "+12125559999", "end", "at most 1000 numbers"),
    ("+1212555", "", "start", "wrong number of digits"),
])
def test_bad_ranges_are_refused_with_a_message(org, full_admin, start, end, field, message):
    before = (Number.objects.count(), audit_count())
    response = client_for(full_admin).post("/numbers/add/", {
        "location": org_location(org, "Branch").pk, "start": start, "end": end, "state": "INACTIVE"})
    assert response.status_code == 200
    assert any(message in str(e) for e in errors_of(response, field)), response.context["form"].errors
    assert (Number.objects.count(), audit_count()) == before


def test_numbers_in_use_elsewhere_are_refused(org, other_org, full_admin):
    taken = Number.objects.filter(organization=other_org).first().e164
    response = client_for(full_admin).post("/numbers/add/", {
        "location": org_location(org, "HQ").pk, "start": taken, "end": "", "state": "INACTIVE"})
    assert "already in use" in str(errors_of(response, "start"))


def test_location_of_another_org_is_not_a_choice(org, other_org, full_admin):
    response = client_for(full_admin).post("/numbers/add/", {
        "location": org_location(other_org, "HQ").pk, "start": "+12125557000", "end": "", "state": "INACTIVE"})
    assert "Select a valid choice" in str(errors_of(response, "location"))


def bulk(client, numbers, action, **extra):
    return client.post("/numbers/bulk/", {"numbers": [n.pk for n in numbers], "action": action, **extra})


def test_deactivate_and_activate(org, full_admin):
    client = client_for(full_admin)
    numbers = list(Number.objects.filter(location=org_location(org, "HQ"))[:3])
    assert bulk(client, numbers, "deactivate").status_code == 302
    assert {n.state for n in Number.objects.filter(pk__in=[n.pk for n in numbers])} == {NumberState.INACTIVE}
    bulk(client, numbers, "activate")
    assert {n.state for n in Number.objects.filter(pk__in=[n.pk for n in numbers])} == {NumberState.ACTIVE}


def test_remove_asks_for_confirmation_then_removes(org, full_admin):
    client = client_for(full_admin)
    numbers = list(Number.objects.filter(location=org_location(org, "HQ")).order_by("-e164")[:2])
    confirm = bulk(client, numbers, "remove")
    assert confirm.status_code == 200 and b'name="confirm" value="yes"' in confirm.content
    assert Number.objects.filter(pk__in=[n.pk for n in numbers]).count() == 2
    assert bulk(client, numbers, "remove", confirm="yes").status_code == 302
    assert not Number.objects.filter(pk__in=[n.pk for n in numbers]).exists()


def test_remove_of_an_assigned_number_is_refused(org, full_admin, make_calling_person):
    person = make_calling_person(org, "1001", with_number=True)
    response = bulk(client_for(full_admin), [person.line.number], "remove", confirm="yes")
    assert response.status_code == 200 and "unassign it first" in response.context["error"]
    assert Number.objects.filter(pk=person.line.number.pk).exists()


def test_set_main_number(org, full_admin):
    number = Number.objects.filter(location=org_location(org, "HQ")).first()
    bulk(client_for(full_admin), [number], "main")
    number.refresh_from_db()
    assert number.is_main
    two = list(Number.objects.filter(location=org_location(org, "HQ"))[:2])
    response = bulk(client_for(full_admin), two, "main")
    assert response.status_code == 302
    assert Number.objects.filter(location=org_location(org, "HQ"), is_main=True).count() == 1


def test_filters_and_owner_display(org, full_admin, make_calling_person):
    person = make_calling_person(org, "1001", with_number=True)
    client = client_for(full_admin)
    page = client.get("/numbers/", {"assigned": "true"})
    assert [n.pk for n in page.context["page"].items] == [person.line.number.pk]
    assert person.display_name in page.content.decode()
    assert f'href="tel:{person.line.number.e164}"' in page.content.decode()
    hq = org_location(org, "HQ")
    page = client.get("/numbers/", {"location": hq.pk, "state": "ACTIVE", "assigned": "false"})
    assert {n.location_id for n in page.context["page"].items} == {hq.pk}
    assert len(page.context["page"].items) == 9


def test_free_numbers_options(org, full_admin, make_calling_person):
    person = make_calling_person(org, "1001", with_number=True)
    content = client_for(full_admin).get("/numbers/free/", {"location": org_location(org, "HQ").pk}).content.decode()
    assert content.count("<option") == 10  # 9 free + "no number"
    assert person.line.number.e164 not in content


def test_bulk_next_never_leaves_the_site(org, full_admin):
    numbers = list(Number.objects.filter(location=org_location(org, "HQ"))[:1])
    for evil in ("https://evil.example/", "//evil.example/x", "/\\evil.example"):
        response = bulk(client_for(full_admin), numbers, "deactivate", next=evil)
        assert response["Location"] == "/numbers/"
    assert bulk(client_for(full_admin), numbers, "activate", next="/numbers/?state=ACTIVE")["Location"] == \
        "/numbers/?state=ACTIVE"
