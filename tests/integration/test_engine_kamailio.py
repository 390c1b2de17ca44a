"""The call engine for real: controlhub pushes to Kamailio 5.6 (deploy/kamailio.cfg) and sipp phones and gateways
register and call through it on 127.0.0.1."""
import threading
import uuid
from dataclasses import dataclass

import pytest

from calling.actions import remove_calling
from calling.engine import (
    COALESCED,
    NOT_CONFIGURED,
    NOT_NEEDED,
    RELOADED,
    EngineUnavailable,
    get_engine,
)
from calling.engine.kamailio import KamailioEngine, RpcFault
from calling.engine.render import dialplan_rules, translate
from controlhub.actions import create_location
from devices.actions import create_device, delete_device
from devices.models import DeviceLine
from tests.conftest import SYSTEM, org_location

pytest_plugins = ["tests.integration.engine_fixtures"]   # fixtures: kamailio, engine, sipp


@dataclass
class Phone:
    """One device appearance of a person's line: what a phone would be provisioned with."""

    line_user: str
    domain: str
    auth_id: str
    password: str

    @property
    def auth(self) -> tuple[str, str]:
        return self.auth_id, self.password


def add_phone(org, person) -> Phone:
    device = create_device(SYSTEM, org, mac="0c11" + uuid.uuid4().hex[:8], model="DMS Cisco 8851", owner=person)
    appearance = DeviceLine.objects.select_related("line").get(device=device)
    return Phone(appearance.line.sip_user, org.sip_domain, appearance.auth_id, appearance.auth_password)


def register(sipp, phone: Phone, contact_port: int, scenario="register.xml"):
    run = sipp.run(scenario, service=phone.line_user, domain=phone.domain, auth=phone.auth, contact_port=contact_port)
    assert run.returncode == 0, run
    return run


def call(sipp, phone: Phone, dialled: str, scenario="uac_call.xml", password: str | None = None,
         caller: str | None = None):
    run = sipp.run(scenario, service=dialled, domain=phone.domain, auth=(phone.auth_id, password or phone.password),
                   caller=caller or phone.line_user)
    assert run.returncode == 0, run
    return run


@pytest.fixture
def acme(org, other_org, make_calling_person):
    """Acme: Alice 1001 and Bob 1002 (numbers, a phone each), Carol 1003 (no phone); Globex: Dave 1005 (phone).
    HQ locations (US) have routing prefix 81; Acme's HQ has outside dial digit 9."""
    hq = org_location(org, "HQ")
    hq.outside_dial_digit = "9"
    hq.save()
    alice = make_calling_person(org, "1001", with_number=True)
    bob = make_calling_person(org, "1002", with_number=True)
    carol = make_calling_person(org, "1003")
    dave = make_calling_person(other_org, "1005")
    world = {"org": org, "other": other_org, "hq": hq, "alice": alice, "bob": bob, "carol": carol, "dave": dave,
             "alice_phone": add_phone(org, alice), "bob_phone": add_phone(org, bob),
             "dave_phone": add_phone(other_org, dave)}
    return world


def test_register_and_call_by_extension_and_esn(engine, sipp, acme):
    result = engine.push_organization(acme["org"].pk)
    assert result.ok and result.changed and result.reload == RELOADED
    alice, bob = acme["alice_phone"], acme["bob_phone"]
    register(sipp, alice, contact_port=sipp.free_port())
    bob_desk = sipp.uas()
    register(sipp, bob, contact_port=bob_desk.port)

    call(sipp, alice, "1002")
    assert bob_desk.wait().returncode == 0
    assert bob_desk.received == [f"INVITE sip:{bob.line_user}@127.0.0.1:{bob_desk.port};transport=UDP"]

    bob_desk = sipp.uas()
    register(sipp, bob, contact_port=bob_desk.port)
    call(sipp, alice, "811002")                       # ESN: HQ routing prefix 81 + extension
    assert bob_desk.wait().returncode == 0 and len(bob_desk.received) == 1

    bob_desk = sipp.uas()
    register(sipp, bob, contact_port=bob_desk.port)
    call(sipp, alice, acme["bob"].line.number.e164)   # own organisation's number: straight to the line
    assert bob_desk.wait().returncode == 0 and len(bob_desk.received) == 1


def test_credentials_are_checked(engine, sipp, acme):
    engine.push_organization(acme["org"].pk)
    alice, bob = acme["alice_phone"], acme["bob_phone"]
    wrong = Phone(alice.line_user, alice.domain, alice.auth_id, "not-the-password")
    register(sipp, wrong, 5999, scenario="register_403.xml")
    stranger = Phone(alice.line_user, alice.domain, "unknown-auth-id", "whatever")
    register(sipp, stranger, 5999, scenario="register_403.xml")
    # Alice's auth ID may only register (and call as) Alice's line
    as_bob = Phone(bob.line_user, bob.domain, alice.auth_id, alice.password)
    register(sipp, as_bob, 5999, scenario="register_403.xml")
    call(sipp, alice, "1002", scenario="uac_call_403.xml", password="not-the-password")
    call(sipp, alice, "1002", scenario="uac_call_403.xml", caller=bob.line_user)
    # another organisation's realm does not know Alice's auth ID
    other_realm = Phone(alice.line_user, acme["other"].sip_domain, alice.auth_id, alice.password)
    register(sipp, other_realm, 5999, scenario="register_403.xml")


