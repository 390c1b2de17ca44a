"""Rendering controlhub's calling data into call engine rows: dial plans, routes, credentials (no database)."""
import hashlib

import pytest

from calling.engine.kamailio import gateway_destination
from calling.engine.render import (
    ESN,
    EXTENSION,
    NUMBER,
    AppearanceInfo,
    LineInfo,
    LocationInfo,
    _lengths_guard,
    dialplan_rules,
    render,
    translate,
)


@pytest.mark.parametrize("dialled, expected", [
    ("+14155550123", "+14155550123"),        # already +E.164
    ("+46812345678", "+46812345678"),
    ("14155550123", "+14155550123"),         # 1 + area code + number
    ("4155550123", "+14155550123"),          # 10-digit dialling
    ("01146812345678", "+46812345678"),      # international prefix 011
    ("1001", None),                          # extensions are not numbers
    ("1155550123", None),                    # area codes do not start with 0 or 1
    ("415555012", None),                     # too short
    ("3001234", None),                       # a 7-digit pattern that is no possible US length
])
def test_us_without_outside_dial_digit(dialled, expected):
    assert translate(dialplan_rules("US"), dialled) == expected


@pytest.mark.parametrize("dialled, expected", [
    ("914155550123", "+14155550123"),        # outside dial digit + national
    ("94155550123", "+14155550123"),
    ("901146812345678", "+46812345678"),
    ("14155550123", "+14155550123"),         # without it still works
    ("4155550123", "+14155550123"),
    ("9", None),
])
def test_us_with_outside_dial_digit_9(dialled, expected):
    assert translate(dialplan_rules("US", "9"), dialled) == expected


@pytest.mark.parametrize("dialled, expected", [
    ("0812345678", "+46812345678"),          # Stockholm, national prefix 0
    ("0701234567", "+46701234567"),          # mobile
    ("0046812345678", "+46812345678"),       # international prefix 00
    ("0014155550123", "+14155550123"),
    ("812345678", None),                     # national numbers need the 0 in Sweden
    ("08123", None),                         # too short
])
def test_sweden_without_outside_dial_digit(dialled, expected):
    assert translate(dialplan_rules("SE"), dialled) == expected


@pytest.mark.parametrize("dialled, expected", [
    ("00812345678", "+46812345678"),         # outside dial digit 0 + national 0812345678
    ("00046812345678", "+46812345678"),      # 0 + international 0046...
    ("0812345678", "+46812345678"),          # without the outside dial digit
    ("+46812345678", "+46812345678"),
])
def test_sweden_with_outside_dial_digit_0(dialled, expected):
    assert translate(dialplan_rules("SE", "0"), dialled) == expected


def test_rules_are_ordered_and_anchored():
    rules = dialplan_rules("SE", "0")
    assert [r.pr for r in rules] == sorted(r.pr for r in rules)
    assert all(r.match.startswith("^") and r.match.endswith("$") for r in rules)
    assert rules[0].attrs == "e164"
    assert {r.attrs for r in rules} >= {"odd-international", "odd-national", "international", "national"}


def test_unknown_country_dials_e164_only_and_bad_outside_digit_is_refused():
    rules = dialplan_rules("ZZ")
    assert [r.attrs for r in rules] == ["e164"]
    with pytest.raises(ValueError):
        dialplan_rules("US", "99")


def test_length_guard():
    assert _lengths_guard((10,)) == "(?=[0-9]{10}$)"
    assert _lengths_guard((6, 7, 8, 9, 10, 12)) == "(?=(?:[0-9]{6,10}|[0-9]{12})$)"


def _acme():
    locations = [LocationInfo("hq", "US", "81", "9"), LocationInfo("branch", "US", "82"), LocationInfo("se", "SE")]
    lines = [
        LineInfo("aaa", "hq", "1001", "+14085550001"),
        LineInfo("bbb", "branch", "1002", None),
        LineInfo("ccc", "se", "2001", "+46812345678"),     # a location without routing prefix: no ESN
        LineInfo("ddd", "hq", "811001", None),             # an extension spelling HQ's ESN of 1001
        LineInfo("eee", "hq", None, "+14085550005"),       # number only
    ]
    appearances = [AppearanceInfo("auth-a1", "pw1", "aaa"), AppearanceInfo("auth-a2", "pw2", "aaa"),
                   AppearanceInfo("auth-x", "pw", "gone")]  # a line that is not rendered: no credential
    return render("org-1", "acme.calls.test", locations, lines, appearances)


def test_routes_extensions_esns_and_numbers():
    state = _acme()
    routes = {(r.dial_key, r.line_user, r.kind) for r in state.routes}
    assert ("811001", "ddd", EXTENSION) in routes                    # the extension wins over aaa's ESN
    assert ("821002", "bbb", ESN) in routes                          # Branch prefix 82 + 1002
    assert ("1001", "aaa", EXTENSION) in routes and ("811001", "aaa", ESN) not in routes
    assert ("+14085550001", "aaa", NUMBER) in routes and ("+46812345678", "ccc", NUMBER) in routes
    assert ("2001", "ccc", EXTENSION) in routes
    assert not any(r.line_user == "ccc" and r.kind == ESN for r in state.routes)
    assert {r.line_user for r in state.routes if r.kind == NUMBER} == {"aaa", "ccc", "eee"}
    assert len({r.dial_key for r in state.routes}) == len(state.routes)
    assert all(r.domain == "acme.calls.test" for r in state.routes)


def test_lines_locations_and_dial_plans():
    state = _acme()
    assert [line.line_user for line in state.lines] == ["aaa", "bbb", "ccc", "ddd", "eee"]
    assert {(loc.location_key, loc.routing_prefix, loc.outside_dial_digit) for loc in state.locations} == {
        ("hq", "81", "9"), ("branch", "82", ""), ("se", "", "")}
    assert translate(state.dialplans["hq"], "914155550123") == "+14155550123"
    assert translate(state.dialplans["se"], "0812345678") == "+46812345678"


def test_one_credential_per_appearance_with_digest_hashes():
    state = _acme()
    assert [(c.auth_id, c.line_user) for c in state.credentials] == [("auth-a1", "aaa"), ("auth-a2", "aaa")]
    first = state.credentials[0]
    assert first.ha1 == hashlib.md5(b"auth-a1:acme.calls.test:pw1").hexdigest()
    assert first.ha1b == hashlib.md5(b"auth-a1@acme.calls.test:acme.calls.test:pw1").hexdigest()


def test_rendering_is_deterministic():
    assert _acme() == _acme()


@pytest.mark.parametrize("host, port, transport, expected", [
    ("127.0.0.1", 5080, "udp", "sip:127.0.0.1:5080"),
    ("gw1.example.test", 5061, "tls", "sip:gw1.example.test:5061;transport=tls"),
    ("::1", 5060, "tcp", "sip:[::1]:5060;transport=tcp"),
])
def test_gateway_destination(host, port, transport, expected):
    assert gateway_destination(host, port, transport) == expected


@pytest.mark.parametrize("host, port, transport", [
    ("bad host", 5060, "udp"), ("127.0.0.1", 0, "udp"), ("127.0.0.1", 5060, "sctp"), ("a;b", 5060, "udp"),
])
def test_gateway_destination_refuses_nonsense(host, port, transport):
    with pytest.raises(ValueError):
        gateway_destination(host, port, transport)
