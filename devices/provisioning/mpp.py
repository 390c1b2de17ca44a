"""Cisco MPP (3PCC) flat-profile XML: the per-model bootstrap file and the per-device `<mac>.xml`.

Parameter names and the request chain are in `reference/mpp-provisioning.md`. Everything is built with lxml, so
every value is escaped; the device file is the *whole* desired state of the phone (unused ports are written as
disabled with empty credentials), because a parameter left out keeps whatever value the phone had before.

Time zone: `Time_Zone` is the standard offset (`GMT±hh:mm`) and DST is written as a Cisco rule
(`Daylight_Saving_Time_Rule`), both taken from the POSIX rule at the end of the zone's TZif file — the tz
database's own description of the zone's current rule, found on the same search path `zoneinfo` uses. Zones whose
rule Cisco's format cannot express (today only Africa/Cairo: "the day after the last Thursday") and zones without
a readable rule get the standard offset with DST disabled.
"""
import logging
import os
import re
import zoneinfo
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from importlib import resources

from django.conf import settings
from django.db.models import Prefetch, QuerySet
from lxml import etree

from devices.models import Device, DeviceLine, LineType, SupportedDevice

logger = logging.getLogger(__name__)

# Resync timing. The random delay spreads a site's boot storm; SIP NOTIFY check-sync makes changes immediate,
# the periodic resync is the safety net.
RESYNC_PERIODIC = 3600
RESYNC_RANDOM_DELAY = 600
RESYNC_ERROR_RETRY_DELAY = 600
FORCED_RESYNC_DELAY = 14400
REGISTER_EXPIRES = 600  # the engine accepts 30–3600 s
DEFAULT_NTP_SERVERS = ("0.pool.ntp.org", "1.pool.ntp.org")

# Characters XML 1.0 cannot carry at all (lxml refuses them); they never belong in a name on a phone screen.
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def bootstrap_filename(model: SupportedDevice) -> str:
    """The model file a factory-fresh phone asks for, e.g. `8851-3PCC.xml`."""
    return f"{model.product_code}-3PCC.xml"


def device_filename(device: Device) -> str:
    """The device file (`$MA.xml`): the MAC as 12 lowercase hex digits, e.g. `00562b043615.xml`."""
    return f"{device.mac}.xml"


def with_render_relations(queryset: QuerySet) -> QuerySet:
    """Load everything `render_device_config` reads in two queries, however many devices and lines.

    Bulk pushes render from `with_render_relations(Device.objects.filter(...))` batch by batch.
    """
    appearances = DeviceLine.objects.select_related("line__person", "line__workspace", "line__number")
    return queryset.select_related("organization", "model", "location", "person", "workspace").prefetch_related(
        Prefetch("lines", queryset=appearances.order_by("port")))


def render_device_config(device: Device, *, proxy: str | None = None, outbound_proxy: str | None = None,
                         profile_rule: str | None = None) -> str:
    """Render the device file `<mac>.xml`: station settings, time zone, resync, and one block per line port.

    Each port with an appearance registers the line's SIP user (`User_ID_n_`) with that appearance's own digest
    credentials (`Auth_ID_n_`, `Password_n_`); ports up to the model's `line_ports` without one are disabled with
    their credentials cleared. `proxy` replaces the organisation's SIP domain as proxy/registrar (e.g.
    `127.0.0.1:5060` in tests); `outbound_proxy` is where the phone sends its requests (the engine), if set.
    `profile_rule` (per-device HTTP auth: `[--uid … --pwd …]<base>/$MA.xml`) becomes the phone's only rule, so
    every later resync fetches this file with the credentials — also after a first fetch without them.
    Costs two queries unless the device comes from `with_render_relations`.
    """
    if "lines" not in getattr(device, "_prefetched_objects_cache", {}):
        device = with_render_relations(Device.objects.filter(pk=device.pk)).get()
    owner = device.person or device.workspace
    appearances = {a.port: a for a in device.lines.all()}

    root = etree.Element("flat-profile")
    _resync_settings(root)
    if profile_rule:
        # One rule, FusionPBX style: the public bootstrap file would otherwise reset Profile_Rule_B to a URL
        # without the credentials on the next resync.
        _param(root, "Profile_Rule", profile_rule)
        for rule in ("Profile_Rule_B", "Profile_Rule_C", "Profile_Rule_D"):
            _param(root, rule, "")
    _param(root, "Station_Display_Name", owner.display_name if owner else "")
    _time_zone_settings(root, device.location.time_zone)
    ntp = tuple(getattr(settings, "PROVISIONING_NTP_SERVERS", DEFAULT_NTP_SERVERS)) + ("", "")
    _param(root, "Primary_NTP_Server", ntp[0])
    _param(root, "Secondary_NTP_Server", ntp[1])

    registrar = proxy or device.organization.sip_domain
    ports = device.model.line_ports
    for n in range(1, ports + 1):
        appearance = appearances.get(n)
        if appearance is None:
            _disabled_line(root, n)
        else:
            _line(root, n, appearance, registrar, outbound_proxy)
    for k in range(1, min(device.model.line_key_buttons, ports) + 1):
        _line_key(root, k, appearances.get(k))
    return _serialise(root)


