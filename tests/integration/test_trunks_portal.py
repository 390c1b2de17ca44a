"""Local gateways in the portal: the trunk list, add, detail (CUBE parameters and configuration), edit, delete
with confirmation, and a location's PSTN connection."""
import pytest

from calling.actions import create_route_group, create_trunk, set_location_pstn_connection
from calling.models import LocationPstn, Trunk, TrunkType
from controlhub.models import AuditEvent
from controlhub.roles import Role
from tests.conftest import SYSTEM, org_location
from tests.integration.portal_support import client_for, errors_of

pytestmark = pytest.mark.django_db

REGISTERING = {"name": "Stockholm LGW", "trunk_type": "REGISTERING", "password": "", "address": "", "port": "",
               "domain": "", "transport": "tls", "max_concurrent_calls": "100"}


def test_nav_list_and_add_registering(org, full_admin):
    client = client_for(full_admin)
    assert 'href="/pstn/trunks/"' in client.get("/").content.decode()
    assert "No local gateways yet." in client.get("/pstn/trunks/").content.decode()
    hq = org_location(org, "HQ")
    response = client.post("/pstn/trunks/add/", {**REGISTERING, "location": hq.pk})
    trunk = Trunk.objects.get(organization=org, name="Stockholm LGW")
    assert response.status_code == 302 and response["Location"] == f"/pstn/trunks/{trunk.pk}/"
    assert trunk.trunk_type == TrunkType.REGISTERING and len(trunk.password) >= 8
    assert AuditEvent.objects.get(object_id=str(trunk.pk)).source == "UI"
    listing = client.get("/pstn/trunks/").content.decode()
    assert "Stockholm LGW" in listing and "Registering" in listing


def test_detail_shows_cube_parameters_config_and_status(org, full_admin, settings):
    settings.PROVISIONING_OUTBOUND_PROXY = "203.0.113.10:5060"
    trunk = create_trunk(SYSTEM, org, name="LGW", location=org_location(org, "HQ"), password="Secret123x")
    page = client_for(full_admin).get(f"/pstn/trunks/{trunk.pk}/").content.decode()
    for text in (org.sip_domain, trunk.line_port, trunk.otg_dtg_id, "203.0.113.10:5060", trunk.sip_username,
                 "Secret123x", "voice class tenant 100", "dial-peer voice 100 voip",
                 f"credentials number {trunk.sip_username} username {trunk.sip_username} password 0 Secret123x"):
        assert text in page, text
    assert "Unknown (the call engine cannot be asked now)" in page   # CALL_ENGINE=none


def test_certificate_based_needs_address(org, full_admin):
    hq = org_location(org, "HQ")
    response = client_for(full_admin).post("/pstn/trunks/add/", {**REGISTERING, "location": hq.pk,
                                                                  "trunk_type": "CERTIFICATE_BASED"})
    assert response.status_code == 200
    assert "needs the gateway's address" in " ".join(errors_of(response, "address"))
    assert not Trunk.objects.filter(organization=org).exists()
    response = client_for(full_admin).post("/pstn/trunks/add/", {
        **REGISTERING, "location": hq.pk, "trunk_type": "CERTIFICATE_BASED", "address": "sbc.acme.test",
        "port": "5061", "domain": "acme.test"})
    assert response.status_code == 302
    assert Trunk.objects.get(organization=org).address == "sbc.acme.test"


def test_edit_and_delete_with_confirmation(org, full_admin):
    trunk = create_trunk(SYSTEM, org, name="LGW", location=org_location(org, "HQ"))
    client = client_for(full_admin)
    response = client.post(f"/pstn/trunks/{trunk.pk}/edit/", {"name": "LGW 2", "password": "",
                                                              "max_concurrent_calls": "10"})
    assert response.status_code == 302
    trunk.refresh_from_db()
    assert (trunk.name, trunk.max_concurrent_calls) == ("LGW 2", 10)
    set_location_pstn_connection(SYSTEM, org_location(org, "HQ"), trunk)
    confirm = client.get(f"/pstn/trunks/{trunk.pk}/delete/")
    assert confirm.status_code == 200 and "LGW 2" in confirm.content.decode()
    refused = client.post(f"/pstn/trunks/{trunk.pk}/delete/")
    assert refused.status_code == 200 and "location HQ" in refused.content.decode()
    set_location_pstn_connection(SYSTEM, org_location(org, "HQ"), None)
    assert client.post(f"/pstn/trunks/{trunk.pk}/delete/").status_code == 302
    assert not Trunk.objects.filter(pk=trunk.pk).exists()


