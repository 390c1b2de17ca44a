import pytest
from django.core.exceptions import ValidationError

from calling.validators import normalize_number, number_range
from devices.validators import normalize_mac


@pytest.mark.parametrize("raw,country,expected", [
    ("+1 408 555 0100", "US", "+14085550100"),
    ("(408) 555-0100", "US", "+14085550100"),
    ("08-555 010 00", "SE", "+46855501000"),
    ("+46 8 555 010 00", "US", "+46855501000"),
])
def test_numbers_normalise_to_e164(raw, country, expected):
    assert normalize_number(raw, country) == expected


@pytest.mark.parametrize("raw", ["", "hello", "+1 408", "+1 000 555 0100", "14085550100x", "+999 123456"])
def test_invalid_numbers_are_refused(raw):
    with pytest.raises(ValidationError):
        normalize_number(raw, "US")


def test_number_range_expands_inclusively_and_refuses_reversed():
    assert number_range("+14085550100", "+14085550102", "US") == ["+14085550100", "+14085550101", "+14085550102"]
    with pytest.raises(ValidationError):
        number_range("+14085550102", "+14085550100", "US")


@pytest.mark.parametrize("raw", ["00:1A:2B:3C:4D:5E", "00-1a-2b-3c-4d-5e", "001a.2b3c.4d5e", "001A2B3C4D5E",
                                 " 00:1a:2b:3c:4d:5e "])
def test_macs_normalise(raw):
    assert normalize_mac(raw) == "001a2b3c4d5e"


@pytest.mark.parametrize("raw", ["", "00:00:00:00:00:00", "ff:ff:ff:ff:ff:ff", "01:00:5e:00:00:01", "xyz",
                                 "00:1a:2b:3c:4d", "00:1a:2b:3c:4d:5e:6f", "12"])
def test_bad_macs_are_refused(raw):
    with pytest.raises(ValidationError):
        normalize_mac(raw)
