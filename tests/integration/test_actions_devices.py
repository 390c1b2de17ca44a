"""Device actions: adding phones by MAC, their line appearances, and MAC validation — every refusal writes nothing."""
import pytest
from django.core.exceptions import ValidationError

from controlhub.models import AuditEvent
from devices.actions import Member, create_device, set_device_members, validate_macs
from devices.models import Device, DeviceLine, LineType
from tests.conftest import SYSTEM, org_location
from users.actions import create_person, create_workspace

pytestmark = pytest.mark.django_db


def snapshot() -> tuple:
    return Device.objects.count(), DeviceLine.objects.count(), AuditEvent.objects.count()


def appearances(device) -> dict:
    """port -> (line id, line type, auth id, password)"""
    return {a.port: (a.line_id, a.line_type, a.auth_id, a.auth_password) for a in device.lines.all()}


# --------------------------------------------------------------------------------------------- create_device


@pytest.mark.parametrize("raw", ["00:1A:2B:3C:4D:5E", "00-1a-2b-3c-4d-5e", "001a.2b3c.4d5e", "001A2B3C4D5E",
                                 " 001a2b3c4d5e "])
def test_mac_is_normalised_from_any_notation(org, make_calling_person, raw):
    alice = make_calling_person(org, "1001")
    device = create_device(SYSTEM, org, mac=raw, model="Cisco 7841", owner=alice)
    device.refresh_from_db()
    assert device.mac == "001a2b3c4d5e"
    assert device.mac_display == "00:1A:2B:3C:4D:5E"


@pytest.mark.parametrize("model", ["DMS Cisco 8851", "Cisco 8851", "cisco 8851", "8851", "CP-8851-3PCC"])
def test_model_by_webex_name_display_name_or_product_code(org, make_calling_person, model):
    alice = make_calling_person(org, "1001")
    assert create_device(SYSTEM, org, mac="001a2b3c4d5e", model=model, owner=alice).model.product_code == "8851"


def test_new_device_carries_the_owners_line_on_port_one_and_is_audited(org, make_calling_person):
    alice = make_calling_person(org, "1001", location_name="Branch")
    device = create_device(SYSTEM, org, mac="001a2b3c4d5e", model="Cisco 7841", owner=alice)
    appearance = device.lines.get()
    assert (appearance.port, appearance.line, appearance.line_type) == (1, alice.line, LineType.PRIMARY)
    assert appearance.auth_id and appearance.auth_password and appearance.auth_id != alice.line.sip_user
    assert device.location == org_location(org, "Branch")
    assert AuditEvent.objects.filter(object_type="device", object_id=str(device.pk), action="CREATE").exists()


def test_duplicate_mac_is_refused_in_any_notation_and_across_organisations(org, other_org, make_calling_person):
    alice = make_calling_person(org, "1001")
    bob = make_calling_person(other_org, "1001")
    create_device(SYSTEM, org, mac="001a2b3c4d5e", model="Cisco 7841", owner=alice)
    before = snapshot()
    for owner, organisation in ((alice, org), (bob, other_org)):
        with pytest.raises(ValidationError) as exc:
            create_device(SYSTEM, organisation, mac="00-1A-2B-3C-4D-5E", model="Cisco 7841", owner=owner)
        assert list(exc.value.message_dict) == ["mac"]
        assert "already exists" in exc.value.message_dict["mac"][0]
    assert snapshot() == before


@pytest.mark.parametrize("raw", ["00:00:00:00:00:00", "FF:FF:FF:FF:FF:FF", "01:00:5E:00:00:01", "33:33:00:00:00:01",
                                 "", "not-a-mac", "00:1A:2B:3C:4D", "00:1A:2B:3C:4D:5E:6F", "00:1A:2B:3C:4D:5G"])
def test_zero_broadcast_multicast_and_malformed_macs_are_refused(org, make_calling_person, raw):
    alice = make_calling_person(org, "1001")
    before = snapshot()
    with pytest.raises(ValidationError) as exc:
        create_device(SYSTEM, org, mac=raw, model="Cisco 7841", owner=alice)
    assert list(exc.value.message_dict) == ["mac"]
    assert snapshot() == before


