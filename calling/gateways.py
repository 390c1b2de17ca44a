"""What an administrator needs to bring a local gateway (Cisco CUBE) up: the parameters Control Hub shows for a
trunk, a ready-to-paste IOS-XE configuration, and whether the gateway is registered with the call engine.

Registration is never asked of the engine inside a web request: a beat task (`refresh_trunk_registrations`,
every `TRUNK_REGISTRATION_INTERVAL` seconds) looks every registering trunk up and keeps the answer in Redis
(`trunk:registration:<id>`: registered contact and when it was checked); pages and the API read that.

The CUBE configuration follows Cisco's "Configure Local Gateway on Cisco IOS XE for Webex Calling" guide: a
`voice class tenant` that registers the trunk's line/port with the registrar (our call engine) and points calls
at the outbound proxy, plus the dial-peers that join it to the PSTN side. The PSTN side (the ITSP's address,
dial-peer 200201 …) is site-specific and left as placeholders the administrator fills in.
"""
from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass

from celery import shared_task
from django.conf import settings

from .models import Trunk, TrunkType

log = logging.getLogger(__name__)

ONLINE, OFFLINE, UNKNOWN = "online", "offline", "unknown"


@dataclass(frozen=True)
class CubeParameters:
    registrar_domain: str
    line_port: str
    otg_dtg: str
    outbound_proxy: str
    username: str
    password: str


def outbound_proxy() -> str:
    return getattr(settings, "PROVISIONING_OUTBOUND_PROXY", "") or settings.ENGINE_SIP_ADDRESS


def cube_parameters(trunk: Trunk) -> CubeParameters:
    return CubeParameters(registrar_domain=trunk.organization.sip_domain, line_port=trunk.line_port,
                          otg_dtg=trunk.otg_dtg_id, outbound_proxy=outbound_proxy(),
                          username=trunk.sip_username, password=trunk.password)


def _proxy_host_port(proxy: str) -> tuple[str, int]:
    host, _, port = proxy.rpartition(":")
    if not host or not port.isdigit():
        return proxy, 5060
    return host.strip("[]"), int(port)


def cube_config(trunk: Trunk) -> str:
    """A ready-to-paste IOS-XE snippet for the trunk, credentials filled in."""
    p = cube_parameters(trunk)
    proxy_host, proxy_port = _proxy_host_port(p.outbound_proxy)
    tenant = 100
    if trunk.is_registering:
        tenant_block = f"""\
voice class tenant {tenant}
 registrar dns:{p.registrar_domain} scheme sip expires 240 refresh-ratio 50 udp
 credentials number {p.username} username {p.username} password 0 {p.password} realm {p.registrar_domain}
 authentication username {p.username} password 0 {p.password} realm {p.registrar_domain}
 no remote-party-id
 sip-server ipv4:{proxy_host}:{proxy_port}
 connection-reuse
 session transport udp
 error-passthru
 asserted-id pai
 bind control source-interface GigabitEthernet1
 bind media source-interface GigabitEthernet1
 no pass-thru content custom-sdp
 outbound-proxy ipv4:{proxy_host}:{proxy_port}
 privacy-policy passthru
!"""
    else:
        tenant_block = f"""\
voice class tenant {tenant}
 ! certificate-based trunk: the engine trusts {trunk.address}:{trunk.port} ({trunk.transport.upper()})
 no remote-party-id
 sip-server ipv4:{proxy_host}:{proxy_port}
 session transport {"tcp tls" if trunk.transport == "tls" else trunk.transport}
 error-passthru
 asserted-id pai
 bind control source-interface GigabitEthernet1
 bind media source-interface GigabitEthernet1
 privacy-policy passthru
!"""
    return f"""\
! Local gateway "{trunk.name}" ({trunk.get_trunk_type_display()}), organization {trunk.organization}
! Registrar domain {p.registrar_domain}, line/port {p.line_port}, OTG/DTG {p.otg_dtg}, outbound proxy {p.outbound_proxy}
voice service voip
 ip address trusted list
  ipv4 {proxy_host} 255.255.255.255
 allow-connections sip to sip
 no supplementary-service sip refer
 sip
  early-offer forced
  asymmetric payload full
!
voice class codec 100
 codec preference 1 g711ulaw
 codec preference 2 g711alaw
!
voice class uri 100 sip
 pattern dtg={p.otg_dtg}
!
voice class uri 200 sip
 ! the ITSP's signalling address
 host ipv4:<ITSP-IP-address>
!
voice class dpg 100
 description Incoming Webex Calling (DP100) to ITSP (DP200201)
 dial-peer 200201
!
voice class dpg 200
 description Incoming ITSP (DP200) to Webex Calling (DP100)
 dial-peer 100
!
{tenant_block}
dial-peer voice 100 voip
 description Inbound/outbound to Webex Calling ({trunk.name})
 max-conn {trunk.max_concurrent_calls}
 destination-pattern BAD.BAD
 session protocol sipv2
 session target sip-server
 incoming uri request 100
 destination dpg 100
 voice-class codec 100
 voice-class sip tenant {tenant}
 dtmf-relay rtp-nte
 no vad
!
dial-peer voice 200201 voip
 description Outbound to the ITSP
 destination-pattern BAD.BAD
 session protocol sipv2
 session target ipv4:<ITSP-IP-address>
 voice-class codec 100
 dtmf-relay rtp-nte
 no vad
!
dial-peer voice 200 voip
 description Inbound from the ITSP
 session protocol sipv2
 incoming uri via 200
 destination dpg 200
 voice-class codec 100
 dtmf-relay rtp-nte
 no vad
!
"""


