"""Pure parts of the MPP renderer: Cisco time zones from IANA zones, the bootstrap file, the family registry."""
import pytest
from lxml import etree

from devices.models import SupportedDevice
from devices.provisioning import mpp, render_bootstrap, renderer_for
from devices.provisioning.mpp import CiscoTimeZone, cisco_time_zone


@pytest.mark.parametrize("zone,expected", [
    ("America/Los_Angeles", CiscoTimeZone("GMT-08:00", "start=3/8/7/02:00:00;end=11/1/7/02:00:00;save=1:00:00")),
    ("America/St_Johns", CiscoTimeZone("GMT-03:30", "start=3/8/7/02:00:00;end=11/1/7/02:00:00;save=1:00:00")),
    ("Europe/Stockholm", CiscoTimeZone("GMT+01:00", "start=3/-1/7/02:00:00;end=10/-1/7/03:00:00;save=1:00:00")),
    # tzdata writes Irish time as "negative DST"; phones get the ordinary summer-time form, same as London.
    ("Europe/Dublin", CiscoTimeZone("GMT+00:00", "start=3/-1/7/01:00:00;end=10/-1/7/02:00:00;save=1:00:00")),
    ("Australia/Sydney", CiscoTimeZone("GMT+10:00", "start=10/1/7/02:00:00;end=4/1/7/03:00:00;save=1:00:00")),
    ("Australia/Lord_Howe", CiscoTimeZone("GMT+10:30", "start=10/1/7/02:00:00;end=4/1/7/02:00:00;save=0:30:00")),
    # POSIX "4th Thursday at 26:00" is "the Friday on or after the 23rd at 02:00".
    ("Asia/Jerusalem", CiscoTimeZone("GMT+02:00", "start=3/23/5/02:00:00;end=10/-1/7/02:00:00;save=1:00:00")),
    ("Asia/Kolkata", CiscoTimeZone("GMT+05:30", None)),
    ("Asia/Kathmandu", CiscoTimeZone("GMT+05:45", None)),
    ("UTC", CiscoTimeZone("GMT+00:00", None)),
    # "The day after the last Thursday" has no Cisco form: standard offset only.
    ("Africa/Cairo", CiscoTimeZone("GMT+02:00", None)),
    ("Not/A_Zone", CiscoTimeZone("GMT+00:00", None)),
])
def test_cisco_time_zone_from_iana_zone(zone, expected):
    assert cisco_time_zone(zone) == expected


def _model(**kw) -> SupportedDevice:
    defaults = dict(model="DMS Cisco 8851", display_name="Cisco 8851", product_code="8851",
                    family="Cisco 8800 Series", line_ports=10, line_key_buttons=5)
    return SupportedDevice(**{**defaults, **kw})


def _params(xml: str) -> dict[str, str]:
    root = etree.fromstring(xml.encode())
    assert root.tag == "flat-profile"
    return {el.tag: el.text or "" for el in root}


def test_bootstrap_points_at_the_device_file_and_holds_no_secret():
    xml = render_bootstrap(_model(), "https://prov.example.com/k3y-Org/")
    params = _params(xml)
    assert params["Profile_Rule"] == "https://prov.example.com/k3y-Org/8851-3PCC.xml"
    assert params["Profile_Rule_B"] == "https://prov.example.com/k3y-Org/$MA.xml"
    assert params["Profile_Rule_C"] == params["Profile_Rule_D"] == ""
    assert params["Resync_On_Reset"] == "Yes" and int(params["Resync_Periodic"]) > 0
    assert params["Resync_From_SIP"] == "Yes"
    assert not any("Password" in name or "Auth_ID" in name or "User_ID" in name for name in params)
    assert "--pwd" not in xml and "--uid" not in xml
    assert all(el.get("ua") == "na" for el in etree.fromstring(xml.encode()))


def test_filenames_follow_the_mpp_chain():
    assert mpp.bootstrap_filename(_model(product_code="7841")) == "7841-3PCC.xml"


def test_renderer_registry_picks_the_family_and_refuses_unknown_ones():
    assert renderer_for(_model()) is mpp
    with pytest.raises(LookupError):
        renderer_for(_model(family="Yealink T5 Series"))
