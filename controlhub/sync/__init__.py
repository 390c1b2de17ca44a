"""The push pipeline (DESIGN section 5): desired state in PostgreSQL, pushed by Celery workers.

1. Every domain action's audit record calls `bump(objects)` in the same transaction: each object names its target
   keys (`register_keys`), each key's desired version goes up, and the object remembers which version holds it.
2. On commit, the keys are enqueued in batches (`PUSH_BATCH` keys a task), de-duplicated through Redis so one
   pending push per key is enough however many changes pile up.
3. A task renders the *whole* desired state of each key through its target's pusher and records the version it
   read: re-running is harmless. Failures retry with exponential backoff and jitter, then fail (retry now).
4. A beat task re-enqueues any key whose pushed version lags, so a lost message or killed worker loses nothing.
"""
from __future__ import annotations

import logging
import random
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from .models import ObjectSync, SyncStatus, SyncTarget

log = logging.getLogger(__name__)

ENGINE = "engine"
PROVISIONING = "provisioning"

PUSH_BATCH = 200
MAX_ATTEMPTS = getattr(settings, "SYNC_MAX_ATTEMPTS", 8)
BACKOFF_BASE = getattr(settings, "SYNC_BACKOFF_BASE", 2.0)       # seconds; doubles every attempt
BACKOFF_MAX = getattr(settings, "SYNC_BACKOFF_MAX", 300.0)


@dataclass(frozen=True)
class TargetKey:
    target: str
    key: str
    organization_id: object = None


class NotConfigured(Exception):
    """The target system is not configured here (embedded mode): the push is recorded as *not configured*."""


class PushFailed(Exception):
    """The target refused or could not be reached; `retryable` failures are retried with backoff."""

    def __init__(self, message: str, retryable: bool = True):
        super().__init__(message)
        self.retryable = retryable


class Pusher:
    """A target system's adapter as the pipeline sees it."""

    target: str = ""

    def push(self, key: str) -> None:
        """Make the target match the whole desired state of `key` (raise PushFailed / NotConfigured)."""
        raise NotImplementedError

    def finish(self) -> None:
        """Called once after a batch (e.g. one engine reload for the whole batch)."""


# --------------------------------------------------------------------------------------------- registries

_key_functions: dict[type, list[Callable]] = defaultdict(list)
_pushers: dict[str, Pusher] = {}


def register_keys(model: type, function: Callable[[list], list[Iterable[TargetKey]]]) -> None:
    """Declare which target keys changes to instances of `model` affect (apps call this in ready()).

    `function` takes a batch of objects of the model and returns, in the same order, each one's keys: written
    for batches so a bulk import of thousands of rows costs a few queries, not a few per row.
    """
    _key_functions[model].append(function)


def register_pusher(pusher: Pusher) -> None:
    _pushers[pusher.target] = pusher


def keys_by_object(objects: list) -> list[set[TargetKey]]:
    """Each object's target keys, asking each registered function once per model present in the batch."""
    result: list[set[TargetKey]] = [set() for _ in objects]
    by_model: dict[type, list[int]] = defaultdict(list)
    for index, obj in enumerate(objects):
        by_model[type(obj)].append(index)
    for model, indexes in by_model.items():
        batch = [objects[i] for i in indexes]
        for klass in model.__mro__:
            for function in _key_functions.get(klass, ()):
                for index, keys in zip(indexes, function(batch), strict=True):
                    result[index].update(keys)
    return result


# --------------------------------------------------------------------------------------------- the outbox

_UPSERT = """
INSERT INTO controlhub_synctarget (target, key, organization_id, desired_version, pushed_version, status,
                                   attempts, last_error, updated)
VALUES {values}
ON CONFLICT (target, key) DO UPDATE
   SET desired_version = controlhub_synctarget.desired_version + 1,
       status = CASE WHEN controlhub_synctarget.status = 'FAILED' THEN 'FAILED' ELSE 'PENDING' END,
       updated = excluded.updated
RETURNING id, target, key, desired_version
"""


