"""What the call engine should hold for one organisation, rendered from controlhub's database.

`render()` and `dialplan_rules()` are pure (plain values in, rows out) so they are unit-tested without a database
or an engine; `desired_state(organization_id)` only reads the ORM and calls `render()`. The rows are
engine-neutral; calling/engine/kamailio.py maps them onto Kamailio's tables (deploy/kamailio-schema.sql):

- one **credential** per device appearance of a line: auth ID, digest hashes for the organisation's SIP domain
  (the realm), and the line (AOR user part) that auth ID may register and call as;
- one **line** per Line: its AOR (opaque sip_user @ SIP domain) and the location whose dial plan and gateway its
  calls use;
- **routes** inside the organisation: extension, ESN (the location's routing prefix + extension) and +E.164
  number (active numbers only) -> line;
- per **location**: country, routing prefix, outside dial digit, and dial-plan rules that normalise what its
  users dial to +E.164;
- per location with a PSTN connection: its **gateways** in priority order (the trunk, or a route group's trunks).
  A certificate-based trunk is a SIP URI (address:port;transport); a registering trunk is its AOR, which the
  adapter resolves to the gateway's registered contact. A registering trunk also gets a credential and a line
  (its `sip_username`) so it can register with the generated password.
"""
from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass, field

from phonenumbers import PhoneMetadata

from calling.dialplan import (
    apply_replacement,
    call_type_rules,
    dial_pattern_regex,
    pattern_regex,
    replacement_template,
    specificity,
)

log = logging.getLogger(__name__)

# Route kinds (ch_route.kind); only NUMBER routes are reachable from a gateway.
EXTENSION, ESN, NUMBER = "extension", "esn", "number"
_KIND_ORDER = {EXTENSION: 0, ESN: 1, NUMBER: 2}


# --------------------------------------------------------------------------------------------- inputs


@dataclass(frozen=True)
class LocationInfo:
    key: str                              # controlhub Location id
    country: str                          # ISO 3166 alpha-2
    routing_prefix: str | None = None
    outside_dial_digit: str | None = None
    main_number: str | None = None        # +E.164; its area code makes calls "local"
    blocked: frozenset[str] = frozenset()  # call types its users may not call (class of service)


@dataclass(frozen=True)
class LineInfo:
    sip_user: str
    location_key: str
    extension: str | None = None
    e164: str | None = None               # the line's number, when it is active
    blocked: frozenset[str] | None = None  # its owner's own class of service; None: the location's


@dataclass(frozen=True)
class TranslationInfo:
    """A translation pattern; `location_key` None for the organisation's."""

    key: str
    matching: str
    replacement: str
    location_key: str | None = None
    name: str = ""


@dataclass(frozen=True)
class DialPlanInfo:
    """A premises dial plan: calls to +E.164 numbers matching `patterns` go to `trunk_keys` by priority."""

    key: str
    name: str
    trunk_keys: tuple[str, ...]
    patterns: tuple[str, ...]


@dataclass(frozen=True)
class AppearanceInfo:
    auth_id: str
    password: str
    line_user: str                        # the sip_user of the line this appearance carries


# --------------------------------------------------------------------------------------------- rows


@dataclass(frozen=True)
class CredentialRow:
    auth_id: str
    domain: str
    ha1: str                              # md5(auth_id:realm:password), realm = domain
    ha1b: str                             # md5(auth_id@domain:realm:password)
    line_user: str


@dataclass(frozen=True)
class LineRow:
    line_user: str
    domain: str
    location_key: str
    policy: str = ""                      # the class of service its calls are checked against (BlockRow.policy)


@dataclass(frozen=True)
class BlockRow:
    """A call type that callers under `policy` ("location:<key>" or "line:<sip user>") may not call."""

    policy: str
    call_type: str


@dataclass(frozen=True)
class RouteRow:
    domain: str
    dial_key: str
    line_user: str
    kind: str