def test_unknown_foreign_and_offline_destinations(engine, sipp, acme):
    engine.push_organization(acme["org"].pk)
    engine.push_organization(acme["other"].pk)
    alice, dave = acme["alice_phone"], acme["dave_phone"]
    dave_desk = sipp.uas(timeout=5)
    register(sipp, dave, contact_port=dave_desk.port)
    call(sipp, alice, "1005", scenario="uac_call_404.xml")     # Globex's extension, registered: not reachable
    call(sipp, alice, "811005", scenario="uac_call_404.xml")   # nor by Globex's ESN
    assert dave_desk.received == []
    call(sipp, alice, "1999", scenario="uac_call_404.xml")     # nobody's extension
    call(sipp, alice, "1003", scenario="uac_call_480.xml")     # Carol: a line without a phone
    call(sipp, alice, "1002", scenario="uac_call_480.xml")     # Bob: a phone that has not registered
    # Dave's own organisation does reach him
    call(sipp, dave, "1005")
    assert dave_desk.wait().returncode == 0


def test_off_net_calls_go_to_the_location_gateway_as_e164(engine, sipp, acme):
    alice = acme["alice_phone"]
    engine.push_organization(acme["org"].pk)
    call(sipp, alice, "914155550123", scenario="uac_call_503.xml")   # HQ has no gateway yet
    gateway = sipp.uas()
    result = engine.set_location_gateway(acme["hq"].pk, "127.0.0.1", gateway.port)
    assert result.changes["dispatcher"].inserted == 1 and result.reload in (RELOADED, COALESCED)
    call(sipp, alice, "914155550123")                 # outside dial digit 9 + national format
    assert gateway.wait().returncode == 0
    assert gateway.received == [f"INVITE sip:+14155550123@127.0.0.1:{gateway.port}"]
    gateway = sipp.uas(port=gateway.port)
    call(sipp, alice, "4155550124")                   # 10-digit, no outside dial digit
    assert gateway.wait().returncode == 0
    assert gateway.received == [f"INVITE sip:+14155550124@127.0.0.1:{gateway.port}"]


def test_gateway_delivers_a_did_to_every_device_of_its_owner(engine, sipp, acme):
    org, bob = acme["org"], acme["bob"]
    bob_second = add_phone(org, bob)                  # Bob has two phones: two appearances of his line
    gateway_port = sipp.free_port()
    engine.set_location_gateway(acme["hq"].pk, "127.0.0.1", gateway_port)
    desk, lobby = sipp.uas(), sipp.uas("uas_ring.xml")
    register(sipp, acme["bob_phone"], contact_port=desk.port)
    register(sipp, bob_second, contact_port=lobby.port)
    number = bob.line.number.e164
    run = sipp.run("uac_gateway_call.xml", service=number, port=gateway_port, caller="+14155550199")
    assert run.returncode == 0, run
    assert desk.wait().returncode == 0                # one answers ...
    assert lobby.wait().returncode == 0               # ... the other rang and was cancelled
    assert desk.received[0].startswith(f"INVITE sip:{bob.line.sip_user}@127.0.0.1:{desk.port}")
    assert lobby.received[0].startswith(f"INVITE sip:{bob.line.sip_user}@127.0.0.1:{lobby.port}")
    # a number that is not the organisation's, and a DID in national format
    run = sipp.run("uac_gateway_404.xml", service="+14155550100", port=gateway_port, caller="+14155550199")
    assert run.returncode == 0, run
    desk, lobby = sipp.uas(), sipp.uas("uas_ring.xml")
    register(sipp, acme["bob_phone"], contact_port=desk.port)
    register(sipp, bob_second, contact_port=lobby.port)
    run = sipp.run("uac_gateway_call.xml", service=number.removeprefix("+1"), port=gateway_port, caller="+1415")
    assert run.returncode == 0, run
    assert desk.wait().returncode == 0 and lobby.wait().returncode == 0


