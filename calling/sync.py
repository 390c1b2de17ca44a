"""What calling changes mean for the call engine, and the engine as a push target.

The engine's unit of pushing is the organisation: `push_organization` renders its whole desired state (lines,
credentials, routes, dial plans) and applies only the difference, so many changes in one organisation coalesce
into one push, and a bulk import costs one push per batch.
"""
from controlhub.models import Location, Organization
from controlhub.sync import ENGINE, NotConfigured, Pusher, PushFailed, TargetKey, register_keys, register_pusher
from users.models import Person, Workspace

from .models import DialPlan, Line, LocationPstn, Number, OutgoingPermission, RouteGroup, TranslationPattern, Trunk


def engine_key(organization_id) -> TargetKey:
    return TargetKey(ENGINE, f"org:{organization_id}", organization_id)


def _org_of(objects: list) -> list[list[TargetKey]]:
    return [[engine_key(o.pk if isinstance(o, Organization) else o.organization_id)] for o in objects]


def _owner(objects: list) -> list[list[TargetKey]]:
    # A person or workspace matters to the engine only through its line (deleting one removes its line).
    field = "person" if isinstance(objects[0], Person) else "workspace"
    with_line = set(Line.objects.filter(**{f"{field}__in": [o.pk for o in objects]})
                    .values_list(f"{field}_id", flat=True))
    return [[engine_key(o.organization_id)] if o.pk in with_line else [] for o in objects]


class EnginePusher(Pusher):
    target = ENGINE

    def push(self, key: str) -> None:
        from .engine import NOT_CONFIGURED, EngineError, get_engine

        engine = get_engine()
        if not engine.configured:
            raise NotConfigured("Call engine not configured (CALL_ENGINE=none): nothing was pushed.")
        try:
            result = engine.push_organization(key.split(":", 1)[1])
        except EngineError as exc:
            raise PushFailed(exc.message) from None
        if result.status == NOT_CONFIGURED:
            raise NotConfigured(result.message)
        if not result.ok:
            raise PushFailed(result.message or f"engine answered {result.status}")
        try:
            engine.ping()
        except EngineError as exc:
            raise PushFailed(f"Stored in the engine database, but the engine does not answer: {exc.message}") from None

    def finish(self) -> None:
        from .engine import EngineError, get_engine

        try:
            get_engine().reload()  # debounced in the adapter: one reload serves the whole batch
        except EngineError as exc:
            raise PushFailed(exc.message) from None


def register() -> None:
    for model in (Line, Number, Location, Organization, Trunk, RouteGroup, LocationPstn, OutgoingPermission,
                  TranslationPattern, DialPlan):
        register_keys(model, _org_of)
    for model in (Person, Workspace):
        register_keys(model, _owner)
    register_pusher(EnginePusher())