def test_location_pstn_connection_flow(org, full_admin):
    hq = org_location(org, "HQ")
    trunk = create_trunk(SYSTEM, org, name="LGW", location=hq)
    group = create_route_group(SYSTEM, org, name="Both", members=[(trunk, 1)])
    client = client_for(full_admin)
    detail = client.get(f"/locations/{hq.pk}/").content.decode()
    assert f'href="/locations/{hq.pk}/pstn/"' in detail
    form = client.get(f"/locations/{hq.pk}/pstn/").content.decode()
    assert "LGW" in form and "Both" in form
    assert client.post(f"/locations/{hq.pk}/pstn/", {"connection": f"trunk:{trunk.pk}"}).status_code == 302
    assert LocationPstn.objects.get(location=hq).trunk == trunk
    assert f'href="/pstn/trunks/{trunk.pk}/"' in client.get(f"/locations/{hq.pk}/").content.decode()
    assert client.post(f"/locations/{hq.pk}/pstn/", {"connection": f"rg:{group.pk}"}).status_code == 302
    assert LocationPstn.objects.get(location=hq).route_group == group
    response = client.post(f"/locations/{hq.pk}/pstn/", {"connection": "trunk:nope"})
    assert response.status_code == 200 and errors_of(response, "connection")
    assert client.post(f"/locations/{hq.pk}/pstn/", {"connection": ""}).status_code == 302
    assert not LocationPstn.objects.filter(location=hq).exists()


def test_other_org_and_read_only(org, other_org, make_admin):
    foreign = create_trunk(SYSTEM, other_org, name="Theirs", location=org_location(other_org, "HQ"))
    admin = make_admin(Role.FULL_ADMIN, org=org)
    assert client_for(admin).get(f"/pstn/trunks/{foreign.pk}/").status_code == 404
    mine = create_trunk(SYSTEM, org, name="Mine", location=org_location(org, "HQ"))
    read_only = client_for(make_admin(Role.READ_ONLY_ADMIN, org=org))
    page = read_only.get(f"/pstn/trunks/{mine.pk}/")
    assert page.status_code == 200 and f"/pstn/trunks/{mine.pk}/edit/" not in page.content.decode()
    assert read_only.get("/pstn/trunks/add/").status_code == 403
    assert read_only.post(f"/pstn/trunks/{mine.pk}/delete/").status_code == 403
    assert read_only.post(f"/locations/{org_location(org, 'HQ').pk}/pstn/",
                          {"connection": f"trunk:{mine.pk}"}).status_code == 403
    assert Trunk.objects.filter(pk=mine.pk).exists() and not LocationPstn.objects.exists()


def test_route_group_add_edit_delete(org, full_admin):
    hq = org_location(org, "HQ")
    first = create_trunk(SYSTEM, org, name="First", location=hq)
    second = create_trunk(SYSTEM, org, name="Second", location=hq)
    client = client_for(full_admin)
    empty = client.post("/pstn/route-groups/add/", {"name": "RG"})
    assert empty.status_code == 200 and "at least one trunk" in " ".join(errors_of(empty, None))
    bad = client.post("/pstn/route-groups/add/", {"name": "RG", f"trunk_{first.pk}": "11"})
    assert bad.status_code == 200 and errors_of(bad, f"trunk_{first.pk}")
    assert client.post("/pstn/route-groups/add/", {"name": "RG", f"trunk_{first.pk}": "2",
                                                   f"trunk_{second.pk}": "1"}).status_code == 302
    group = first.route_groups.get()
    assert [(m.trunk.name, m.priority) for m in group.members.all()] == [("Second", 1), ("First", 2)]
    assert "RG" in client.get("/pstn/trunks/").content.decode()
    assert client.post(f"/pstn/route-groups/{group.pk}/", {"name": "RG 2", f"trunk_{first.pk}": "1"}).status_code \
        == 302
    group.refresh_from_db()
    assert group.name == "RG 2" and [m.trunk.name for m in group.members.all()] == ["First"]
    set_location_pstn_connection(SYSTEM, hq, group)
    refused = client.post(f"/pstn/route-groups/{group.pk}/delete/")
    assert refused.status_code == 200 and "HQ" in refused.content.decode()
    set_location_pstn_connection(SYSTEM, hq, None)
    assert client.post(f"/pstn/route-groups/{group.pk}/delete/").status_code == 302
    assert not first.route_groups.exists()
