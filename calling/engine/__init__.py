"""The call engine adapter: what the push pipeline calls to make the engine match controlhub's database.

`get_engine()` returns the engine chosen by the `CALL_ENGINE` setting:

- ``"kamailio"``: Kamailio 5.6 with its own PostgreSQL database (calling/engine/kamailio.py, deploy/kamailio.cfg);
- ``"none"`` (default): no engine configured. Every push reports *not configured* (`PushResult.ok` is False), so
  nothing is ever shown as synced to an engine that does not exist.

Contract (DESIGN section 5), for Celery tasks: every method renders or writes the *whole* desired state of its
key, idempotently (re-running changes nothing), and raises `EngineUnavailable` (engine database or JSON-RPC
unreachable, timeouts) or another `EngineError` (the engine refused) instead of hanging.

    engine = get_engine()
    result = engine.push_organization(org.pk)        # lines, credentials, routes, locations' dial plans
    engine.set_location_gateway(location.pk, "127.0.0.1", 5080)   # a gateway by hand, for a location without
                                                                  # a PSTN connection (trunks are pushed)
    engine.remove_organization(org.pk)
    engine.reload()                                  # debounced; pushes already request it when needed
"""
from __future__ import annotations

from dataclasses import dataclass, field

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

OK = "ok"
NOT_CONFIGURED = "not_configured"

# Outcomes of a reload request.
RELOADED = "reloaded"            # this call ran the engine's reload
COALESCED = "coalesced"          # another request's reload (started after ours was recorded) served it
NOT_NEEDED = "not_needed"        # nothing owed: no dial plan/gateway change since the last reload


class EngineError(Exception):
    """The call engine refused or failed an operation."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class EngineUnavailable(EngineError):
    """The call engine (its database or its control interface) cannot be reached now; retry later."""


@dataclass
class TableChange:
    inserted: int = 0
    updated: int = 0
    deleted: int = 0

    @property
    def total(self) -> int:
        return self.inserted + self.updated + self.deleted


@dataclass
class PushResult:
    """What one push did. `ok` only when an engine is configured and took the whole desired state."""

    target: str                                   # e.g. "organization:<id>"
    status: str = OK
    changes: dict[str, TableChange] = field(default_factory=dict)   # engine table -> row changes
    reload: str | None = None                     # RELOADED | COALESCED | NOT_NEEDED (None: not attempted)
    unregistered: list[str] = field(default_factory=list)           # AORs whose bindings were dropped
    message: str = ""

    @property
    def ok(self) -> bool:
        return self.status == OK

    @property
    def changed(self) -> int:
        return sum(c.total for c in self.changes.values())


class CallEngine:
    """Interface of a call engine adapter."""

    name = "none"
    configured = False

    def desired_state(self, organization_id):
        """The whole desired engine state of an organisation (calling.engine.render.DesiredState), or None."""
        from .render import desired_state

        return desired_state(organization_id)

    desired_lines = desired_state

    def push_organization(self, organization_id) -> PushResult:
        raise NotImplementedError

    def remove_organization(self, organization_id) -> PushResult:
        raise NotImplementedError

    def set_location_gateway(self, location_id, host: str | None, port: int = 5060,
                             transport: str = "udp") -> PushResult:
        """Point a location's off-net calls (and inbound trust) at one gateway; host None removes it."""
        raise NotImplementedError

    def reload(self, force: bool = False) -> str:
        raise NotImplementedError

    def ping(self) -> None:
        """Raise EngineUnavailable unless the running engine answers: data in its tables is not yet *landed*
        while the engine itself is down."""
        raise NotImplementedError

    def check_sync(self, line_user: str, domain: str) -> int:
        """Tell every phone registered on a line to fetch its configuration now (SIP NOTIFY, Event: check-sync).
        Returns how many registrations were told."""
        raise NotImplementedError

    def check_sync_many(self, lines: list[tuple[str, str]]) -> int:
        """`check_sync` for many (line_user, domain) pairs; engines that can look registrations up in bulk
        override it."""
        return sum(self.check_sync(line_user, domain) for line_user, domain in lines)


class NotConfiguredEngine(CallEngine):
    """CALL_ENGINE = "none": accepts every request and reports that nothing was pushed anywhere."""

    MESSAGE = "Call engine not configured (CALL_ENGINE=none): nothing was pushed."

    def _result(self, target: str) -> PushResult:
        return PushResult(target=target, status=NOT_CONFIGURED, message=self.MESSAGE)

    def push_organization(self, organization_id) -> PushResult:
        return self._result(f"organization:{organization_id}")

    def remove_organization(self, organization_id) -> PushResult:
        return self._result(f"organization:{organization_id}")

    def set_location_gateway(self, location_id, host, port=5060, transport="udp") -> PushResult:
        return self._result(f"location:{location_id}")

    def reload(self, force: bool = False) -> str:
        return NOT_CONFIGURED

    def check_sync(self, line_user: str, domain: str) -> int:
        return 0


def get_engine() -> CallEngine:
    """The configured engine (cheap: a new adapter per call, no connections held)."""
    kind = (getattr(settings, "CALL_ENGINE", "none") or "none").strip().lower()
    if kind == "none":
        return NotConfiguredEngine()
    if kind == "kamailio":
        from .kamailio import KamailioEngine

        return KamailioEngine.from_settings()
    raise ImproperlyConfigured(f"CALL_ENGINE must be 'kamailio' or 'none', not {kind!r}")