def render_bootstrap(model: SupportedDevice, base_url: str) -> str:
    """Render the model file `<model>-3PCC.xml`, served without authentication: it must never hold a secret.

    `Profile_Rule` keeps the phone on this file (whichever way it first found it: DHCP, web UI, staging) and
    `Profile_Rule_B` sends it on to its device file `<base_url>/$MA.xml` on every resync; `_C`/`_D` are cleared.
    `base_url` includes the organisation's URL key, e.g. `https://prov.example.com/<key>`.
    """
    base = base_url.rstrip("/")
    root = etree.Element("flat-profile")
    _resync_settings(root)
    _param(root, "Profile_Rule", f"{base}/{bootstrap_filename(model)}")
    _param(root, "Profile_Rule_B", f"{base}/$MA.xml")
    _param(root, "Profile_Rule_C", "")
    _param(root, "Profile_Rule_D", "")
    return _serialise(root)


# --------------------------------------------------------------------------------------------- building blocks


def _param(parent: etree._Element, name: str, value: str | int) -> None:
    element = etree.SubElement(parent, name, ua="na")
    text = _XML_INVALID.sub("", str(value))
    if text:
        element.text = text


def _serialise(root: etree._Element) -> str:
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True).decode("utf-8")


def _resync_settings(root: etree._Element) -> None:
    _param(root, "Provision_Enable", "Yes")
    _param(root, "Resync_On_Reset", "Yes")
    _param(root, "Resync_Periodic", RESYNC_PERIODIC)
    _param(root, "Resync_Random_Delay", RESYNC_RANDOM_DELAY)
    _param(root, "Resync_Error_Retry_Delay", RESYNC_ERROR_RETRY_DELAY)
    _param(root, "Forced_Resync_Delay", FORCED_RESYNC_DELAY)
    _param(root, "Resync_After_Upgrade_Attempt", "Yes")
    _param(root, "Resync_From_SIP", "Yes")


def _line(root: etree._Element, n: int, appearance: DeviceLine, registrar: str, outbound_proxy: str | None) -> None:
    line = appearance.line
    owner = line.person or line.workspace
    _param(root, f"Line_Enable_{n}_", "Yes")
    _param(root, f"Share_Ext_{n}_", _sharing(appearance))
    _param(root, f"Proxy_{n}_", registrar)
    _param(root, f"Outbound_Proxy_{n}_", outbound_proxy or "")
    _param(root, f"Use_OB_Proxy_In_Dialog_{n}_", "Yes" if outbound_proxy else "No")
    _param(root, f"Register_{n}_", "Yes")
    _param(root, f"Register_Expires_{n}_", REGISTER_EXPIRES)
    _param(root, f"Display_Name_{n}_", owner.display_name if owner else "")
    _param(root, f"User_ID_{n}_", line.sip_user)
    _param(root, f"Auth_ID_{n}_", appearance.auth_id)
    _param(root, f"Use_Auth_ID_{n}_", "Yes")
    _param(root, f"Password_{n}_", appearance.auth_password)
    _param(root, f"DTMF_Tx_Method_{n}_", "Auto")


def _disabled_line(root: etree._Element, n: int) -> None:
    # Cleared, not omitted: a removed appearance's credentials must not stay on the phone.
    _param(root, f"Line_Enable_{n}_", "No")
    _param(root, f"Share_Ext_{n}_", "private")
    _param(root, f"Proxy_{n}_", "")
    _param(root, f"Register_{n}_", "No")
    _param(root, f"Display_Name_{n}_", "")
    _param(root, f"User_ID_{n}_", "")
    _param(root, f"Auth_ID_{n}_", "")
    _param(root, f"Use_Auth_ID_{n}_", "No")
    _param(root, f"Password_{n}_", "")


def _line_key(root: etree._Element, k: int, appearance: DeviceLine | None) -> None:
    """Line key k shows line k; a key without a line is blanked (no leftover label or function)."""
    if appearance is None:
        _param(root, f"Extension_{k}_", "Disabled")
        _param(root, f"Short_Name_{k}_", "")
    else:
        line = appearance.line
        owner = line.person or line.workspace
        label = (appearance.line_label or line.extension or (line.number.e164 if line.number else "")
                 or (owner.display_name if owner else ""))
        _param(root, f"Extension_{k}_", k)
        _param(root, f"Short_Name_{k}_", label)
        _param(root, f"Share_Call_Appearance_{k}_", _sharing(appearance))
    _param(root, f"Extended_Function_{k}_", "")


def _sharing(appearance: DeviceLine) -> str:
    return "shared" if appearance.line_type == LineType.SHARED_CALL_APPEARANCE else "private"


def _time_zone_settings(root: etree._Element, zone: str) -> None:
    tz = cisco_time_zone(zone)
    _param(root, "Time_Zone", tz.time_zone)
    _param(root, "Daylight_Saving_Time_Enable", "Yes" if tz.dst_rule else "No")
    _param(root, "Daylight_Saving_Time_Rule", tz.dst_rule or "")


