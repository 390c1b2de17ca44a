"""Dial plan on the real engine: class of service (403 for a blocked call type, location default and a person's
own), translation patterns, premises dial plans — each call placed with sipp through Kamailio, and each time the
call-routing test (calling/engine/routing.py) must predict what Kamailio did. The rendered dialplan rules must
agree with Kamailio's own `dialplan.translate`."""
from calling.actions import (
    create_dial_plan,
    create_translation_pattern,
    create_trunk,
    set_location_pstn_connection,
    set_outgoing_permissions,
)
from calling.engine.kamailio import DP_CALL_TYPE, DP_PREMISES, DP_TRANSLATE, RpcFault
from calling.engine.render import apply_replacement, desired_state, match_rule
from calling.engine.routing import route_call
from tests.conftest import SYSTEM
from tests.integration.test_engine_kamailio import acme, call, register  # noqa: F401  (acme is a fixture)

pytest_plugins = ["tests.integration.engine_fixtures"]   # fixtures: kamailio, engine, sipp

SCENARIO = {403: "uac_call_403.xml", 404: "uac_call_404.xml", 480: "uac_call_480.xml", 503: "uac_call_503.xml"}


def predicted(org, phone, dialled: str):
    return route_call(desired_state(org.pk), phone.line_user, dialled)


def place(sipp, org, phone, dialled: str, expect: int):
    """Call through Kamailio expecting `expect` (200: answered) and check the routing test predicted it."""
    result = predicted(org, phone, dialled)
    assert (result.status if result.status >= 400 else 200) == expect, (dialled, result.status, result.steps)
    call(sipp, phone, dialled, scenario=SCENARIO.get(expect, "uac_call.xml"))
    return result


def gateway_trunk(org, location, port: int, name: str = "CUBE"):
    return create_trunk(SYSTEM, org, name=name, location=location, trunk_type="CERTIFICATE_BASED",
                        password="Secret123x", address="127.0.0.1", port=port, transport="udp",
                        domain="cube.example")


def test_blocked_call_types_get_403_and_a_person_can_be_allowed(engine, sipp, acme):  # noqa: F811
    org, hq, alice = acme["org"], acme["hq"], acme["alice_phone"]
    gateway = sipp.uas()
    set_location_pstn_connection(SYSTEM, hq, gateway_trunk(org, hq, gateway.port))
    set_outgoing_permissions(SYSTEM, hq, permissions={"NATIONAL": {"action": "BLOCK"}})
    engine.push_organization(org.pk)

    blocked = place(sipp, org, alice, "4155550124", 403)           # national, 10-digit
    assert blocked.call_type == "NATIONAL" and blocked.e164 == "+14155550124"
    assert place(sipp, org, alice, "9011442071234567", 403).call_type == "INTERNATIONAL"   # default: blocked
    assert place(sipp, org, alice, "18005550100", 200).call_type == "TOLL_FREE"
    assert gateway.wait().returncode == 0
    assert gateway.received == [f"INVITE sip:+18005550100@127.0.0.1:{gateway.port}"]

    # Alice gets her own permissions: national allowed; Bob still has the location's
    set_outgoing_permissions(SYSTEM, acme["alice"], permissions={"NATIONAL": {"action": "ALLOW"}}, use_custom=True)
    engine.push_organization(org.pk)
    gateway = sipp.uas(port=gateway.port)
    place(sipp, org, alice, "4155550124", 200)
    assert gateway.wait().returncode == 0
    place(sipp, org, acme["bob_phone"], "4155550124", 403)
    # switching her override off falls back to the location's
    set_outgoing_permissions(SYSTEM, acme["alice"], use_custom=False)
    engine.push_organization(org.pk)
    place(sipp, org, alice, "4155550124", 403)


def test_internal_calls_can_be_blocked_too(engine, sipp, acme):  # noqa: F811
    org = acme["org"]
    set_outgoing_permissions(SYSTEM, acme["bob"], permissions={"INTERNAL_CALL": {"action": "BLOCK"}})
    engine.push_organization(org.pk)
    result = place(sipp, org, acme["bob_phone"], "1001", 403)
    assert result.call_type == "INTERNAL_CALL"
    desk = sipp.uas()
    register(sipp, acme["bob_phone"], contact_port=desk.port)
    place(sipp, org, acme["alice_phone"], "1002", 200)              # Alice's location allows internal calls
    assert desk.wait().returncode == 0