@dataclass(frozen=True)
class LocationRow:
    location_key: str
    domain: str
    country: str
    routing_prefix: str
    outside_dial_digit: str


@dataclass(frozen=True)
class DialplanRule:
    """A regex rule: the first matching rule (lowest `pr`) rewrites the whole dialled string to `repl`."""

    pr: int
    match: str
    repl: str
    attrs: str


@dataclass(frozen=True)
class GatewayRow:
    """One gateway of a location: `uri` for certificate-based trunks, `aor_user` (registered contact) otherwise."""

    trunk_key: str
    uri: str | None = None
    aor_user: str | None = None


@dataclass(frozen=True)
class TrunkInfo:
    key: str
    location_key: str
    registering: bool
    sip_username: str = ""
    password: str = ""
    address: str = ""
    port: int | None = None
    transport: str = "tls"


@dataclass
class DesiredState:
    org_key: str
    domain: str
    locations: list[LocationRow] = field(default_factory=list)
    lines: list[LineRow] = field(default_factory=list)
    routes: list[RouteRow] = field(default_factory=list)
    credentials: list[CredentialRow] = field(default_factory=list)
    dialplans: dict[str, list[DialplanRule]] = field(default_factory=dict)   # location key -> rules
    gateways: dict[str, list[GatewayRow]] = field(default_factory=dict)      # location key -> by priority
    # location key -> translation patterns (location's first, then the organisation's), as dialplan rules
    translations: dict[str, list[DialplanRule]] = field(default_factory=dict)
    # location key -> rules classifying a +E.164 destination; attrs = its call type
    call_types: dict[str, list[DialplanRule]] = field(default_factory=dict)
    # location key -> premises dial patterns; attrs = the dial plan's key (a key of `route_choices`)
    premises: dict[str, list[DialplanRule]] = field(default_factory=dict)
    route_choices: dict[str, list[GatewayRow]] = field(default_factory=dict)   # dial plan key -> gateways
    blocks: list[BlockRow] = field(default_factory=list)


# --------------------------------------------------------------------------------------------- dial plan

E164_BODY = r"[1-9][0-9]{6,14}"


def _lengths_guard(lengths: tuple[int, ...]) -> str:
    """A lookahead accepting only these digit counts, e.g. (6,7,8,9,10,12) -> (?=(?:[0-9]{6,10}|[0-9]{12})$)."""
    runs: list[tuple[int, int]] = []
    for n in sorted(set(lengths)):
        if runs and runs[-1][1] == n - 1:
            runs[-1] = (runs[-1][0], n)
        else:
            runs.append((n, n))
    parts = [f"[0-9]{{{a}}}" if a == b else f"[0-9]{{{a},{b}}}" for a, b in runs]
    return f"(?=(?:{'|'.join(parts)})$)" if len(parts) > 1 else f"(?={parts[0]}$)"


