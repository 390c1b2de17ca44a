"""The `<mac>.xml` device file, rendered from the database and read back with lxml as a phone would."""
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from lxml import etree

from calling.actions import assign_calling
from devices.actions import Member, create_device, set_device_members
from devices.models import Device, LineType
from devices.provisioning import render_device_config
from devices.provisioning.mpp import device_filename, with_render_relations
from tests.conftest import SYSTEM, licence, org_location
from users.actions import create_person

pytestmark = pytest.mark.django_db


def params(xml: str) -> dict[str, str]:
    root = etree.fromstring(xml.encode("utf-8"))
    assert root.tag == "flat-profile"
    names = [el.tag for el in root]
    assert len(names) == len(set(names)), "a parameter is written twice"
    return {el.tag: el.text or "" for el in root}


def test_owner_line_registers_with_its_appearance_credentials(org, make_calling_person):
    alice = make_calling_person(org, "1001")
    device = create_device(SYSTEM, org, mac="00:56:2B:04:36:15", model="Cisco 7841", owner=alice)
    appearance = device.lines.get()
    p = params(render_device_config(device))
    assert device_filename(device) == "00562b043615.xml"
    assert p["Line_Enable_1_"] == "Yes" and p["Register_1_"] == "Yes"
    assert p["Proxy_1_"] == org.sip_domain
    assert p["User_ID_1_"] == alice.line.sip_user
    assert p["Auth_ID_1_"] == appearance.auth_id != alice.line.sip_user
    assert p["Use_Auth_ID_1_"] == "Yes"
    assert p["Password_1_"] == appearance.auth_password
    assert p["Share_Ext_1_"] == "private"
    assert p["Display_Name_1_"] == p["Station_Display_Name"] == alice.display_name
    # HQ is America/Los_Angeles
    assert p["Time_Zone"] == "GMT-08:00"
    assert p["Daylight_Saving_Time_Enable"] == "Yes"
    assert p["Daylight_Saving_Time_Rule"] == "start=3/8/7/02:00:00;end=11/1/7/02:00:00;save=1:00:00"
    assert p["Primary_NTP_Server"]
    assert p["Resync_On_Reset"] == "Yes" and p["Resync_From_SIP"] == "Yes" and int(p["Resync_Periodic"]) > 0
    assert p["Extension_1_"] == "1" and p["Short_Name_1_"] == "1001"


def test_unused_ports_up_to_line_ports_are_disabled_and_cleared(org, make_calling_person):
    alice = make_calling_person(org, "1001")
    device = create_device(SYSTEM, org, mac="001a2b3c4d5e", model="Cisco 7841", owner=alice)  # 4 ports
    p = params(render_device_config(device))
    for n in (2, 3, 4):
        assert p[f"Line_Enable_{n}_"] == "No"
        assert p[f"Register_{n}_"] == "No"
        assert p[f"User_ID_{n}_"] == p[f"Auth_ID_{n}_"] == p[f"Password_{n}_"] == ""
        assert p[f"Extension_{n}_"] == "Disabled"
    assert "Line_Enable_5_" not in p


def test_proxy_override_and_outbound_proxy(org, make_calling_person):
    alice = make_calling_person(org, "1001")
    device = create_device(SYSTEM, org, mac="001a2b3c4d5e", model="Cisco 7841", owner=alice)
    p = params(render_device_config(device, proxy="127.0.0.1:5060", outbound_proxy="127.0.0.1:5070"))
    assert p["Proxy_1_"] == "127.0.0.1:5060"
    assert p["Outbound_Proxy_1_"] == "127.0.0.1:5070" and p["Use_OB_Proxy_In_Dialog_1_"] == "Yes"