# --------------------------------------------------------------------------------------------- time zones


@dataclass(frozen=True)
class CiscoTimeZone:
    time_zone: str        # "GMT-08:00": the standard (winter) offset
    dst_rule: str | None  # "start=3/8/7/02:00:00;end=11/1/7/02:00:00;save=1:00:00", None without DST


_OFFSET = r"[+-]?\d{1,3}(?::\d{1,2}){0,2}"
_NAME = r"(?:<[^>]*>|[A-Za-z]{3,})"
_POSIX_TZ = re.compile(rf"^{_NAME}(?P<std>{_OFFSET})(?:{_NAME}(?P<dst>{_OFFSET})?,(?P<start>[^,]+),(?P<end>[^,]+))?$")
_POSIX_DATE = re.compile(rf"^M(?P<month>\d{{1,2}})\.(?P<week>[1-5])\.(?P<weekday>[0-6])(?:/(?P<time>{_OFFSET}))?$")


@cache
def cisco_time_zone(zone: str) -> CiscoTimeZone:
    """`Time_Zone` and DST rule for an IANA zone name (see the module docstring for how and the fallback)."""
    footer = _posix_rule(zone)
    match = _POSIX_TZ.match(footer or "")
    if match:
        std = -_seconds(match["std"])  # POSIX offsets count west of Greenwich as positive
        if not match["start"]:
            return CiscoTimeZone(_gmt(std), None)
        dst = -_seconds(match["dst"]) if match["dst"] else std + 3600
        start, end = match["start"], match["end"]
        if dst < std:  # "negative DST" (Europe/Dublin): the tz rule's winter is Cisco's standard time
            std, dst, start, end = dst, std, end, start
        rule_start, rule_end = _cisco_date(start), _cisco_date(end)
        if rule_start and rule_end:
            return CiscoTimeZone(_gmt(std), f"start={rule_start};end={rule_end};save={_hms(dst - std, pad=False)}")
    logger.info("No Cisco DST rule for time zone %s (rule %r); writing its standard offset only", zone, footer)
    return CiscoTimeZone(_gmt(_standard_offset(zone)), None)


def _posix_rule(zone: str) -> str | None:
    """The POSIX TZ string that ends a TZif (version 2+) file, from the paths `zoneinfo` searches."""
    try:
        zoneinfo.ZoneInfo(zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return None
    data = None
    for base in zoneinfo.TZPATH:
        path = os.path.join(base, zone)
        if os.path.isfile(path):
            with open(path, "rb") as f:
                data = f.read()
            break
    else:
        try:
            data = resources.files("tzdata.zoneinfo").joinpath(*zone.split("/")).read_bytes()
        except (ModuleNotFoundError, FileNotFoundError, OSError):
            return None
    if not data.startswith(b"TZif") or data[4:5] < b"2":
        return None
    return data.rstrip(b"\n").rsplit(b"\n", 1)[-1].decode("ascii", "replace")


def _standard_offset(zone: str) -> int:
    try:
        tz = zoneinfo.ZoneInfo(zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return 0
    now = datetime.now(UTC).astimezone(tz)
    return int((now.utcoffset() - (now.dst() or timedelta())).total_seconds())


def _cisco_date(posix: str) -> str | None:
    """POSIX `Mm.w.d[/time]` → Cisco `month/day/weekday/hh:mm:ss` (weekday 1=Monday … 7=Sunday).

    Cisco reads a positive day with a weekday as "that weekday on or after the day" and a negative one as "on or
    before the day counted from the month's end". POSIX times outside 0–24 h (Israel's `/26`) move the day and
    weekday together, which stays exact while the day stays inside the month.
    """
    match = _POSIX_DATE.match(posix)
    if not match:
        return None
    week, weekday = int(match["week"]), int(match["weekday"])
    day = -1 if week == 5 else (week - 1) * 7 + 1
    seconds = _seconds(match["time"]) if match["time"] else 7200
    shift, seconds = divmod(seconds, 86400)
    day, weekday = day + shift, (weekday + shift) % 7
    if day == 0 or (week == 5 and day > 0) or (week < 5 and day < 1):
        return None
    return f"{int(match['month'])}/{day}/{weekday or 7}/{_hms(seconds)}"


def _seconds(text: str) -> int:
    sign = -1 if text.startswith("-") else 1
    parts = [int(p) for p in text.lstrip("+-").split(":")] + [0, 0]
    return sign * (parts[0] * 3600 + parts[1] * 60 + parts[2])


def _hms(seconds: int, pad: bool = True) -> str:
    h, rest = divmod(seconds, 3600)
    return f"{h:02d}:{rest // 60:02d}:{rest % 60:02d}" if pad else f"{h}:{rest // 60:02d}:{rest % 60:02d}"


def _gmt(seconds: int) -> str:
    sign = "-" if seconds < 0 else "+"
    h, rest = divmod(abs(seconds), 3600)
    return f"GMT{sign}{h:02d}:{rest // 60:02d}"