def dialplan_rules(country: str, outside_dial_digit: str | None = None) -> list[DialplanRule]:
    """Rules that turn what a user of a location in `country` dials into +E.164 (libphonenumber's metadata).

    In priority order: +E.164 as dialled; then, with the outside dial digit first when the location has one
    (so it wins over an equal national or international prefix, e.g. 0 in Sweden), and again without it:
    international prefix + number; national prefix + national number; and the national number without a
    prefix where that is how national numbers are dialled (NANP 10-digit dialling, countries without a
    national prefix). National numbers must fit the country's number pattern and lengths. Extensions and ESNs
    are resolved before the dial plan, so they never reach these rules.
    """
    rules = [DialplanRule(10, rf"^\+({E164_BODY})$", r"+\1", "e164")]
    meta = PhoneMetadata.metadata_for_region((country or "").upper())
    if meta is None:
        log.warning("no numbering metadata for country %r: only +E.164 dialling", country)
        return rules
    cc = meta.country_code
    intl = meta.preferred_international_prefix or meta.international_prefix or ""
    if not intl.isdigit():
        intl = "00"
    national_prefix = meta.national_prefix or ""
    desc = meta.general_desc
    nsn = f"({_lengths_guard(tuple(desc.possible_length))}(?:{desc.national_number_pattern}))"
    dial_without_prefix = not national_prefix or cc == 1
    odd = outside_dial_digit or ""
    if odd and not re.fullmatch(r"[0-9]", odd):
        raise ValueError(f"outside dial digit must be one digit, not {odd!r}")
    for block, prefix in enumerate([odd, ""] if odd else [""]):
        base = 20 + 10 * block
        tag = "odd-" if prefix else ""
        rules.append(DialplanRule(base, rf"^{prefix}{intl}({E164_BODY})$", r"+\1", f"{tag}international"))
        if national_prefix:
            rules.append(DialplanRule(base + 1, rf"^{prefix}{national_prefix}{nsn}$", rf"+{cc}\1", f"{tag}national"))
        if dial_without_prefix:
            rules.append(DialplanRule(base + 2, rf"^{prefix}{nsn}$", rf"+{cc}\1", f"{tag}national-no-prefix"))
    return rules


def translate(rules: list[DialplanRule], dialled: str) -> str | None:
    """What Kamailio's dialplan module makes of `dialled` with these rules (first match by priority), or None."""
    rule = match_rule(rules, dialled)
    return None if rule is None else apply_replacement(rule.match, rule.repl, dialled)


def match_rule(rules: list[DialplanRule], dialled: str) -> DialplanRule | None:
    """The rule Kamailio's dialplan module applies to `dialled`: the first match by priority."""
    for rule in sorted(rules, key=lambda r: r.pr):
        if re.search(rule.match, dialled):
            return rule
    return None


def translation_rules(patterns: list[TranslationInfo]) -> list[DialplanRule]:
    """One location's translation patterns as dialplan rules: its own before the organisation's, each level
    most specific first. A pattern that no longer converts (cannot happen through the actions) is skipped."""
    rules = []
    for base, level in ((100, [p for p in patterns if p.location_key]), (1000, [p for p in patterns
                                                                               if not p.location_key])):
        for offset, pattern in enumerate(sorted(level, key=lambda p: specificity(p.matching))):
            try:
                rules.append(DialplanRule(base + offset, pattern_regex(pattern.matching),
                                          replacement_template(pattern.matching, pattern.replacement),
                                          f"tp:{pattern.key}"))
            except ValueError as exc:
                log.warning("translation pattern %s not pushed: %s", pattern.key, exc)
    return rules


def call_type_dialplan(country: str, main_number: str | None) -> list[DialplanRule]:
    return [DialplanRule(pr, regex, r"\1", kind) for pr, regex, kind in call_type_rules(country, main_number)]


def premises_rules(dial_plans: list[DialPlanInfo]) -> list[DialplanRule]:
    """Every dial pattern of the organisation's premises dial plans, most specific first; attrs = plan key."""
    patterns = sorted(((p, plan.key) for plan in dial_plans for p in plan.patterns),
                      key=lambda item: specificity(item[0]))
    rules = []
    for offset, (pattern, plan_key) in enumerate(patterns):
        try:
            # the whole number is group 1, so the rule keeps it unchanged; only its attrs matter
            rules.append(DialplanRule(10 + offset, f"^({dial_pattern_regex(pattern)[1:-1]})$", r"\1", plan_key))
        except ValueError as exc:
            log.warning("dial pattern %s not pushed: %s", pattern, exc)
    return rules


# --------------------------------------------------------------------------------------------- rendering


def digest_hashes(auth_id: str, domain: str, password: str) -> tuple[str, str]:
    """(ha1, ha1b) as Kamailio's auth_db expects them, realm = the organisation's SIP domain."""
    ha1 = hashlib.md5(f"{auth_id}:{domain}:{password}".encode()).hexdigest()
    ha1b = hashlib.md5(f"{auth_id}@{domain}:{domain}:{password}".encode()).hexdigest()
    return ha1, ha1b


