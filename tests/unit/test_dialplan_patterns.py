"""Dial-plan patterns and call types (calling/dialplan.py): Control Hub's pattern syntax to regexes, replacement
rules, and the call type of a destination seen from a location."""
import re

import pytest

from calling.dialplan import (
    apply_replacement,
    area_code,
    call_type_rules,
    classify,
    dial_pattern_regex,
    pattern_regex,
    replacement_template,
    specificity,
)


@pytest.mark.parametrize("pattern, dialled, matches", [
    ("7XXX", "7123", True), ("7XXX", "712", False), ("7XXX", "71234", False),
    ("9011!", "9011442071234567", True), ("9011!", "9011", False),
    ("+1408XXXXXXX", "+14085550100", True), ("+1408XXXXXXX", "14085550100", False),
    ("x12", "512", True),                                      # lower-case x is X
])
def test_patterns_match_as_control_hub_describes(pattern, dialled, matches):
    assert bool(re.search(pattern_regex(pattern), dialled)) is matches


@pytest.mark.parametrize("matching, replacement, dialled, result", [
    ("7XXX", "+14155550XXX", "7123", "+14155550123"),
    ("9011!", "+!", "9011442071234567", "+442071234567"),
    ("5000", "1002", "5000", "1002"),
    ("8XX55XX", "+468XX00XX", "8125567", "+46812" "0067"),
    ("7XXX", "1000", "7999", "1000"),                         # fewer groups than the matching pattern: dropped
])
def test_replacements_take_the_matching_groups_in_order(matching, replacement, dialled, result):
    assert apply_replacement(pattern_regex(matching), replacement_template(matching, replacement), dialled) == result


@pytest.mark.parametrize("matching, replacement, message", [
    ("7XX", "+1XXX", "Group 1 of the replacement pattern is 'XXX' but the matching pattern's group 1 is 'XX'"),
    ("7XX", "+1XX5XX", "has 2 group(s) of X or ! but the matching pattern only 1"),
    ("7!", "+1XX", "Group 1 of the replacement pattern is 'XX' but the matching pattern's group 1 is '!'"),
    ("7*9", "1", "not '*'"),
    ("7+9", "1", "A + may only start a matching pattern"),
    ("7!9", "1", "! may only end a matching pattern"),
    ("", "1", "Enter a matching pattern"),
    ("+", "1", "needs at least one digit, X or !"),
    ("7" * 33, "1", "at most 32 characters"),
    ("X1X1X1X1X1X1X1X1X1X1", "1", "at most 9 separate groups"),
])
def test_bad_patterns_are_refused_with_the_reason(matching, replacement, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        pattern_regex(matching)
        replacement_template(matching, replacement)


def test_dial_patterns_are_e164_shaped():
    assert re.search(dial_pattern_regex("+1212555XXXX"), "+12125550100")
    for bad in ("2125550100", "+0123", "+X12"):
        with pytest.raises(ValueError, match="starts with \\+ and a country code"):
            dial_pattern_regex(bad)


def test_most_specific_pattern_sorts_first():
    patterns = ["+1!", "+1212555XXXX", "+12125550100", "+1212!"]
    assert sorted(patterns, key=specificity) == ["+12125550100", "+1212555XXXX", "+1212!", "+1!"]


@pytest.mark.parametrize("country, main, number, call_type", [
    ("US", "+14085550100", "+18005550100", "TOLL_FREE"),
    ("US", "+14085550100", "+19005550100", "PREMIUM_SERVICES_I"),
    ("US", "+14085550100", "+14085551234", "LOCAL"),
    ("US", "+14085550100", "+12125551234", "NATIONAL"),
    ("US", None, "+14085551234", "NATIONAL"),                 # no main number: nothing is local
    ("US", "+14085550100", "+442071234567", "INTERNATIONAL"),
    ("SE", "+46812345678", "+46201234567", "TOLL_FREE"),
    ("SE", "+46812345678", "+46900123456", "PREMIUM_SERVICES_I"),
    ("SE", "+46812345678", "+46812345670", "LOCAL"),
    ("SE", "+46812345678", "+46311234567", "NATIONAL"),
    ("SE", "+46812345678", "+46701234567", "NATIONAL"),      # mobile: not in the Stockholm area
    ("SE", "+46812345678", "+14085550100", "INTERNATIONAL"),
    ("GB", "+442071234567", "+448001234567", "TOLL_FREE"),
    ("GB", "+442071234567", "+442079460000", "LOCAL"),
])
def test_call_types_from_a_location(country, main, number, call_type):
    assert classify(call_type_rules(country, main), number) == call_type


def test_area_code_of_a_main_number():
    assert area_code("+14085550100") == "408"
    assert area_code("+46812345678") == "8"
    assert area_code("+46701234567") is None                   # a mobile number has no area
    assert area_code(None) is None and area_code("garbage") is None