def test_push_is_idempotent_and_follows_deletions(engine, kamailio, sipp, acme):
    org, bob = acme["org"], acme["bob"]
    first = engine.push_organization(org.pk)
    assert first.changes["subscriber"].inserted == 2          # Alice's and Bob's phones
    assert first.changes["ch_line"].inserted == 3             # Alice, Bob, Carol
    assert first.changes["ch_route"].inserted == 3 * 2 + 2    # 3 extensions + 3 ESNs + 2 numbers
    assert first.changes["ch_location"].inserted == 2 and first.changes["dialplan"].inserted > 0
    again = engine.push_organization(org.pk)
    assert again.ok and again.changed == 0 and again.reload == NOT_NEEDED and again.unregistered == []

    bob_phone = acme["bob_phone"]
    desk = sipp.uas(timeout=5)
    register(sipp, bob_phone, contact_port=desk.port)
    assert engine.contacts(bob_phone.line_user, org.sip_domain)
    for device in bob.devices.all():
        delete_device(SYSTEM, device)
    remove_calling(SYSTEM, bob)
    gone = engine.push_organization(org.pk)
    assert gone.changes["subscriber"].deleted == 1 and gone.changes["ch_line"].deleted == 1
    assert gone.changes["ch_route"].deleted == 3 and gone.changed == 5
    assert gone.unregistered == [f"{bob_phone.line_user}@{org.sip_domain}"]
    assert engine.contacts(bob_phone.line_user, org.sip_domain) == []
    for table, column in (("subscriber", "line_user"), ("ch_line", "line_user"), ("ch_route", "line_user")):
        assert kamailio.query(f"SELECT count(*) FROM {table} WHERE {column} = %s", (bob_phone.line_user,)) == [(0,)]
    call(sipp, acme["alice_phone"], "1002", scenario="uac_call_404.xml")
    register(sipp, bob_phone, desk.port, scenario="register_403.xml")

    removed = engine.remove_organization(org.pk)
    assert removed.ok and removed.changes["ch_location"].deleted == 2
    for table in ("subscriber", "ch_line", "ch_route", "ch_location", "dialplan", "dispatcher"):
        assert kamailio.query(f"SELECT count(*) FROM {table} WHERE org_key = %s", (str(org.pk),)) == [(0,)]


def test_dial_plan_in_kamailio_matches_the_rendered_rules(engine, kamailio, acme):
    stockholm = create_location(SYSTEM, acme["org"], name="Stockholm", time_zone="Europe/Stockholm",
                                address1="Drottninggatan 1", city="Stockholm", country="SE", routing_prefix="83",
                                outside_dial_digit="0")
    engine.push_organization(acme["org"].pk)
    cases = {acme["hq"]: ("US", "9", ["914155550123", "14155550123", "4155550123", "901146812345678", "1001"]),
             stockholm: ("SE", "0", ["00812345678", "0812345678", "00046812345678", "0701234567", "+14155550123"])}
    for location, (country, odd, numbers) in cases.items():
        (dpid,), = kamailio.query("SELECT id FROM ch_location WHERE location_key = %s", (str(location.pk),))
        rules = dialplan_rules(country, odd)
        for dialled in numbers:
            try:
                output = engine.rpc("dialplan.translate", dpid, dialled)["Output"]
            except RpcFault as fault:
                assert fault.fault == "No translation"
                output = None
            assert output == translate(rules, dialled), (country, dialled)


def test_reloads_are_debounced_and_coalesced(engine, kamailio, monkeypatch):
    engine.reload(force=True)                         # a reload just happened: the next ones must wait
    calls = []
    real = KamailioEngine._reload_now

    def counting(self):
        calls.append(1)
        real(self)

    monkeypatch.setattr(KamailioEngine, "_reload_now", counting)
    results = []
    threads = [threading.Thread(target=lambda: results.append(engine.reload(force=True))) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(results).count(RELOADED) == len(calls) and len(calls) <= 2, results
    assert set(results) <= {RELOADED, COALESCED} and COALESCED in results
    (requested, loaded), = kamailio.query("SELECT requested, loaded FROM ch_reload")
    assert loaded == requested
    assert engine.reload() == NOT_NEEDED


def test_engine_unavailable_is_reported_quickly(kamailio, db, org):
    down_rpc = KamailioEngine(kamailio.database_url, "http://127.0.0.1:9/RPC", timeout=2)
    with pytest.raises(EngineUnavailable, match="JSON-RPC"):
        down_rpc.rpc("core.version")
    down_db = KamailioEngine("postgres://postgres@127.0.0.1:9/nothing", kamailio.rpc_url, timeout=2)
    with pytest.raises(EngineUnavailable, match="database"):
        down_db.push_organization(org.pk)


def test_no_engine_configured_never_reports_success(settings, db, org):
    settings.CALL_ENGINE = "none"
    adapter = get_engine()
    result = adapter.push_organization(org.pk)
    assert not result.ok and result.status == NOT_CONFIGURED and "not configured" in result.message
    assert adapter.set_location_gateway(org_location(org, "HQ").pk, "127.0.0.1", 5080).status == NOT_CONFIGURED
    assert adapter.reload() == NOT_CONFIGURED
