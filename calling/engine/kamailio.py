"""Kamailio 5.6 adapter: writes an organisation's desired state into the engine's own PostgreSQL database
(deploy/kamailio-schema.sql) and asks Kamailio to reload over JSON-RPC, debounced.

Tables written (all rows carry `org_key` = the organisation's id, which scopes every diff):

=============  ===========================================  ===========================================
table          key                                          read by deploy/kamailio.cfg
=============  ===========================================  ===========================================
subscriber     username (= appearance auth ID)              auth_db: digest (ha1), and loaded with it: the
                                                            ID's line, its location id, blocked call types
ch_location    location_key; `id` = dialplan id + gw set    sqlops: a gateway's location
ch_line        line_user (AOR user part)                    stale registrations (see below)
ch_route_choice choice_key (a premises dial plan)           dispatcher set of the plan's gateways
ch_route       (domain, dial_key)                           sqlops: extension / ESN / +E.164 -> line
dialplan       (dpid, pr)                                   dialplan module (needs dialplan.reload)
dispatcher     (setid, destination)                         dispatcher module (needs dispatcher.reload)
=============  ===========================================  ===========================================

A location's dispatcher set is rendered from its PSTN connection (a trunk, or a route group's trunks by priority;
description "trunk <id>"): a certificate-based trunk is its address, a registering trunk `sip:<its SIP user>
.trunk.invalid`, which the script resolves to the trunk's registered contact at call time. The trunk's generated
credentials are a subscriber row and its SIP user a ch_line, so it registers like a phone. A location without a
PSTN connection keeps what `set_location_gateway` gave it.

subscriber and ch_* rows are read per request, so they act as soon as the push commits; dialplan and dispatcher
rows are cached by Kamailio and need a reload. A push that changes them bumps `ch_reload.requested` in the same
transaction; `reload()` then runs at most one reload per `reload_interval` seconds across all processes (a row
lock on `ch_reload` claims the slot), and a request that arrives while a reload is recent waits for the slot and
is served by whichever reload runs first after it was recorded (coalescing). A reload that failed stays owed
(`loaded < requested`) and is retried by the next push or `reload()` call.

Bindings of lines that no longer exist are dropped with `ul.rm`, found from usrloc's write-through `location`
table, so a retried push also retries that.
"""
from __future__ import annotations

import ipaddress
import json
import logging
import re
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass

import psycopg
from psycopg import sql

from . import (
    COALESCED,
    NOT_NEEDED,
    RELOADED,
    CallEngine,
    EngineError,
    EngineUnavailable,
    PushResult,
    TableChange,
)
from .render import DesiredState

log = logging.getLogger(__name__)


class RpcFault(EngineError):
    """Kamailio answered a JSON-RPC call with an error."""

    def __init__(self, method: str, code, message: str):
        super().__init__(f"JSON-RPC {method} failed: {code} {message}")
        self.method, self.code, self.fault = method, code, message


@dataclass(frozen=True)
class Table:
    name: str
    key: tuple[str, ...]
    values: tuple[str, ...]


SUBSCRIBER = Table("subscriber", ("username",), ("domain", "ha1", "ha1b", "line_user", "location_id", "blocked"))
LOCATION = Table("ch_location", ("location_key",), ("domain", "country", "routing_prefix", "outside_dial_digit"))
LINE = Table("ch_line", ("line_user",), ("domain", "location_key"))
ROUTE_CHOICE = Table("ch_route_choice", ("choice_key",), ("domain",))
ROUTE = Table("ch_route", ("domain", "dial_key"), ("line_user", "kind"))
DIALPLAN = Table("dialplan", ("dpid", "pr"), ("match_op", "match_exp", "match_len", "subst_exp", "repl_exp", "attrs"))
DISPATCHER = Table("dispatcher", ("setid", "destination"), ("flags", "priority", "attrs", "description"))