def render(org_key: str, domain: str, locations: list[LocationInfo], lines: list[LineInfo],
           appearances: list[AppearanceInfo], trunks: list[TrunkInfo] = (),
           connections: dict[str, list[str]] | None = None, translations: list[TranslationInfo] = (),
           dial_plans: list[DialPlanInfo] = ()) -> DesiredState:
    """The whole desired engine state of one organisation from plain values (no database).

    `connections` maps a location key to its PSTN connection's trunk keys, in priority order.
    """
    state = DesiredState(org_key=str(org_key), domain=domain)
    trunks_by_key = {t.key: t for t in trunks}
    registering = [t for t in trunks if t.registering]
    # a registering trunk calls in as a line of its own: inbound calls are not subject to a class of service
    lines = list(lines) + [LineInfo(t.sip_username, t.location_key, blocked=frozenset()) for t in registering]
    appearances = list(appearances) + [AppearanceInfo(t.sip_username, t.password, t.sip_username)
                                       for t in registering]
    by_key = {loc.key: loc for loc in locations}
    premises = premises_rules(list(dial_plans))
    for loc in sorted(locations, key=lambda x: x.key):
        state.locations.append(LocationRow(loc.key, domain, loc.country.upper(), loc.routing_prefix or "",
                                           loc.outside_dial_digit or ""))
        state.dialplans[loc.key] = dialplan_rules(loc.country, loc.outside_dial_digit)
        state.translations[loc.key] = translation_rules([t for t in translations
                                                         if t.location_key in (None, loc.key)])
        state.call_types[loc.key] = call_type_dialplan(loc.country, loc.main_number)
        state.premises[loc.key] = premises
        state.blocks += [BlockRow(location_policy(loc.key), ct) for ct in sorted(loc.blocked)]
    wanted: list[RouteRow] = []
    line_users = set()
    for line in sorted(lines, key=lambda x: x.sip_user):
        line_users.add(line.sip_user)
        if line.blocked is None:
            policy = location_policy(line.location_key)
        else:
            policy = f"line:{line.sip_user}"
            state.blocks += [BlockRow(policy, ct) for ct in sorted(line.blocked)]
        state.lines.append(LineRow(line.sip_user, domain, line.location_key, policy))
        if line.extension:
            wanted.append(RouteRow(domain, line.extension, line.sip_user, EXTENSION))
            prefix = by_key[line.location_key].routing_prefix if line.location_key in by_key else None
            if prefix:
                wanted.append(RouteRow(domain, f"{prefix}{line.extension}", line.sip_user, ESN))
        if line.e164:
            wanted.append(RouteRow(domain, line.e164, line.sip_user, NUMBER))
    # One line per dial key: an extension beats an ESN that happens to spell the same digits, then a number.
    taken: dict[str, RouteRow] = {}
    for route in sorted(wanted, key=lambda r: (_KIND_ORDER[r.kind], r.dial_key, r.line_user)):
        if route.dial_key in taken:
            log.warning("%s: dial key %s of %s is already %s's %s; not routed", domain, route.dial_key,
                        route.line_user, taken[route.dial_key].line_user, taken[route.dial_key].kind)
            continue
        taken[route.dial_key] = route
    state.routes = sorted(taken.values(), key=lambda r: r.dial_key)
    for app in sorted(appearances, key=lambda a: a.auth_id):
        if app.line_user not in line_users:
            continue
        ha1, ha1b = digest_hashes(app.auth_id, domain, app.password)
        state.credentials.append(CredentialRow(app.auth_id, domain, ha1, ha1b, app.line_user))
    for location_key, trunk_keys in sorted((connections or {}).items()):
        if location_key not in by_key:
            continue
        rows = [row for key in trunk_keys if (row := _gateway_row(trunks_by_key.get(key), domain))]
        state.gateways[location_key] = rows
    for plan in dial_plans:
        state.route_choices[plan.key] = [row for key in plan.trunk_keys
                                         if (row := _gateway_row(trunks_by_key.get(key), domain))]
    return state