def test_unknown_model_is_refused_with_field_model(org, make_calling_person):
    alice = make_calling_person(org, "1001")
    before = snapshot()
    with pytest.raises(ValidationError) as exc:
        create_device(SYSTEM, org, mac="001a2b3c4d5e", model="Polycom VVX 450", owner=alice)
    assert list(exc.value.message_dict) == ["model"]
    # A bad MAC and a bad model are reported together.
    with pytest.raises(ValidationError) as exc:
        create_device(SYSTEM, org, mac="nope", model="Polycom VVX 450", owner=alice)
    assert set(exc.value.message_dict) == {"mac", "model"}
    assert snapshot() == before


def test_owner_without_calling_is_refused(org):
    hq = org_location(org, "HQ")
    person = create_person(SYSTEM, org, email="nocalling@example.com", location=hq)
    workspace = create_workspace(SYSTEM, org, display_name="Lobby", location=hq)
    before = snapshot()
    for owner, field in ((person, "personId"), (workspace, "workspaceId")):
        with pytest.raises(ValidationError) as exc:
            create_device(SYSTEM, org, mac="001a2b3c4d5e", model="Cisco 7841", owner=owner)
        assert list(exc.value.message_dict) == [field]
        assert "no calling" in exc.value.message_dict[field][0]
    assert snapshot() == before


def test_owner_from_another_organisation_is_refused(org, other_org, make_calling_person):
    stranger = make_calling_person(other_org, "1001")
    before = snapshot()
    with pytest.raises(ValidationError) as exc:
        create_device(SYSTEM, org, mac="001a2b3c4d5e", model="Cisco 7841", owner=stranger)
    assert list(exc.value.message_dict) == ["personId"]
    assert snapshot() == before


# --------------------------------------------------------------------------------------------- set_device_members


@pytest.fixture
def phone(org, make_calling_person):
    """Alice's Cisco 7841 (4 line ports), and Bob's and Carol's lines to share onto it."""
    alice = make_calling_person(org, "1001")
    device = create_device(SYSTEM, org, mac="001a2b3c4d5e", model="Cisco 7841", owner=alice)
    return device, alice.line, make_calling_person(org, "1002").line, make_calling_person(org, "1003").line


def refused(device, members, fragment: str) -> None:
    before, rows = appearances(device), snapshot()
    with pytest.raises(ValidationError) as exc:
        set_device_members(SYSTEM, device, members)
    messages = exc.value.message_dict["members"]
    assert any(fragment in m for m in messages), messages
    assert appearances(device) == before and snapshot() == rows


def test_more_lines_than_ports_is_refused(phone, make_calling_person, org):
    device, own, bob, carol = phone
    extra = [make_calling_person(org, ext).line for ext in ("1004", "1005")]
    members = [Member(own, 1), Member(bob, 2), Member(carol, 3), Member(extra[0], 4), Member(extra[1], 5)]
    refused(device, members, "has 4 line ports; 5 lines were given")


def test_port_beyond_the_models_ports_is_refused(phone):
    device, own, bob, _ = phone
    refused(device, [Member(own, 1), Member(bob, 5)], "Port 5 does not exist")
    refused(device, [Member(own, 1), Member(bob, 0)], "Port 0 does not exist")


def test_duplicate_port_and_duplicate_line_are_refused(phone):
    device, own, bob, carol = phone
    refused(device, [Member(own, 1), Member(bob, 2), Member(carol, 2)], "Each port can carry one line only")
    refused(device, [Member(own, 1), Member(bob, 2), Member(bob, 3)], "A line can appear only once")


def test_owner_line_must_stay(phone):
    device, _, bob, carol = phone
    refused(device, [Member(bob, 1), Member(carol, 2)], "must stay on the device")


def test_line_from_another_organisation_is_refused(phone, other_org, make_calling_person):
    device, own, _, _ = phone
    foreign = make_calling_person(other_org, "1002").line
    refused(device, [Member(own, 1), Member(foreign, 2)], "another organization")


