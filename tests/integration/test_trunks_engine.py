"""Local gateways on the real engine: a location's PSTN connection, pushed through the pipeline, routes its
off-net calls to the trunk (Kamailio 5.6 + sipp on 127.0.0.1)."""
import pytest

from calling.actions import create_route_group, create_trunk, set_location_pstn_connection, update_trunk
from calling.gateways import OFFLINE, ONLINE, refresh_trunk_registrations, trunk_status
from calling.models import TrunkType
from controlhub import sync
from controlhub.models import SyncStatus, SyncTarget
from tests.conftest import SYSTEM, org_location
from tests.integration.test_engine_kamailio import Phone, add_phone, call, register

pytest_plugins = ["tests.integration.engine_fixtures"]   # fixtures: kamailio, engine, sipp


@pytest.fixture
def acme(org, make_calling_person):
    """Acme's HQ (US, outside dial digit 9) with Alice 1001: a number and a phone."""
    hq = org_location(org, "HQ")
    hq.outside_dial_digit = "9"
    hq.save()
    alice = make_calling_person(org, "1001", with_number=True)
    return {"org": org, "hq": hq, "alice_phone": add_phone(org, alice)}


def push(org) -> None:
    """What the pipeline's worker does for the organisation's engine key."""
    result = sync.push_now(sync.ENGINE, [f"org:{org.pk}"])
    row = SyncTarget.objects.get(target=sync.ENGINE, key=f"org:{org.pk}")
    assert result == {f"org:{org.pk}": SyncStatus.SYNCED}, row.last_error


def test_certificate_based_trunk_gets_the_locations_off_net_calls(engine, kamailio, sipp, acme):
    org, hq, alice = acme["org"], acme["hq"], acme["alice_phone"]
    push(org)
    call(sipp, alice, "914155550123", scenario="uac_call_503.xml")   # no PSTN connection yet
    gateway = sipp.uas()
    trunk = create_trunk(SYSTEM, org, name="SBC", location=hq, trunk_type=TrunkType.CERTIFICATE_BASED,
                         address="127.0.0.1", port=gateway.port, domain="example.com", transport="udp")
    set_location_pstn_connection(SYSTEM, hq, trunk)
    push(org)
    assert kamailio.query("SELECT destination FROM dispatcher WHERE org_key = %s", (str(org.pk),)) == [
        (f"sip:127.0.0.1:{gateway.port}",)]
    call(sipp, alice, "914155550123")
    assert gateway.wait().returncode == 0
    assert gateway.received == [f"INVITE sip:+14155550123@127.0.0.1:{gateway.port}"]

    moved = sipp.uas()   # the trunk's port changes: the same push path follows it
    update_trunk(SYSTEM, trunk, port=moved.port)
    push(org)
    call(sipp, alice, "4155550124")
    assert moved.wait().returncode == 0
    assert moved.received == [f"INVITE sip:+14155550124@127.0.0.1:{moved.port}"]

    set_location_pstn_connection(SYSTEM, hq, None)
    push(org)
    assert kamailio.query("SELECT destination FROM dispatcher WHERE org_key = %s", (str(org.pk),)) == []
    call(sipp, alice, "914155550123", scenario="uac_call_503.xml")


def test_route_group_renders_trunks_by_priority(engine, kamailio, acme):
    org, hq = acme["org"], acme["hq"]
    first = create_trunk(SYSTEM, org, name="A", location=hq, trunk_type=TrunkType.CERTIFICATE_BASED,
                         address="127.0.0.1", port=5091, domain="example.com", transport="udp")
    second = create_trunk(SYSTEM, org, name="B", location=hq, trunk_type=TrunkType.CERTIFICATE_BASED,
                          address="gw.example.com", port=5061, domain="example.com")
    group = create_route_group(SYSTEM, org, name="RG", members=[(second, 2), (first, 1)])
    set_location_pstn_connection(SYSTEM, hq, group)
    push(org)
    rows = kamailio.query("SELECT destination, priority FROM dispatcher WHERE org_key = %s ORDER BY priority DESC",
                          (str(org.pk),))
    assert rows == [("sip:127.0.0.1:5091", 2), ("sip:gw.example.com:5061;transport=tls", 1)]


def test_registering_trunk_registers_and_gets_calls_at_its_contact(engine, kamailio, sipp, acme):
    org, hq, alice = acme["org"], acme["hq"], acme["alice_phone"]
    trunk = create_trunk(SYSTEM, org, name="LGW", location=hq)
    set_location_pstn_connection(SYSTEM, hq, trunk)
    push(org)
    assert kamailio.query("SELECT destination FROM dispatcher WHERE org_key = %s", (str(org.pk),)) == [
        (f"sip:{trunk.sip_username.replace('_', '-')}.trunk.invalid",)]
    refresh_trunk_registrations()   # what beat does every 30 s: pages only read its answer
    assert trunk_status(trunk) == OFFLINE
    call(sipp, alice, "914155550123", scenario="uac_call_503.xml")   # not registered yet
    wrong = Phone(trunk.sip_username, org.sip_domain, trunk.sip_username, "Wrong123x")
    run = sipp.run("register_403.xml", service=wrong.line_user, domain=wrong.domain, auth=wrong.auth,
                   contact_port=5999)
    assert run.returncode == 0, run

    gateway = sipp.uas()   # the CUBE registers after the push: no other push is needed
    register(sipp, Phone(trunk.sip_username, org.sip_domain, trunk.sip_username, trunk.password),
             contact_port=gateway.port)
    refresh_trunk_registrations()
    assert trunk_status(trunk) == ONLINE and f":{gateway.port}" in trunk_status(trunk).contact
    call(sipp, alice, "914155550123")
    assert gateway.wait().returncode == 0
    # the registered contact, R-URI user the dialled number as +E.164 (sipp registers ";transport=UDP")
    assert [r.lower() for r in gateway.received] == [f"invite sip:+14155550123@127.0.0.1:{gateway.port};transport=udp"]
    again = engine.push_organization(org.pk)   # its registration survives pushes (the trunk is a line)
    refresh_trunk_registrations()
    assert again.unregistered == [] and trunk_status(trunk) == ONLINE


def test_route_group_skips_an_unregistered_trunk(engine, sipp, acme):
    org, hq, alice = acme["org"], acme["hq"], acme["alice_phone"]
    silent = create_trunk(SYSTEM, org, name="Never registers", location=hq)
    gateway = sipp.uas()
    sbc = create_trunk(SYSTEM, org, name="SBC", location=hq, trunk_type=TrunkType.CERTIFICATE_BASED,
                       address="127.0.0.1", port=gateway.port, domain="example.com", transport="udp")
    group = create_route_group(SYSTEM, org, name="RG", members=[(silent, 1), (sbc, 2)])
    set_location_pstn_connection(SYSTEM, hq, group)
    push(org)
    call(sipp, alice, "914155550123")
    assert gateway.wait().returncode == 0
    assert gateway.received == [f"INVITE sip:+14155550123@127.0.0.1:{gateway.port}"]