def bump(objects: Iterable) -> None:
    """Record, in the caller's transaction, that these objects changed: their keys' desired versions go up.

    Costs one statement for the keys and one for the objects, however many objects a batch holds.
    """
    by_key: dict[tuple[str, str], TargetKey] = {}
    object_keys: list[tuple[str, str, tuple[str, str]]] = []
    objects = list(objects)
    for obj, keys in zip(objects, keys_by_object(objects), strict=True):
        for tk in keys:
            by_key.setdefault((tk.target, tk.key), tk)
            object_keys.append((obj._meta.model_name, str(obj.pk), (tk.target, tk.key)))
    if not by_key:
        return
    now = timezone.now()
    params: list = []
    rows = []
    # Raw SQL, so values are prepared as Django would for this database (SQLite keeps UUIDs as 32 hex digits).
    org_field = SyncTarget._meta.get_field("organization")
    for (target, key), tk in by_key.items():
        rows.append("(%s, %s, %s, 1, 0, 'PENDING', 0, '', %s)")
        params += [target, key, org_field.get_db_prep_value(tk.organization_id, connection),
                   org_field.model._meta.get_field("updated").get_db_prep_value(now, connection)]
    with connection.cursor() as cursor:
        cursor.execute(_UPSERT.format(values=", ".join(rows)), params)
        versions = {(target, key): (pk, version) for pk, target, key, version in cursor.fetchall()}
    ObjectSync.objects.bulk_create(
        [ObjectSync(object_type=t, object_id=i, sync_target_id=versions[k][0], version=versions[k][1])
         for t, i, k in {(t, i, k): None for t, i, k in object_keys}],
        update_conflicts=True, unique_fields=["object_type", "object_id", "sync_target"], update_fields=["version"],
    )
    _enqueue_on_commit(list(by_key))


def _enqueue_on_commit(keys: list[tuple[str, str]]) -> None:
    # Its own callback per bump: a rolled-back transaction drops its callbacks, and with them exactly its keys.
    # Repeats across bumps cost one Redis SET NX each (see _claim).
    transaction.on_commit(lambda: enqueue(keys))


def enqueue(keys: Iterable[tuple[str, str]]) -> int:
    """Queue pushes for these keys in batches, skipping keys that already have a push waiting."""
    from .tasks import push_keys

    by_target: dict[str, list[str]] = defaultdict(list)
    for target, key in keys:
        if _claim(target, key):
            by_target[target].append(key)
    queued = 0
    for target, target_keys in by_target.items():
        for start in range(0, len(target_keys), PUSH_BATCH):
            push_keys.apply_async((target, target_keys[start:start + PUSH_BATCH]), queue=_queue())
            queued += 1
    return queued


def _queue() -> str | None:
    """Pushes may have workers of their own (setting SYNC_TASK_QUEUE); None means the default queue."""
    return getattr(settings, "SYNC_TASK_QUEUE", None) or None


def _claim(target: str, key: str) -> bool:
    """One pending push per key: a Redis flag set when queued, cleared by the task before it reads the DB."""
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return True
    try:
        return bool(_redis().set(f"sync:queued:{target}:{key}", 1, nx=True, ex=600))
    except Exception:  # Redis down: queue anyway (a duplicate push is harmless; a lost one is not)
        log.warning("sync: Redis unavailable for de-duplication; queuing %s:%s", target, key)
        return True


def release_claim(target: str, key: str) -> None:
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return
    try:
        _redis().delete(f"sync:queued:{target}:{key}")
    except Exception:
        pass


_redis_client = None


def _redis():
    global _redis_client
    if _redis_client is None:
        import redis

        _redis_client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2, socket_connect_timeout=2)
    return _redis_client


# --------------------------------------------------------------------------------------------- pushing


def backoff(attempts: int) -> float:
    """Exponential backoff with full jitter, capped."""
    return random.uniform(0, min(BACKOFF_MAX, BACKOFF_BASE * 2 ** max(0, attempts - 1))) + 0.5


def push_now(target: str, keys: list[str]) -> dict[str, str]:
    """Push these keys (the task's body). Returns key -> resulting status."""
    pusher = _pushers.get(target)
    results: dict[str, str] = {}
    for key in keys:
        release_claim(target, key)
        row = SyncTarget.objects.filter(target=target, key=key).first()
        if row is None:
            continue
        version = row.desired_version
        try:
            if pusher is None:
                raise NotConfigured(f"No pusher registered for target {target!r}.")
            pusher.push(key)
        except NotConfigured as exc:
            _settle(row, version, SyncStatus.NOT_CONFIGURED, str(exc))
            results[key] = SyncStatus.NOT_CONFIGURED
        except PushFailed as exc:
            results[key] = _fail(row, str(exc), exc.retryable)
        except Exception as exc:  # a bug in rendering must not wedge the key: record it and keep going
            log.exception("sync: push of %s:%s crashed", target, key)
            results[key] = _fail(row, f"{type(exc).__name__}: {exc}", retryable=True)
        else:
            _settle(row, version, SyncStatus.SYNCED, "")
            results[key] = SyncStatus.SYNCED
    if pusher is not None and any(s == SyncStatus.SYNCED for s in results.values()):
        try:
            pusher.finish()
        except PushFailed as exc:
            log.warning("sync: %s finish failed: %s (the reconciler tries again)", target, exc)
    return results