DP_REGEX = 1  # dialplan match_op: PCRE
# A location's dialplan ids (deploy/kamailio.cfg has the same defines): ch_location.id normalises to +E.164; the
# offsets below hold its translation patterns, the call-type classification and the premises dial patterns.
# A dial plan's gateways are dispatcher set ROUTE_CHOICE_SET + ch_route_choice.id (location sets are the ids).
DP_TRANSLATE = 500_000_000
DP_CALL_TYPE = 1_000_000_000
DP_PREMISES = 1_500_000_000
ROUTE_CHOICE_SET = 2_000_000_000
DS_NO_DNS_AT_LOAD = 16   # dispatcher flag DS_NODNSARECORD_DST
TRUNK_TAG = "trunk "   # dispatcher.description of rows rendered from a location's PSTN connection
TRUNK_HOST_SUFFIX = ".trunk.invalid"   # a registering trunk's dispatcher host (deploy/kamailio.cfg: TRUNK_CONTACT)
_HOSTNAME = re.compile(r"(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
                       r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*")


def gateway_destination(host: str, port: int = 5060, transport: str = "udp") -> str:
    """A dispatcher destination URI for a gateway, validated (IP address or host name, port, transport)."""
    host = (host or "").strip()
    try:
        address = ipaddress.ip_address(host)
        hostpart = f"[{host}]" if address.version == 6 else host
    except ValueError:
        if not _HOSTNAME.fullmatch(host):
            raise ValueError(f"{host!r} is not an IP address or host name") from None
        hostpart = host
    port = int(port)
    if not 1 <= port <= 65535:
        raise ValueError(f"port {port} is out of range")
    transport = transport.lower()
    if transport not in {"udp", "tcp", "tls"}:
        raise ValueError(f"transport must be udp, tcp or tls, not {transport!r}")
    return f"sip:{hostpart}:{port}" + ("" if transport == "udp" else f";transport={transport}")


class KamailioEngine(CallEngine):
    name = "kamailio"
    configured = True

    def __init__(self, database_url: str, rpc_url: str, *, reload_interval: float = 2.0, timeout: float = 5.0,
                 reload_delta: float = 1.0, db_timeout: float = 30.0):
        self.database_url = database_url
        self.rpc_url = rpc_url
        self.reload_interval = max(float(reload_interval), reload_delta)
        self.reload_delta = reload_delta        # Kamailio's own limit (cfg RELOAD_DELTA): "ongoing reload" inside
        self.timeout = timeout                  # connect / HTTP timeout, seconds
        self.db_timeout = db_timeout            # statement and lock timeout, seconds
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))   # never via a proxy

    @classmethod
    def from_settings(cls) -> KamailioEngine:
        from django.conf import settings

        return cls(settings.ENGINE_DATABASE_URL, settings.ENGINE_RPC_URL,
                   reload_interval=getattr(settings, "ENGINE_RELOAD_INTERVAL", 2.0),
                   timeout=getattr(settings, "ENGINE_TIMEOUT", 5.0))

    # ----------------------------------------------------------------------------------------- contract

    def push_organization(self, organization_id) -> PushResult:
        """Make the engine hold exactly the organisation's desired state (removes it when it no longer exists)."""
        return self._apply(str(organization_id), self.desired_state(organization_id))

    def remove_organization(self, organization_id) -> PushResult:
        """Remove everything of the organisation from the engine, its gateways and registrations included."""
        return self._apply(str(organization_id), None)

    def set_location_gateway(self, location_id, host: str | None, port: int = 5060,
                             transport: str = "udp") -> PushResult:
        """The gateway for a location's off-net calls, trusted for inbound calls to the organisation's numbers.

        Pushes the whole organisation in the same transaction (the location's dial plan must exist).
        """
        from controlhub.models import Location

        location = Location.objects.filter(pk=location_id).first()
        if location is None:
            raise ValueError(f"no location {location_id}")
        destinations = [] if host is None else [gateway_destination(host, port, transport)]
        return self._apply(str(location.organization_id), self.desired_state(location.organization_id),
                           gateways={str(location.pk): destinations}, target=f"location:{location.pk}")

    def ping(self) -> None:
        self.rpc("core.version")

    def check_sync(self, line_user: str, domain: str) -> int:
        contacts = self.contacts(line_user, domain)
        for contact in contacts:
            self.rpc("tm.t_uac_start", "NOTIFY", contact, ".", ".", check_sync_headers(line_user, domain))
        return len(contacts)

    def check_sync_many(self, lines: list[tuple[str, str]], threads: int = 8) -> int:
        """NOTIFY check-sync to every current registration of these lines. The registrations come from usrloc's
        write-through `location` table in one query (not one `ul.lookup` per line); the NOTIFYs go out a few at
        a time. A line without registrations costs nothing."""
        if not lines:
            return 0
        users = [u for u, _d in lines]
        domains = [d for _u, d in lines]
        with self._db() as conn:
            rows = conn.execute(
                "SELECT l.username, l.domain, l.contact FROM location l "
                "JOIN unnest(%s::text[], %s::text[]) AS w(username, domain) "
                "ON l.username = w.username AND l.domain = w.domain "
                "WHERE l.expires > now() ORDER BY l.username, l.contact", (users, domains)).fetchall()
        if not rows:
            return 0

        def notify(row) -> int:
            line_user, domain, contact = row
            try:
                self.rpc("tm.t_uac_start", "NOTIFY", contact, ".", ".", check_sync_headers(line_user, domain))
            except EngineError as exc:
                log.warning("check-sync NOTIFY to %s not sent: %s", contact, exc)
                return 0
            return 1

        if len(rows) == 1:
            return notify(rows[0])
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=min(threads, len(rows))) as pool:
            return sum(pool.map(notify, rows))

    def reload(self, force: bool = False) -> str:
        """Reload Kamailio's dial plans and gateways if a push asked for it: at most once per `reload_interval`
        across all processes; a request made while a reload is recent waits for the next slot, and all requests
        recorded before a reload starts are served by it. `force` records a request first."""
        deadline = time.monotonic() + max(30.0, 10 * self.reload_interval)
        waited = False
        with self._db() as conn:
            if force:
                conn.execute("UPDATE ch_reload SET requested = requested + 1 WHERE id = 1")
            while True:
                with conn.transaction():
                    requested, loaded, since = conn.execute(
                        "SELECT requested, loaded, EXTRACT(EPOCH FROM clock_timestamp() - last_reload_at) "
                        "FROM ch_reload WHERE id = 1 FOR UPDATE").fetchone()
                    if loaded >= requested:
                        return COALESCED if waited else NOT_NEEDED
                    wait = 0.0 if since is None else self.reload_interval - float(since)
                    if wait <= 0:
                        conn.execute("UPDATE ch_reload SET last_reload_at = clock_timestamp() WHERE id = 1")
                if wait <= 0:
                    break
                if time.monotonic() + wait > deadline:
                    raise EngineUnavailable("timed out waiting for a call engine reload slot")
                waited = True
                time.sleep(wait + 0.02)
            self._reload_now()
            conn.execute("UPDATE ch_reload SET loaded = GREATEST(loaded, %s), reloads = reloads + 1 WHERE id = 1",
                         (requested,))
        return RELOADED

    # ----------------------------------------------------------------------------------------- JSON-RPC

    def rpc(self, method: str, *params):
        """Call a Kamailio JSON-RPC method; faults raise RpcFault, an unreachable engine EngineUnavailable."""
        body = json.dumps({"jsonrpc": "2.0", "method": method, "params": list(params), "id": 1}).encode()
        request = urllib.request.Request(self.rpc_url, data=body, headers={"Content-Type": "application/json"})
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                payload = response.read()
        except urllib.error.HTTPError as exc:      # faults come as HTTP 500 with a JSON-RPC error body
            payload = exc.read()
            if not payload:
                raise EngineError(f"JSON-RPC {method}: HTTP {exc.code} from {self.rpc_url}") from exc
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise EngineUnavailable(f"call engine JSON-RPC at {self.rpc_url} is unreachable: {reason}") from exc
        try:
            data = json.loads(payload)
        except ValueError as exc:
            raise EngineError(f"JSON-RPC {method}: unreadable answer from {self.rpc_url}") from exc
        if isinstance(data, dict) and data.get("error"):
            error = data["error"]
            raise RpcFault(method, error.get("code"), str(error.get("message", "")))
        return data.get("result") if isinstance(data, dict) else data

    def contacts(self, line_user: str, domain: str) -> list[str]:
        """The registered contacts of a line's AOR (empty when none)."""
        try:
            result = self.rpc("ul.lookup", "location", f"{line_user}@{domain}")
        except RpcFault as fault:
            if "not found" in fault.fault.lower():
                return []
            raise
        return [c["Contact"]["Address"] for c in (result or {}).get("Contacts", [])]

    @staticmethod
    def _subscribers(state: DesiredState | None, location_ids: dict[str, int]) -> dict[tuple, tuple]:
        """Credential rows with what a call from them needs (deploy/kamailio.cfg loads it with the digest check):
        the line, its location's id and the call types its class of service blocks, comma-separated."""
        if state is None:
            return {}
        blocked: dict[str, list[str]] = {}
        for row in state.blocks:
            blocked.setdefault(row.policy, []).append(row.call_type)
        lines = {r.line_user: r for r in state.lines}
        rows = {}
        for r in state.credentials:
            line = lines[r.line_user]
            rows[(r.auth_id,)] = (r.domain, r.ha1, r.ha1b, r.line_user, location_ids.get(line.location_key, 0),
                                  ",".join(sorted(blocked.get(line.policy, []))))
        return rows

    @staticmethod
    def _gateway_destinations(state: DesiredState | None) -> dict[str, list[tuple[str, str]]]:
        """location key -> [(dispatcher URI, trunk key)] by priority. A registering trunk is `trunk_host_uri`,
        which deploy/kamailio.cfg turns into the contact it has registered at call time (so a gateway that
        registers after the push is reached without another push)."""
        result: dict[str, list[tuple[str, str]]] = {}
        for location_key, rows in ({} if state is None else state.gateways).items():
            destinations = [(row.uri or trunk_host_uri(row.aor_user), row.trunk_key) for row in rows]
            result[location_key] = list(dict.fromkeys(destinations))
        return result

    def trunk_registered(self, sip_username: str, domain: str) -> bool:
        """Whether a registering trunk's AOR has a registered contact now (raises EngineError when unknown)."""
        return bool(self.contacts(sip_username, domain))

    def _reload_now(self) -> None:
        for method in ("dialplan.reload", "dispatcher.reload"):
            for attempt in range(10):
                try:
                    self.rpc(method)
                    break
                except RpcFault as fault:   # Kamailio's own rate limit (reload_delta) - wait it out
                    if "ongoing reload" not in fault.fault.lower() or attempt == 9:
                        raise
                    time.sleep(self.reload_delta + 0.1)

    # ----------------------------------------------------------------------------------------- database

    @contextmanager
    def _db(self):
        ms = int(self.db_timeout * 1000)
        try:
            conn = psycopg.connect(self.database_url, autocommit=True, connect_timeout=max(1, round(self.timeout)),
                                   options=f"-c statement_timeout={ms} -c lock_timeout={ms}")
        except psycopg.OperationalError as exc:
            raise EngineUnavailable(f"call engine database is unreachable: {_first_line(exc)}") from exc
        try:
            yield conn
        except psycopg.errors.UndefinedTable as exc:
            raise EngineError(f"call engine database has no schema ({_first_line(exc)}); "
                              "run deploy/kamailio.sh initdb") from exc
        except psycopg.OperationalError as exc:
            raise EngineUnavailable(f"call engine database failed: {_first_line(exc)}") from exc
        except psycopg.Error as exc:
            raise EngineError(f"call engine database refused the change: {_first_line(exc)}") from exc
        finally:
            conn.close()

    def _apply(self, org_key: str, state: DesiredState | None, gateways: dict[str, list[str]] | None = None,
               target: str | None = None) -> PushResult:
        result = PushResult(target=target or f"organization:{org_key}")
        rendered_gateways = self._gateway_destinations(state)
        with self._db() as conn, conn.transaction():
            cur = conn.cursor()
            cur.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"controlhub-engine-org:{org_key}",))
            cur.execute("SELECT domain FROM ch_line WHERE org_key = %s UNION SELECT domain FROM ch_location "
                        "WHERE org_key = %s", (org_key, org_key))
            domains = {row[0] for row in cur.fetchall()}
            if state is not None:
                domains.add(state.domain)
            changes = result.changes

            changes[LOCATION.name] = self._sync(cur, LOCATION, org_key, {} if state is None else {
                (r.location_key,): (r.domain, r.country, r.routing_prefix, r.outside_dial_digit)
                for r in state.locations})
            cur.execute("SELECT location_key, id FROM ch_location WHERE org_key = %s", (org_key,))
            location_ids: dict[str, int] = dict(cur.fetchall())

            changes[SUBSCRIBER.name] = self._sync(cur, SUBSCRIBER, org_key, self._subscribers(state, location_ids))
            changes[LINE.name] = self._sync(cur, LINE, org_key, {} if state is None else {
                (r.line_user,): (r.domain, r.location_key) for r in state.lines})
            changes[ROUTE_CHOICE.name] = self._sync(cur, ROUTE_CHOICE, org_key, {} if state is None else {
                (key,): (state.domain,) for key in state.route_choices})
            cur.execute("SELECT choice_key, %s + id FROM ch_route_choice WHERE org_key = %s",
                        (ROUTE_CHOICE_SET, org_key))
            choice_sets: dict[str, int] = dict(cur.fetchall())
            changes[ROUTE.name] = self._sync(cur, ROUTE, org_key, {} if state is None else {
                (r.domain, r.dial_key): (r.line_user, r.kind) for r in state.routes})

            dialplan = {}
            for rule_sets, offset in ((("dialplans", 0), ("translations", DP_TRANSLATE),
                                        ("call_types", DP_CALL_TYPE), ("premises", DP_PREMISES))):
                for location_key, rules in ({} if state is None else getattr(state, rule_sets)).items():
                    for rule in rules:
                        # a premises rule's attrs name its dial plan; the script wants the plan's dispatcher set
                        attrs = str(choice_sets[rule.attrs]) if offset == DP_PREMISES else rule.attrs
                        dialplan[(location_ids[location_key] + offset, rule.pr)] = (
                            DP_REGEX, rule.match, 0, rule.match, rule.repl, attrs)
            changes[DIALPLAN.name] = self._sync(cur, DIALPLAN, org_key, dialplan)

            # Gateways of locations with a PSTN connection are rendered from their trunks (description "trunk …");
            # a location without one keeps what set_location_gateway gave it, and loses rendered trunk rows.
            cur.execute("SELECT setid, destination, flags, priority, attrs, description FROM dispatcher "
                        "WHERE org_key = %s", (org_key,))
            live_sets = set(location_ids.values())
            dispatcher = {(r[0], r[1]): tuple(r[2:]) for r in cur.fetchall()
                          if r[0] in live_sets and not (r[5] or "").startswith(TRUNK_TAG)}
            for location_key, destinations in rendered_gateways.items():
                setid = location_ids[location_key]
                dispatcher = {k: v for k, v in dispatcher.items() if k[0] != setid}
                for priority, (destination, trunk_key) in enumerate(destinations):
                    dispatcher[(setid, destination)] = (_ds_flags(destination), len(destinations) - priority, "",
                                                        f"{TRUNK_TAG}{trunk_key}"[:64])
            for choice_key, rows in ({} if state is None else state.route_choices).items():
                destinations = list(dict.fromkeys(row.uri or trunk_host_uri(row.aor_user) for row in rows))
                for priority, destination in enumerate(destinations):
                    dispatcher[(choice_sets[choice_key], destination)] = (
                        _ds_flags(destination), len(destinations) - priority, "", f"{TRUNK_TAG}plan {choice_key}"[:64])
            for location_key, destinations in (gateways or {}).items():
                if location_key not in location_ids:
                    raise ValueError(f"location {location_key} is not part of organisation {org_key}")
                setid = location_ids[location_key]
                dispatcher = {k: v for k, v in dispatcher.items() if k[0] != setid}
                for priority, destination in enumerate(destinations):
                    dispatcher[(setid, destination)] = (_ds_flags(destination), len(destinations) - priority, "",
                                                        f"location {location_key}"[:64])
            changes[DISPATCHER.name] = self._sync(cur, DISPATCHER, org_key, dispatcher)

            if changes[DIALPLAN.name].total or changes[DISPATCHER.name].total:
                cur.execute("UPDATE ch_reload SET requested = requested + 1 WHERE id = 1")
        if state is None:
            result.message = "removed from the call engine"
        result.reload = self.reload()
        result.unregistered = self._drop_stale_bindings(sorted(domains))
        if result.changed:
            log.info("engine push %s: %s", result.target,
                     {t: (c.inserted, c.updated, c.deleted) for t, c in changes.items() if c.total})
        return result

    @staticmethod
    def _sync(cur, table: Table, org_key: str, desired: dict[tuple, tuple]) -> TableChange:
        """Make the organisation's rows of `table` equal `desired` (key tuple -> value tuple)."""
        columns = table.key + table.values
        ident = sql.Identifier(table.name)
        key_match = sql.SQL(" AND ").join(sql.SQL("{} = %s").format(sql.Identifier(c)) for c in table.key)
        cur.execute(sql.SQL("SELECT {} FROM {} WHERE org_key = %s").format(
            sql.SQL(", ").join(map(sql.Identifier, columns)), ident), (org_key,))
        width = len(table.key)
        current: dict[tuple, list[tuple]] = {}
        for row in cur.fetchall():
            current.setdefault(tuple(row[:width]), []).append(tuple(row[width:]))
        change = TableChange()
        doomed = [k for k, rows in current.items() if k not in desired or len(rows) > 1]
        if doomed:
            cur.executemany(sql.SQL("DELETE FROM {} WHERE org_key = %s AND ").format(ident) + key_match,
                            [(org_key, *k) for k in doomed])
            change.deleted = sum(len(current[k]) for k in doomed)
        updates = [(*desired[k], org_key, *k) for k, rows in current.items()
                   if k in desired and len(rows) == 1 and rows[0] != desired[k]]
        if updates:
            cur.executemany(sql.SQL("UPDATE {} SET {} WHERE org_key = %s AND ").format(
                ident, sql.SQL(", ").join(sql.SQL("{} = %s").format(sql.Identifier(c)) for c in table.values))
                + key_match, updates)
            change.updated = len(updates)
        inserts = [(org_key, *k, *v) for k, v in desired.items() if k not in current or len(current[k]) > 1]
        if inserts:
            cur.executemany(sql.SQL("INSERT INTO {} (org_key, {}) VALUES (%s, {})").format(
                ident, sql.SQL(", ").join(map(sql.Identifier, columns)),
                sql.SQL(", ").join([sql.Placeholder()] * len(columns))), inserts)
            change.inserted = len(inserts)
        return change

    def _drop_stale_bindings(self, domains: list[str]) -> list[str]:
        """Unregister AORs in these domains that are no line any more (deleted lines, removed organisations)."""
        if not domains:
            return []
        with self._db() as conn:
            rows = conn.execute(
                "SELECT DISTINCT l.username, l.domain FROM location l WHERE l.domain = ANY(%s) AND NOT EXISTS "
                "(SELECT 1 FROM ch_line c WHERE c.line_user = l.username AND c.domain = l.domain)",
                (domains,)).fetchall()
        dropped = []
        for username, domain in rows:
            aor = f"{username}@{domain}"
            try:
                self.rpc("ul.rm", "location", aor)
            except RpcFault as fault:
                if "not found" not in fault.fault.lower():
                    raise
            dropped.append(aor)
        return dropped