class TrunkStatus(str):
    """online / offline / unknown (compares and serialises as that string), with what the last check found:
    `contact` (the registered contact, if any) and `checked_at` (Unix time; None when never checked)."""

    contact: str = ""
    checked_at: float | None = None

    def __new__(cls, value: str, contact: str = "", checked_at: float | None = None):
        status = super().__new__(cls, value)
        status.contact, status.checked_at = contact, checked_at
        return status

    @property
    def checked_seconds_ago(self) -> int | None:
        return None if self.checked_at is None else max(0, int(time.time() - self.checked_at))


REDIS_PREFIX = "trunk:registration:"


def _interval() -> float:
    return float(getattr(settings, "TRUNK_REGISTRATION_INTERVAL", 30))


def _redis():
    import redis

    return redis.Redis.from_url(settings.REDIS_URL, socket_timeout=1, socket_connect_timeout=1)


def trunk_status(trunk: Trunk) -> TrunkStatus:
    """Whether a registering trunk was registered at the last check (`refresh_trunk_registrations`); unknown for
    a certificate-based trunk (the engine does not probe gateways), when no check has run for three intervals,
    or when the last check could not ask the engine. Reads Redis only: no call to the engine."""
    if not trunk.is_registering:
        return TrunkStatus(UNKNOWN)
    try:
        raw = _redis().get(f"{REDIS_PREFIX}{trunk.pk}")
    except Exception as exc:  # noqa: BLE001 - no Redis (embedded mode): the state is simply unknown
        log.info("registration of trunk %s unknown: %s", trunk.pk, exc)
        return TrunkStatus(UNKNOWN)
    if not raw:
        return TrunkStatus(UNKNOWN)
    data = json.loads(raw)
    return TrunkStatus(data["status"], data.get("contact", ""), data.get("checkedAt"))


def refresh_trunk_registrations() -> dict[str, int]:
    """Look every registering trunk up on the engine and store the answer; returns counts per status."""
    from .engine import EngineError, get_engine

    engine = get_engine()
    lookup = getattr(engine, "contacts", None)
    counts = {ONLINE: 0, OFFLINE: 0, UNKNOWN: 0}
    trunks = Trunk.objects.filter(trunk_type=TrunkType.REGISTERING).select_related("organization").order_by("pk")
    pipe = _redis().pipeline(transaction=False)
    ttl = max(60, int(3 * _interval()))   # a check that stops running turns into "unknown", never a stale answer
    for trunk in trunks.iterator(chunk_size=500):
        contacts: list[str] = []
        status = UNKNOWN
        if engine.configured and lookup is not None:
            try:
                contacts = lookup(trunk.sip_username, trunk.organization.sip_domain)
                status = ONLINE if contacts else OFFLINE
            except (EngineError, OSError) as exc:
                log.info("registration of trunk %s unknown: %s", trunk.pk, exc)
        counts[status] += 1
        pipe.set(f"{REDIS_PREFIX}{trunk.pk}", json.dumps(
            {"status": status, "contact": contacts[0] if contacts else "", "checkedAt": time.time()}), ex=ttl)
    pipe.execute()
    return counts


@shared_task(name="calling.refresh_trunk_registrations", ignore_result=True)
def refresh_trunk_registrations_task() -> dict[str, int]:
    """Beat (CELERY_BEAT_SCHEDULE["refresh-trunk-registrations"])."""
    return refresh_trunk_registrations()