def test_shared_line_has_its_own_credentials_on_each_device(org, make_calling_person):
    alice = make_calling_person(org, "1001")
    bob = make_calling_person(org, "1002")
    alice_phone = create_device(SYSTEM, org, mac="001a2b3c4d01", model="Cisco 8851", owner=alice)
    bob_phone = create_device(SYSTEM, org, mac="001a2b3c4d02", model="Cisco 8851", owner=bob)
    set_device_members(SYSTEM, bob_phone, [Member(bob.line, 1), Member(alice.line, 2, line_label="Alice")])

    on_alice_phone = params(render_device_config(alice_phone))
    on_bob_phone = params(render_device_config(bob_phone))
    # Same line (same SIP user) on both phones, but each appearance authenticates with its own auth id/password.
    assert on_alice_phone["User_ID_1_"] == on_bob_phone["User_ID_2_"] == alice.line.sip_user
    assert on_alice_phone["Auth_ID_1_"] != on_bob_phone["Auth_ID_2_"]
    assert on_alice_phone["Password_1_"] != on_bob_phone["Password_2_"]
    assert on_bob_phone["Auth_ID_2_"] == bob_phone.lines.get(port=2).auth_id
    assert on_bob_phone["Share_Ext_2_"] == "shared" and on_bob_phone["Share_Call_Appearance_2_"] == "shared"
    assert on_bob_phone["Share_Ext_1_"] == "private"
    assert on_bob_phone["Display_Name_2_"] == alice.display_name  # the line owner's name, not the phone owner's
    assert on_bob_phone["Station_Display_Name"] == bob.display_name
    assert on_bob_phone["Short_Name_2_"] == "Alice"
    assert bob_phone.lines.get(port=2).line_type == LineType.SHARED_CALL_APPEARANCE


def test_xml_special_characters_in_names_are_escaped(org):
    hq = org_location(org, "HQ")
    person = create_person(SYSTEM, org, email="tom@example.com", display_name='Tom & "Jerry" <Sales>\x07',
                           location=hq, licenses=[licence(org)])
    assign_calling(SYSTEM, person, location=hq, extension="1005", phone_number=None)
    device = create_device(SYSTEM, org, mac="001a2b3c4d5e", model="Cisco 7841", owner=person)
    xml = render_device_config(device)
    assert "Tom &amp; \"Jerry\" &lt;Sales&gt;" in xml
    p = params(xml)
    assert p["Display_Name_1_"] == p["Station_Display_Name"] == 'Tom & "Jerry" <Sales>'  # control char dropped


def test_location_time_zone_is_used(org, make_calling_person):
    bob = make_calling_person(org, "1002", location_name="Branch")  # America/New_York
    device = create_device(SYSTEM, org, mac="001a2b3c4d5e", model="Cisco 7841", owner=bob)
    assert params(render_device_config(device))["Time_Zone"] == "GMT-05:00"


def _device_with_lines(org, make_calling_person, count: int, mac: str) -> Device:
    owner = make_calling_person(org, f"{mac[-2:]}00")
    device = create_device(SYSTEM, org, mac=mac, model="Cisco 8851", owner=owner)
    others = [make_calling_person(org, f"{mac[-2:]}{i:02d}") for i in range(1, count)]
    set_device_members(SYSTEM, device, [Member(owner.line, 1)] + [Member(p.line, i + 2) for i, p in enumerate(others)])
    return device


def test_query_count_does_not_grow_with_lines(org, make_calling_person):
    one = _device_with_lines(org, make_calling_person, 1, "001a2b3c4d01")
    eight = _device_with_lines(org, make_calling_person, 8, "001a2b3c4d02")
    render_device_config(Device.objects.get(pk=one.pk))  # warm caches that are not queries (time zone rules)
    counts = []
    for device in (one, eight):
        fresh = Device.objects.get(pk=device.pk)
        with CaptureQueriesContext(connection) as ctx:
            xml = render_device_config(fresh)
        counts.append(len(ctx.captured_queries))
    assert counts[0] == counts[1] <= 3
    assert sum(params(xml)[f"Line_Enable_{n}_"] == "Yes" for n in range(1, 11)) == 8


def test_bulk_render_from_prefetched_queryset_costs_no_further_queries(org, make_calling_person):
    _device_with_lines(org, make_calling_person, 3, "001a2b3c4d01")
    _device_with_lines(org, make_calling_person, 2, "001a2b3c4d02")
    devices = list(with_render_relations(Device.objects.filter(organization=org)))
    with CaptureQueriesContext(connection) as ctx:
        files = [render_device_config(d) for d in devices]
    assert len(ctx.captured_queries) == 0
    assert len(files) == 2