def check_sync_headers(line_user: str, domain: str) -> str:
    # tm's RPC sends the request from Kamailio itself (the phones trust their registrar); tm adds the From tag.
    return (f"From: <sip:provisioning@{domain}>\r\nTo: <sip:{line_user}@{domain}>\r\n"
            f"Event: check-sync\r\nSubscription-State: terminated\r\nContact: <sip:provisioning@{domain}>\r\n")


def trunk_host_uri(sip_user: str) -> str:
    """The dispatcher entry of a registering trunk: its SIP user as a (never resolved) host name; a host name has
    no "_", so it is written as "-" (trunk SIP users are generated from [a-z0-9_])."""
    return f"sip:{sip_user.replace('_', '-')}{TRUNK_HOST_SUFFIX}"


def _ds_flags(destination: str) -> int:
    """Dispatcher flags of a destination: a host name gets DS_NODNSARECORD_DST (16) - resolved when a call is
    relayed, not at reload, where one name that does not resolve would fail the whole reload."""
    host = re.sub(r"^sips?:", "", destination).split(";", 1)[0]
    host = host[1:].split("]", 1)[0] if host.startswith("[") else host.rsplit(":", 1)[0]
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return DS_NO_DNS_AT_LOAD
    return 0


def _first_line(exc: Exception) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]
