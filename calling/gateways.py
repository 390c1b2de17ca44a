"""What an administrator needs to bring a local gateway (Cisco CUBE) up: the parameters Control Hub shows for a
trunk, a ready-to-paste IOS-XE configuration, and whether the gateway is registered with the call engine now.

The CUBE configuration follows Cisco's "Configure Local Gateway on Cisco IOS XE for Webex Calling" guide: a
`voice class tenant` that registers the trunk's line/port with the registrar (our call engine) and points calls
at the outbound proxy, plus the dial-peers that join it to the PSTN side. The PSTN side (the ITSP's address,
dial-peer 200201 …) is site-specific and left as placeholders the administrator fills in.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

from django.conf import settings

from .models import Trunk

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


def trunk_status(trunk: Trunk) -> str:
    """online/offline for a registering trunk (its AOR has a registered contact or not); unknown for a
    certificate-based trunk (the engine does not probe gateways) or when the engine cannot be asked."""
    if not trunk.is_registering:
        return UNKNOWN
    from .engine import EngineError, get_engine

    engine = get_engine()
    check = getattr(engine, "trunk_registered", None)
    if not engine.configured or check is None:
        return UNKNOWN
    try:
        return ONLINE if check(trunk.sip_username, trunk.organization.sip_domain) else OFFLINE
    except (EngineError, OSError) as exc:
        log.info("registration of trunk %s unknown: %s", trunk.pk, exc)
        return UNKNOWN