def _settle(row: SyncTarget, version: int, status: str, message: str) -> None:
    """Record a push of `version`; a change that arrived meanwhile keeps the key pending (and queued)."""
    now = timezone.now()
    with transaction.atomic():
        current = SyncTarget.objects.select_for_update().filter(pk=row.pk).first()
        if current is None:  # removed meanwhile (its organisation was deleted): nothing left to record
            return
        current.pushed_version = max(current.pushed_version, version)
        lagging = current.pushed_version < current.desired_version
        current.status = SyncStatus.PENDING if lagging and status == SyncStatus.SYNCED else status
        current.attempts = 0
        current.last_error = message
        current.next_attempt_at = None
        current.last_pushed_at = now
        current.save()
    if lagging:
        enqueue([(row.target, row.key)])


def _fail(row: SyncTarget, message: str, retryable: bool) -> str:
    with transaction.atomic():
        current = SyncTarget.objects.select_for_update().filter(pk=row.pk).first()
        if current is None:
            return SyncStatus.FAILED
        current.attempts += 1
        current.last_error = message[:2000]
        if retryable and current.attempts < MAX_ATTEMPTS:
            delay = backoff(current.attempts)
            current.status = SyncStatus.RETRYING
            current.next_attempt_at = timezone.now() + timedelta(seconds=delay)
        else:
            delay = None
            current.status = SyncStatus.FAILED
            current.next_attempt_at = None
        current.save()
    # One retry chain per key: the scheduled retry holds the key's claim, so changes committed during an
    # outage do not start chains of their own (the retry pushes their state too: it renders the whole key).
    # Embedded mode runs tasks inline: a countdown would be ignored and retries would recurse inside the web
    # request, so there the failure is only recorded (Retry now, or the next change, pushes again).
    if delay is not None and not settings.CELERY_TASK_ALWAYS_EAGER and _claim(row.target, row.key):
        from .tasks import push_keys

        push_keys.apply_async((row.target, [row.key]), countdown=delay, queue=_queue())
    return current.status


def reconcile(now=None, grace_seconds: float = 15.0) -> int:
    """Re-enqueue every key whose pushed version lags (lost message, killed worker), except those waiting
    for their backoff or given up on (failed: retried by an administrator)."""
    now = now or timezone.now()
    lagging = (SyncTarget.objects.exclude(status__in=[SyncStatus.FAILED, SyncStatus.NOT_CONFIGURED])
               .filter(pushed_version__lt=F("desired_version"), updated__lt=now - timedelta(seconds=grace_seconds))
               .exclude(status=SyncStatus.RETRYING, next_attempt_at__gt=now)
               .values_list("target", "key"))
    keys = list(lagging[:10000])
    for target, key in keys:
        release_claim(target, key)  # a claim left by a lost message must not block the re-queue
    return enqueue(keys) if keys else 0


def retry_now(targets: Iterable[SyncTarget]) -> int:
    """An administrator's "retry now": reset attempts and push again at once."""
    keys = []
    for row in targets:
        SyncTarget.objects.filter(pk=row.pk).update(attempts=0, next_attempt_at=None, status=SyncStatus.PENDING)
        release_claim(row.target, row.key)
        keys.append((row.target, row.key))
    return enqueue(keys)


# --------------------------------------------------------------------------------------------- reading state


@dataclass
class ObjectSyncState:
    target: str
    status: str
    error: str
    sync_target: SyncTarget

    @property
    def status_label(self) -> str:
        return SyncStatus(self.status).label


def object_status(*objects) -> list[ObjectSyncState]:
    """Per target, whether the latest changes of these objects (an object and its parts, e.g. a person and its
    line) have landed there; the worst state wins."""
    condition = Q(pk__in=[])
    for obj in objects:
        if obj is not None:
            condition |= Q(object_type=obj._meta.model_name, object_id=str(obj.pk))
    rows = ObjectSync.objects.filter(condition).select_related("sync_target").order_by("sync_target__target")
    states: dict[str, ObjectSyncState] = {}
    severity = {SyncStatus.SYNCED: 0, SyncStatus.NOT_CONFIGURED: 1, SyncStatus.PENDING: 2,
                SyncStatus.RETRYING: 3, SyncStatus.FAILED: 4}
    for row in rows:
        target = row.sync_target
        if target.pushed_version >= row.version:
            status = SyncStatus.NOT_CONFIGURED if target.status == SyncStatus.NOT_CONFIGURED else SyncStatus.SYNCED
        else:
            status = target.status if target.status != SyncStatus.SYNCED else SyncStatus.PENDING
        state = ObjectSyncState(target.target, status, target.last_error if status != SyncStatus.SYNCED else "",
                                target)
        if target.target not in states or severity[status] > severity[states[target.target].status]:
            states[target.target] = state
    return list(states.values())
