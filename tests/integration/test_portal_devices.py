"""Devices in the portal: add by MAC, lines (members), rendered configuration, delete."""
import sys

import pytest

from devices.models import Device, DeviceLine
from tests.conftest import SYSTEM
from tests.integration.portal_support import audit_count, client_for, errors_of, make_device, make_workspace
from users.actions import create_person

pytestmark = pytest.mark.django_db


def test_add_device_for_a_person(org, full_admin, make_calling_person):
    person = make_calling_person(org, "1001")
    client = client_for(full_admin)
    form = client.get(f"/devices/add/?person={person.pk}")
    assert form.context["form"].initial == {"owner_kind": "person", "owner": person.email}
    response = client.post("/devices/add/", {"mac": "00-1a-2b-3c-4d-5e", "model": "DMS Cisco 8851",
                                             "owner_kind": "person", "owner": person.email.upper()})
    device = Device.objects.get(mac="001a2b3c4d5e")
    assert response.status_code == 302 and response["Location"] == f"/devices/{device.pk}/"
    assert device.person == person and device.lines.get().line == person.line


def test_add_device_for_a_workspace(org, full_admin):
    workspace = make_workspace(org, "Lobby", extension="1900")
    response = client_for(full_admin).post("/devices/add/", {
        "mac": "001a.2b3c.4d5f", "model": "DMS Cisco 7832", "owner_kind": "workspace", "owner": "lobby"})
    assert response.status_code == 302
    assert Device.objects.get(mac="001a2b3c4d5f").workspace == workspace


@pytest.mark.parametrize("change, field, message", [
    ({"mac": ""}, "mac", "This field is required."),
    ({"mac": "zz:zz"}, "mac", "is not a MAC address"),
    ({"mac": "ff:ff:ff:ff:ff:ff"}, "mac", "broadcast"),
    ({"mac": "01:00:5e:00:00:01"}, "mac", "multicast"),
    ({"mac": "TAKEN"}, "mac", "already exists"),
    ({"model": "DMS Cisco 1234"}, "model", "Select a valid choice."),
    ({"owner": "nobody@example.com"}, "owner", "No user with the email"),
    ({"owner": "NOCALL"}, "owner", "has no calling"),
    ({"owner_kind": "workspace", "owner": "Nowhere"}, "owner", "No workspace named"),
    ({"owner": "OTHER-ORG"}, "owner", "No user with the email"),
])
def test_bad_device_input(org, other_org, full_admin, make_calling_person, change, field, message):
    person = make_calling_person(org, "1001")
    stranger = make_calling_person(other_org, "1001")
    taken = make_device(org, person)
    nocall = create_person(SYSTEM, org, email="nocall@example.com")
    data = {"mac": "00:1a:2b:3c:4d:60", "model": "DMS Cisco 8851", "owner_kind": "person", "owner": person.email}
    data.update(change)
    data["mac"] = taken.mac if data["mac"] == "TAKEN" else data["mac"]
    data["owner"] = {"NOCALL": nocall.email, "OTHER-ORG": stranger.email}.get(data["owner"], data["owner"])
    before = (Device.objects.count(), audit_count())
    response = client_for(full_admin).post("/devices/add/", data)
    assert response.status_code == 200
    assert any(message in str(e) for e in errors_of(response, field)), response.context["form"].errors
    assert (Device.objects.count(), audit_count()) == before


def lines_post(rows, initial_forms=1):
    data = {"lines-TOTAL_FORMS": str(len(rows)), "lines-INITIAL_FORMS": str(initial_forms),
            "lines-MIN_NUM_FORMS": "0", "lines-MAX_NUM_FORMS": "1000"}
    for i, row in enumerate(rows):
        for key, value in row.items():
            data[f"lines-{i}-{key}"] = value
    return data


def test_device_lines_add_shared_line_and_remove_it(org, full_admin, make_calling_person):
    owner = make_calling_person(org, "1001")
    other = make_calling_person(org, "1002", with_number=True)
    device = make_device(org, owner)
    client = client_for(full_admin)
    assert client.get(f"/devices/{device.pk}/lines/").status_code == 200
    rows = [{"port": "1", "line": "1001", "line_type": "PRIMARY", "line_label": ""},
            {"port": "2", "line": other.line.number.e164, "line_type": "SHARED_CALL_APPEARANCE",
             "line_label": "Boss"},
            {"port": "", "line": "", "line_type": "SHARED_CALL_APPEARANCE", "line_label": ""}]
    response = client.post(f"/devices/{device.pk}/lines/", lines_post(rows))
    assert response.status_code == 302
    appearances = list(DeviceLine.objects.filter(device=device).order_by("port"))
    assert [(a.port, a.line_id, a.line_label) for a in appearances] == [(1, owner.line.pk, ""),
                                                                        (2, other.line.pk, "Boss")]
    page = client.get(f"/devices/{device.pk}/").content.decode()
    assert f'href="sip:{other.line.sip_address}"' in page
    rows = [{"port": "1", "line": "1001", "line_type": "PRIMARY"},
            {"port": "2", "line": "1002", "line_type": "SHARED_CALL_APPEARANCE", "DELETE": "on"}]
    assert client.post(f"/devices/{device.pk}/lines/", lines_post(rows, 2)).status_code == 302
    assert DeviceLine.objects.filter(device=device).count() == 1