def test_translation_patterns_rewrite_before_routing(engine, sipp, acme):  # noqa: F811
    org, hq, alice = acme["org"], acme["hq"], acme["alice_phone"]
    gateway = sipp.uas()
    set_location_pstn_connection(SYSTEM, hq, gateway_trunk(org, hq, gateway.port))
    create_translation_pattern(SYSTEM, org, name="Short codes", matching_pattern="7XXX",
                               replacement_pattern="+14155550XXX")
    create_translation_pattern(SYSTEM, org, name="Reception", matching_pattern="5000", replacement_pattern="1002",
                               location=hq)
    engine.push_organization(org.pk)

    result = place(sipp, org, alice, "7123", 200)
    assert result.translated == "+14155550123" and result.destination == "GATEWAY"
    assert gateway.wait().returncode == 0
    assert gateway.received == [f"INVITE sip:+14155550123@127.0.0.1:{gateway.port}"]

    desk = sipp.uas()
    register(sipp, acme["bob_phone"], contact_port=desk.port)
    result = place(sipp, org, alice, "5000", 200)                 # the location's pattern: Bob's extension
    assert result.line_user == acme["bob_phone"].line_user
    assert desk.wait().returncode == 0
    place(sipp, org, alice, "8123", 404)                           # nothing matches: unknown


def test_premises_dial_plan_routes_matching_numbers_to_its_trunk(engine, sipp, acme):  # noqa: F811
    org, hq, alice = acme["org"], acme["hq"], acme["alice_phone"]
    pstn, pbx = sipp.uas(), sipp.uas()
    set_location_pstn_connection(SYSTEM, hq, gateway_trunk(org, hq, pstn.port))
    create_dial_plan(SYSTEM, org, name="New York PBX", route=gateway_trunk(org, hq, pbx.port, "NY PBX"),
                     dial_patterns=["+1212555XXXX"])
    engine.push_organization(org.pk)

    result = place(sipp, org, alice, "2125550100", 200)
    assert result.dial_plan_key is not None
    assert pbx.wait().returncode == 0
    assert pbx.received == [f"INVITE sip:+12125550100@127.0.0.1:{pbx.port}"]
    assert pstn.received == []
    result = place(sipp, org, alice, "2125560100", 200)          # not the pattern: the location's PSTN trunk
    assert result.dial_plan_key is None
    assert pstn.wait().returncode == 0


def test_every_rendered_rule_agrees_with_kamailio(engine, kamailio, acme):  # noqa: F811
    org, hq = acme["org"], acme["hq"]
    create_translation_pattern(SYSTEM, org, name="Short codes", matching_pattern="7XXX",
                               replacement_pattern="+14155550XXX")
    create_translation_pattern(SYSTEM, org, name="Any 6", matching_pattern="6!", replacement_pattern="+1!")
    create_translation_pattern(SYSTEM, org, name="Reception", matching_pattern="5000", replacement_pattern="1002",
                               location=hq)
    create_dial_plan(SYSTEM, org, name="PBX", route=gateway_trunk(org, hq, 5999),
                     dial_patterns=["+1212555XXXX", "+4420!"])
    engine.push_organization(org.pk)
    state = desired_state(org.pk)
    (location_id,), = kamailio.query("SELECT id FROM ch_location WHERE location_key = %s", (str(hq.pk),))
    samples = ["7123", "71234", "612345", "5000", "5001", "+12125550100", "+12125550100", "+442012345678",
               "+18005550100", "+19005550100", "+14155550123", "+12125551234", "+46812345678", "1001"]
    checked = 0
    for offset, rules in ((DP_TRANSLATE, state.translations[str(hq.pk)]),
                          (DP_CALL_TYPE, state.call_types[str(hq.pk)]),
                          (DP_PREMISES, state.premises[str(hq.pk)])):
        assert rules
        for dialled in samples:
            rule = match_rule(rules, dialled)
            try:
                answer = engine.rpc("dialplan.translate", location_id + offset, dialled)
            except RpcFault as fault:
                assert fault.fault == "No translation" and rule is None, (offset, dialled)
                continue
            assert rule is not None, (offset, dialled, answer)
            assert answer["Output"] == apply_replacement(rule.match, rule.repl, dialled), (offset, dialled)
            expected_attrs = rule.attrs if offset != DP_PREMISES else answer["Attributes"]
            assert answer["Attributes"] == expected_attrs, (offset, dialled)
            checked += 1
    assert checked >= 12