def test_unknown_line_type_is_refused(phone):
    device, own, bob, _ = phone
    refused(device, [Member(own, 1), Member(bob, 2, line_type="BOGUS")], "Line type must be")


def test_appearances_that_stay_keep_their_credentials(phone):
    device, own, bob, carol = phone
    set_device_members(SYSTEM, device, [Member(own, 1), Member(bob, 2)])
    first = appearances(device)
    assert first[2][1] == LineType.SHARED_CALL_APPEARANCE
    set_device_members(SYSTEM, device, [Member(own, 1), Member(carol, 2), Member(bob, 4)])
    second = appearances(device)
    assert second[1] == first[1]                                  # owner's appearance untouched
    assert second[4][0] == bob.pk and second[4][2:] == first[2][2:]  # Bob moved to port 4, same auth id/password
    assert second[2][0] == carol.pk and second[2][2] not in {first[1][2], first[2][2]}  # Carol: new credentials


def test_removed_appearance_is_deleted_and_readding_gets_new_credentials(phone):
    device, own, bob, _ = phone
    set_device_members(SYSTEM, device, [Member(own, 1), Member(bob, 2)])
    old_auth = appearances(device)[2][2]
    set_device_members(SYSTEM, device, [Member(own, 1)])
    assert set(appearances(device)) == {1}
    set_device_members(SYSTEM, device, [Member(own, 1), Member(bob, 2)])
    assert appearances(device)[2][2] != old_auth  # revoked credentials never come back


def test_swapping_ports_works_and_keeps_credentials(phone):
    device, own, bob, _ = phone
    set_device_members(SYSTEM, device, [Member(own, 1), Member(bob, 2)])
    before = appearances(device)
    set_device_members(SYSTEM, device, [Member(own, 2), Member(bob, 1)])
    after = appearances(device)
    assert after[2] == before[1] and after[1] == before[2]


def test_owner_line_is_always_primary_and_changes_are_audited_once(phone):
    device, own, bob, _ = phone
    events = AuditEvent.objects.filter(object_type="device", object_id=str(device.pk), action="UPDATE")
    set_device_members(SYSTEM, device, [Member(own, 1, line_type=LineType.SHARED_CALL_APPEARANCE),
                                        Member(bob, 2, line_label="Bob")])
    result = appearances(device)
    assert result[1][1] == LineType.PRIMARY
    assert result[2][1] == LineType.SHARED_CALL_APPEARANCE
    assert device.lines.get(port=2).line_label == "Bob"
    assert events.count() == 1
    set_device_members(SYSTEM, device, [Member(own, 1), Member(bob, 2, line_label="Bobby")])
    assert events.count() == 1  # same lines on the same ports: nothing to audit


# --------------------------------------------------------------------------------------------- validate_macs


def test_validate_macs_statuses(org, make_calling_person):
    alice = make_calling_person(org, "1001")
    create_device(SYSTEM, org, mac="00:1A:2B:3C:4D:5E", model="Cisco 7841", owner=alice)
    statuses = validate_macs(["001a.2b3c.4d5e", "00:1a:2b:3c:4d:5f", "00-1A-2B-3C-4D-5F", "garbage",
                              "ff:ff:ff:ff:ff:ff", "01:00:5e:00:00:01", "AABBCCDDEEF0"])
    assert [(s.mac, s.state) for s in statuses] == [
        ("001a2b3c4d5e", "UNAVAILABLE"),
        ("001a2b3c4d5f", "AVAILABLE"),
        ("001a2b3c4d5f", "DUPLICATE_IN_LIST"),
        ("garbage", "INVALID"),
        ("ff:ff:ff:ff:ff:ff", "INVALID"),
        ("01:00:5e:00:00:01", "INVALID"),
        ("aabbccddeef0", "AVAILABLE"),
    ]
    assert all(s.message for s in statuses if s.state != "AVAILABLE")
    assert validate_macs([]) == []
