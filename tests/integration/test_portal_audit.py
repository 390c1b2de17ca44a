"""The audit log page: portal changes appear with source UI and their before/after values; filters work."""
import pytest

from controlhub.roles import Role
from tests.conftest import licence, org_location
from tests.integration.portal_support import client_for
from users.models import LicenseKind

pytestmark = pytest.mark.django_db


def test_portal_changes_appear_in_the_audit_log_with_before_and_after(org, full_admin):
    client = client_for(full_admin)
    hq = org_location(org, "HQ")
    data = {"name": "HQ Renamed", "time_zone": hq.time_zone, "preferred_language": "en_us",
            "announcement_language": "en_us", "address1": hq.address1, "city": hq.city, "country": "US",
            "routing_prefix": "81", "state": "CA"}
    assert client.post(f"/locations/{hq.pk}/edit/", data).status_code == 302
    page = client.get("/audit/", {"source": "UI"})
    events = page.context["page"].items
    assert len(events) == 1 and events[0].actor == full_admin and events[0].object_type == "location"
    content = page.content.decode()
    assert "HQ Renamed" in content and "<td>HQ</td>" in content and full_admin.email in content
    assert page.context["page"].items[0].source == "UI"


def test_audit_filters(org, other_org, full_admin):
    client = client_for(full_admin)
    client.post("/workspaces/add/", {"display_name": "Lobby", "location": org_location(org, "HQ").pk,
                                     "type": "notSet"})
    page = client.get("/audit/", {"object_type": "workspace", "action": "CREATE", "actor": full_admin.email[:6],
                                  "source": "UI", "since": "2000-01-01", "until": "2999-01-01"})
    assert [e.object_repr for e in page.context["page"].items] == ["Lobby"]
    assert client.get("/audit/", {"object_type": "workspace", "source": "API"}).context["page"].items == []
    assert client.get("/audit/", {"until": "2000-01-01"}).context["page"].items == []
    every = client.get("/audit/?object_type=number").context["page"].items
    assert every and all(e.organization_id == org.pk for e in every)


def test_read_only_admin_reads_the_audit_log(org, make_admin):
    assert client_for(make_admin(Role.READ_ONLY_ADMIN, org=org)).get("/audit/").status_code == 200


def test_a_change_of_services_reads_as_the_services_named(org, full_admin, make_calling_person):
    """A person's services are flags on their row; the log records their names under one "services" entry."""
    person = make_calling_person(org, "6301")
    meetings = licence(org, LicenseKind.MEETINGS)
    client = client_for(full_admin)
    assert client.post(f"/users/{person.pk}/services/", {"licenses": [licence(org).pk, meetings.pk]}).status_code == 302
    page = client.get("/audit/", {"source": "UI", "object_type": "person"})
    (event,) = page.context["page"].items
    assert event.changed_fields == [("services", "Webex Calling - Professional",
                                     "Basic Meetings, Webex Calling - Professional")]
    content = page.content.decode()
    assert '<th scope="row">services</th>' in content and "Basic Meetings, Webex Calling - Professional" in content
    assert "[&#x27;" not in content  # no Python list repr