@pytest.mark.parametrize("rows, message", [
    ([{"port": "1", "line": "9999", "line_type": "PRIMARY"}], "No calling user or workspace"),
    ([{"port": "1", "line": "1002", "line_type": "SHARED_CALL_APPEARANCE"}], "must stay on the device"),
    ([{"port": "1", "line": "1001", "line_type": "PRIMARY"},
      {"port": "1", "line": "1002", "line_type": "SHARED_CALL_APPEARANCE"}], "Each port can carry one line only."),
    ([{"port": "1", "line": "1001", "line_type": "PRIMARY"},
      {"port": "11", "line": "1002", "line_type": "SHARED_CALL_APPEARANCE"}], "does not exist on a Cisco 8851"),
    ([{"port": "0", "line": "1001", "line_type": "PRIMARY"}], "greater than or equal to 1"),
    ([{"port": "x", "line": "1001", "line_type": "PRIMARY"}], "Enter a whole number."),
    ([{"port": "1", "line": "1001", "line_type": "WEIRD"}], "Select a valid choice."),
])
def test_bad_device_lines(org, full_admin, make_calling_person, rows, message):
    owner = make_calling_person(org, "1001")
    make_calling_person(org, "1002")
    device = make_device(org, owner)
    before = list(DeviceLine.objects.filter(device=device).values_list("port", "line_id", "auth_id"))
    response = client_for(full_admin).post(f"/devices/{device.pk}/lines/", lines_post(rows))
    assert response.status_code == 200
    assert message in response.content.decode().replace("&#x27;", "'")
    assert list(DeviceLine.objects.filter(device=device).values_list("port", "line_id", "auth_id")) == before


def test_device_page_shows_config_or_says_unavailable(org, full_admin, make_calling_person, monkeypatch):
    device = make_device(org, make_calling_person(org, "1001"))
    client = client_for(full_admin)
    page = client.get(f"/devices/{device.pk}/")
    assert page.status_code == 200
    assert page.context["config"] or page.context["config_note"]
    monkeypatch.setitem(sys.modules, "devices.provisioning.mpp", None)  # renderer missing -> ImportError
    page = client.get(f"/devices/{device.pk}/")
    assert page.context["config"] is None and "not available" in page.context["config_note"]


def test_device_page_shows_rendered_config_when_the_renderer_exists(org, full_admin, make_calling_person,
                                                                    monkeypatch):
    import types

    fake = types.ModuleType("devices.provisioning.mpp")
    fake.render_device_config = lambda device: f"<flat-profile><MAC>{device.mac}</MAC></flat-profile>"
    monkeypatch.setitem(sys.modules, "devices.provisioning.mpp", fake)
    device = make_device(org, make_calling_person(org, "1001"))
    page = client_for(full_admin).get(f"/devices/{device.pk}/")
    assert f"&lt;MAC&gt;{device.mac}&lt;/MAC&gt;" in page.content.decode()


def test_delete_device(org, full_admin, make_calling_person):
    device = make_device(org, make_calling_person(org, "1001"))
    client = client_for(full_admin)
    assert client.get(f"/devices/{device.pk}/delete/").status_code == 200
    assert client.post(f"/devices/{device.pk}/delete/").status_code == 302
    assert not Device.objects.filter(pk=device.pk).exists()


def test_device_list_filters(org, full_admin, make_calling_person):
    a = make_device(org, make_calling_person(org, "1001"))
    make_device(org, make_calling_person(org, "1002"), model="DMS Cisco 6841")
    client = client_for(full_admin)
    page = client.get("/devices/", {"q": a.mac_display})
    assert [d.pk for d in page.context["page"].items] == [a.pk]
    page = client.get("/devices/", {"model": "DMS Cisco 6841"})
    assert len(page.context["page"].items) == 1


def test_owner_suggestions_list_only_calling_owners_of_this_org(org, other_org, full_admin, make_calling_person):
    mine = make_calling_person(org, "1001", email="ada@example.com")
    make_calling_person(other_org, "1001", email="adam@example.com")
    create_person(SYSTEM, org, email="adele@example.com")  # no calling: cannot get a phone
    content = client_for(full_admin).get("/devices/owners/", {"owner_kind": "person", "owner": "ad"}).content
    assert content.decode().count("<option") == 1 and mine.email in content.decode()
    make_workspace(org, "Lobby", extension="1900")
    content = client_for(full_admin).get("/devices/owners/", {"owner_kind": "workspace", "owner": "lob"}).content
    assert b'value="Lobby"' in content
