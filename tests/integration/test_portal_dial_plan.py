"""Portal pages of the dial plan: outgoing permissions of a location and of a person, translation patterns,
premises dial plans and the call-routing test — forms, errors next to their fields, roles."""
import pytest
from django.urls import reverse

from calling.actions import create_trunk, set_location_pstn_connection
from calling.models import DialPlan, OutgoingPermission, TranslationPattern
from controlhub.roles import Role
from tests.conftest import SYSTEM, org_location

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, make_admin, org):
    client.force_login(make_admin(Role.FULL_ADMIN, org=org))
    return client


def permission_form(blocked=(), use_custom=None) -> dict:
    from calling.models import CallType

    data = {ct: "BLOCK" if ct in blocked else "ALLOW" for ct in CallType.values}
    data.update({f"{ct}__transfer": "on" for ct in CallType.values})
    if use_custom:
        data["use_custom"] = "on"
    return data


def test_location_permissions_page(admin_client, org):
    hq = org_location(org, "HQ")
    detail = admin_client.get(reverse("portal:location_detail", kwargs={"pk": hq.pk})).content.decode()
    assert "International calls" in detail   # blocked by default, listed on the location page
    url = reverse("calling:location_outgoing_permissions", kwargs={"pk": hq.pk})
    page = admin_client.get(url).content.decode()
    assert 'name="NATIONAL"' in page and 'name="use_custom"' not in page
    response = admin_client.post(url, permission_form(blocked={"NATIONAL"}))
    assert response.status_code == 302
    saved = OutgoingPermission.objects.get(location=hq)
    assert saved.blocked() == {"NATIONAL"}
    bad = admin_client.post(url, {**permission_form(), "LOCAL": "AUTH_CODE"})
    assert bad.status_code == 200 and "AUTH_CODE is not one of the available choices" in bad.content.decode()
    assert OutgoingPermission.objects.get(location=hq).blocked() == {"NATIONAL"}


def test_person_permissions_page(admin_client, org, make_calling_person):
    alice = make_calling_person(org, "1001")
    url = reverse("calling:person_outgoing_permissions", kwargs={"pk": alice.pk})
    assert 'name="use_custom"' in admin_client.get(url).content.decode()
    assert admin_client.post(url, permission_form(blocked={"TOLL_FREE"}, use_custom=True)).status_code == 302
    own = OutgoingPermission.objects.get(person=alice)
    assert own.use_custom and own.blocked() == {"TOLL_FREE"}
    detail = admin_client.get(reverse("users:person_detail", kwargs={"pk": alice.pk})).content.decode()
    assert "Outgoing calling permissions: custom" in detail


def test_translation_patterns_and_dial_plans_pages(admin_client, org):
    hq = org_location(org, "HQ")
    add = reverse("calling:translation_pattern_add")
    response = admin_client.post(add, {"name": "Short", "matching_pattern": "7XX", "replacement_pattern": "+1XXX",
                                       "location": ""})
    assert response.status_code == 200 and "group 1" in response.content.decode()
    assert not TranslationPattern.objects.exists()
    assert admin_client.post(add, {"name": "Short", "matching_pattern": "7XXX",
                                   "replacement_pattern": "+14155550XXX", "location": str(hq.pk)}).status_code == 302
    trunk = create_trunk(SYSTEM, org, name="PBX", location=hq, password="Secret123x")
    response = admin_client.post(reverse("calling:dial_plan_add"), {
        "name": "NY", "connection": f"trunk:{trunk.pk}", "dial_patterns": "+1212555XXXX\nbad"})
    assert response.status_code == 200 and "bad" in response.content.decode()
    assert admin_client.post(reverse("calling:dial_plan_add"), {
        "name": "NY", "connection": f"trunk:{trunk.pk}", "dial_patterns": "+1212555XXXX\n+4610!"}).status_code == 302
    plan = DialPlan.objects.get(name="NY")
    assert sorted(plan.patterns.values_list("pattern", flat=True)) == ["+1212555XXXX", "+4610!"]
    page = admin_client.get(reverse("calling:call_routing")).content.decode()
    assert "7XXX" in page and "+1212555XXXX" in page and "PBX" in page
    delete = reverse("calling:dial_plan_delete", kwargs={"pk": plan.pk})
    assert admin_client.post(delete).status_code == 302 and not DialPlan.objects.exists()


def test_call_routing_test_page(admin_client, org, make_calling_person):
    hq = org_location(org, "HQ")
    alice = make_calling_person(org, "1001")
    make_calling_person(org, "1002")
    set_location_pstn_connection(SYSTEM, hq, create_trunk(SYSTEM, org, name="LGW", location=hq,
                                                          password="Secret123x"))
    url = reverse("calling:call_routing_test")
    page = admin_client.post(url, {"caller": alice.email, "destination": "1002"}).content.decode()
    assert "HOSTED_AGENT" in page and "is the extension of a line" in page
    page = admin_client.post(url, {"caller": "1001", "destination": "011442071234567"}).content.decode()
    assert "Rejected" in page and "INTERNATIONAL calls are blocked" in page
    page = admin_client.post(url, {"caller": "1001", "destination": "4155550100"}).content.decode()
    assert "PSTN_NUMBER" in page and "trunk LGW" in page
    page = admin_client.post(url, {"caller": "nobody@nowhere", "destination": "1"}).content.decode()
    assert "No person or workspace with calling" in page


def test_read_only_admin_sees_but_cannot_change(client, make_admin, org):
    client.force_login(make_admin(Role.READ_ONLY_ADMIN, org=org))
    hq = org_location(org, "HQ")
    assert client.get(reverse("calling:call_routing")).status_code == 200
    assert client.get(reverse("calling:location_outgoing_permissions", kwargs={"pk": hq.pk})).status_code == 403
    assert client.post(reverse("calling:translation_pattern_add"), {}).status_code == 403