def location_policy(location_key: str) -> str:
    return f"location:{location_key}"


def _gateway_row(trunk: TrunkInfo | None, domain: str) -> GatewayRow | None:
    if trunk is None:
        return None
    if trunk.registering:
        return GatewayRow(trunk.key, aor_user=trunk.sip_username)
    from .kamailio import gateway_destination

    try:
        return GatewayRow(trunk.key, uri=gateway_destination(trunk.address, trunk.port or 5061, trunk.transport))
    except ValueError as exc:
        log.warning("%s: trunk %s not routed: %s", domain, trunk.key, exc)
        return None


def desired_state(organization_id) -> DesiredState | None:
    """Read one organisation's lines, numbers, locations and device appearances; None when it does not exist."""
    from calling.models import (
        DEFAULT_BLOCKED,
        DialPlan,
        Line,
        LocationPstn,
        Number,
        NumberState,
        OutgoingPermission,
        TranslationPattern,
        Trunk,
    )
    from controlhub.models import Location, Organization
    from devices.models import DeviceLine

    org = Organization.objects.filter(pk=organization_id).first()
    if org is None:
        return None
    permissions = {(p.location_id or p.person_id): p for p in OutgoingPermission.objects.filter(organization=org)
                   if p.location_id or p.use_custom}
    main_numbers = dict(Number.objects.filter(organization=org, is_main=True).values_list("location_id", "e164"))
    locations = [LocationInfo(str(loc.pk), loc.country, loc.routing_prefix, loc.outside_dial_digit,
                              main_numbers.get(loc.pk),
                              frozenset(permissions[loc.pk].blocked()) if loc.pk in permissions
                              else frozenset(DEFAULT_BLOCKED))
                 for loc in Location.objects.filter(organization=org)]
    lines = [LineInfo(line.sip_user, str(line.location_id), line.extension,
                      line.number.e164 if line.number and line.number.state == NumberState.ACTIVE else None,
                      frozenset(permissions[line.person_id].blocked()) if line.person_id in permissions else None)
             for line in Line.objects.filter(organization=org).select_related("number")]
    appearances = [AppearanceInfo(auth_id, password, sip_user) for auth_id, password, sip_user in
                   DeviceLine.objects.filter(line__organization=org)
                   .values_list("auth_id", "auth_password", "line__sip_user")]
    trunks = [TrunkInfo(str(t.pk), str(t.location_id), t.is_registering, t.sip_username, t.password, t.address,
                        t.port, t.transport) for t in Trunk.objects.filter(organization=org)]
    connections = {str(pstn.location_id): [str(t.pk) for t in pstn.trunks_by_priority()]
                   for pstn in LocationPstn.objects.filter(organization=org).select_related("trunk", "route_group")}
    translations = [TranslationInfo(str(t.pk), t.matching_pattern, t.replacement_pattern,
                                    str(t.location_id) if t.location_id else None, t.name)
                    for t in TranslationPattern.objects.filter(organization=org)]
    dial_plans = [DialPlanInfo(str(plan.pk), plan.name, tuple(str(t.pk) for t in plan.trunks_by_priority()),
                               tuple(p.pattern for p in plan.patterns.all()))
                  for plan in DialPlan.objects.filter(organization=org).select_related("trunk", "route_group")
                  .prefetch_related("patterns")]
    return render(str(org.pk), org.sip_domain, locations, lines, appearances, trunks, connections, translations,
                  dial_plans)


# The adapter contract's name for it: the whole desired engine state of an organisation.
desired_lines = desired_state
