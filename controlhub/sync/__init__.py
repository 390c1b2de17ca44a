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

from django.apps import apps
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import BigIntegerField, Case, CharField, F, Q, Value, When
from django.db.models.functions import Greatest
from django.utils import timezone

from ..bulkwrite import unchecked_copy
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

    def push_batch(self, keys: list[str]) -> dict[str, Exception | None]:
        """Push several keys; key -> None (pushed) or the exception that key failed with.

        The default pushes key by key. A target that can do better (render a batch with constant queries, send
        it in one request) overrides this; either way each key reports its own outcome, so one bad key never
        holds the others back.
        """
        outcomes: dict[str, Exception | None] = {}
        for key in keys:
            try:
                self.push(key)
            except Exception as exc:  # noqa: BLE001 - reported per key, classified by push_now
                outcomes[key] = exc
            else:
                outcomes[key] = None
        return outcomes

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
       status = CASE WHEN controlhub_synctarget.status IN ('FAILED', 'RETRYING') THEN controlhub_synctarget.status
                     ELSE 'PENDING' END,
       updated = excluded.updated
RETURNING id, target, key, desired_version
"""


def bump(objects: Iterable, keys: list[Iterable[TargetKey]] | None = None) -> None:
    """Record, in the caller's transaction, that these objects changed: their keys' desired versions go up.

    A key that failed stays failed (an administrator retries it); one waiting for its retry stays retrying, with
    its error shown: that retry pushes the new change too, and no other push is queued meanwhile (see `_fail_many`).

    Costs one statement for the keys and one for the objects, however many objects a batch holds. `keys`: each
    object's target keys (in the same order) when the caller already knows them (see `bump_bulk`); by default
    the registered key functions name them.
    """
    by_key: dict[tuple[str, str], TargetKey] = {}
    object_keys: list[tuple[str, str, tuple[str, str]]] = []
    objects = list(objects)
    for obj, obj_keys in zip(objects, keys_by_object(objects) if keys is None else keys, strict=True):
        for tk in obj_keys:
            by_key.setdefault((tk.target, tk.key), tk)
            object_keys.append((obj._meta.model_name, str(obj.pk), (tk.target, tk.key)))
    if not by_key:
        return
    now = timezone.now()
    params: list = []
    rows = []
    # Raw SQL, so values are prepared as Django would for this database (SQLite keeps UUIDs as 32 hex digits).
    org_field = SyncTarget._meta.get_field("organization")
    for (target, key), tk in sorted(by_key.items()):  # in key order, as `bump_bulk` (no deadlocks)
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


def bump_bulk(objects: Iterable, keys: list[Iterable[TargetKey]] | None = None) -> None:
    """`bump` for batches of thousands of objects (CSV import): the same keys and versions, written with COPY.

    The objects' keys come from the same registered key functions, or from `keys` (each object's target keys, in
    the same order) when the caller knows them: an import that wrote the rows itself can name them with a query
    per batch, where the generic functions would look every object up again. The keys' versions go up with the
    same upsert; the per-object versions are copied into a temporary table and merged with one INSERT … ON
    CONFLICT, instead of an INSERT whose thousands of parameters are bound one by one. Other databases than
    PostgreSQL use `bump`.
    """
    objects = list(objects)
    if connection.vendor != "postgresql":
        bump(objects, keys)
        return
    by_key: dict[tuple[str, str], TargetKey] = {}
    object_keys: dict[tuple[str, str, tuple[str, str]], None] = {}
    for obj, obj_keys in zip(objects, keys_by_object(objects) if keys is None else keys, strict=True):
        object_type, object_id = obj._meta.model_name, str(obj.pk)
        for tk in obj_keys:
            by_key.setdefault((tk.target, tk.key), tk)
            object_keys[(object_type, object_id, (tk.target, tk.key))] = None
    if not by_key:
        return
    now = timezone.now()
    rows, params = [], []
    # In key order: transactions bumping overlapping keys (an import's batches applied at once) then lock them in
    # the same order, and wait for each other instead of deadlocking.
    for (target, key), tk in sorted(by_key.items()):
        rows.append("(%s, %s, %s, 1, 0, 'PENDING', 0, '', %s)")
        params += [target, key, tk.organization_id, now]
    table = ObjectSync._meta.db_table
    columns = "object_type, object_id, sync_target_id, version"

    def copy_into(cursor, into: str) -> None:
        # COPY's text format written directly, one block per batch: a row per object and key would otherwise
        # cost a Python call and four dumps each. Only ids need escaping (a model name or number never does).
        with cursor.cursor.copy(f"COPY {into} ({columns}) FROM STDIN") as copy:
            copy.write("".join(
                f"{object_type}\t{_copy_text(object_id)}\t{versions[key][0]}\t{versions[key][1]}\n"
                for object_type, object_id, key in object_keys))

    # The temporary table empties itself at commit: keep the copy and the merge in one transaction.
    with transaction.atomic(), connection.wrap_database_errors, connection.cursor() as cursor:
        cursor.execute(_UPSERT.format(values=", ".join(rows)), params)
        versions = {(target, key): (pk, version) for pk, target, key, version in cursor.fetchall()}
        try:
            # Objects new to the pipeline (what an import creates) have no versions yet: copy them straight in.
            # Every sync target these rows point at was written (and locked) by the upsert above: no trigger
            # needs to look each one up again (see `controlhub.bulkwrite`).
            with transaction.atomic(), connection.wrap_database_errors, unchecked_copy(cursor):
                copy_into(cursor, table)
        except IntegrityError:  # some have: merge through a temporary table
            cursor.execute("CREATE TEMP TABLE IF NOT EXISTS bulk_objectsync (object_type varchar(40), "
                           "object_id varchar(64), sync_target_id bigint, version bigint) ON COMMIT DELETE ROWS")
            cursor.execute("TRUNCATE bulk_objectsync")
            copy_into(cursor, "bulk_objectsync")
            cursor.execute(f"INSERT INTO {table} ({columns}) SELECT {columns} FROM bulk_objectsync "
                           "ON CONFLICT (object_type, object_id, sync_target_id) "
                           "DO UPDATE SET version = EXCLUDED.version")
    _enqueue_on_commit(list(by_key))


_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_text(value: str) -> str:
    """A value as COPY's text format reads it (ids are UUIDs or numbers: the check is all they cost)."""
    return value.translate(_COPY_ESCAPES) if ("\\" in value or "\t" in value or "\n" in value or "\r" in value) \
        else value


def _enqueue_on_commit(keys: list[tuple[str, str]]) -> None:
    # Its own callback per bump: a rolled-back transaction drops its callbacks, and with them exactly its keys.
    # Repeats across bumps cost one Redis SET NX each (see _claim).
    transaction.on_commit(lambda: enqueue(keys))


def enqueue(keys: Iterable[tuple[str, str]]) -> int:
    """Queue pushes for these keys in batches, skipping keys that already have a push waiting."""
    from .tasks import push_keys

    keys = list(dict.fromkeys(keys))
    by_target: dict[str, list[str]] = defaultdict(list)
    for (target, key), claimed in zip(keys, _claim_many(keys), strict=True):
        if claimed:
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


def _claim_many(keys: list[tuple[str, str]]) -> list[bool]:
    """`_claim` for many keys in one Redis round trip."""
    if settings.CELERY_TASK_ALWAYS_EAGER or not keys:
        return [True] * len(keys)
    try:
        pipe = _redis().pipeline(transaction=False)
        for target, key in keys:
            pipe.set(f"sync:queued:{target}:{key}", 1, nx=True, ex=600)
        return [bool(r) for r in pipe.execute()]
    except Exception:  # Redis down: queue anyway (a duplicate push is harmless; a lost one is not)
        log.warning("sync: Redis unavailable for de-duplication; queuing %d keys", len(keys))
        return [True] * len(keys)


def release_claim(target: str, key: str) -> None:
    release_claims(target, [key])


def release_claims(target: str, keys: list[str]) -> None:
    """Clear the keys' "push waiting" flags in one round trip (a task does so before it reads the database)."""
    if settings.CELERY_TASK_ALWAYS_EAGER or not keys:
        return
    try:
        _redis().delete(*[f"sync:queued:{target}:{key}" for key in keys])
    except Exception as exc:  # the claims expire (10 min) and the reconciler re-queues lagging keys meanwhile
        log.warning("sync: could not clear %d %s claims in Redis (%s): later changes to them wait for the "
                    "reconciler", len(keys), target, exc)


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
    """Push these keys (the task's body) as one batch. Returns key -> resulting status.

    Reads every key's desired version in one query *before* pushing (a change committed during the push stays
    pending and is queued again), lets the target push the whole batch, then records the outcomes in bulk.
    """
    pusher = _pushers.get(target)
    keys = list(dict.fromkeys(keys))
    release_claims(target, keys)
    rows = {row.key: row for row in SyncTarget.objects.filter(target=target, key__in=keys)}
    if not rows:
        return {}
    if pusher is None:
        outcomes: dict[str, Exception | None] = {
            key: NotConfigured(f"No pusher registered for target {target!r}.") for key in rows}
    else:
        try:
            outcomes = pusher.push_batch(list(rows))
        except Exception as exc:  # a bug above the per-key level: every key of the batch failed with it
            log.exception("sync: batch push of %d %s keys crashed", len(rows), target)
            outcomes = {key: exc for key in rows}
    synced, not_configured, failed = [], [], {}
    for key, row in rows.items():
        exc = outcomes.get(key, PushFailed("the pusher reported nothing for this key"))
        if exc is None:
            synced.append(row)
        elif isinstance(exc, NotConfigured):
            not_configured.append((row, str(exc)))
        elif isinstance(exc, PushFailed):
            failed[key] = (row, str(exc), exc.retryable)
        else:  # a bug in rendering must not wedge the key: record it and keep going
            log.error("sync: push of %s:%s crashed", target, key, exc_info=exc)
            failed[key] = (row, f"{type(exc).__name__}: {exc}", True)
    results: dict[str, str] = {}
    results.update(_settle_many(target, [(row, row.desired_version) for row in synced], SyncStatus.SYNCED, ""))
    for message, group in _group_by_message(not_configured).items():
        results.update(_settle_many(target, [(row, row.desired_version) for row in group],
                                    SyncStatus.NOT_CONFIGURED, message))
    if failed:
        results.update(_fail_many(target, list(failed.values())))
    if pusher is not None and synced:
        try:
            pusher.finish()
        except PushFailed as exc:
            log.warning("sync: %s finish failed: %s (the reconciler tries again)", target, exc)
    return results


def _group_by_message(rows: list[tuple[SyncTarget, str]]) -> dict[str, list[SyncTarget]]:
    groups: dict[str, list[SyncTarget]] = defaultdict(list)
    for row, message in rows:
        groups[message].append(row)
    return groups


def _settle_many(target: str, pushed: list[tuple[SyncTarget, int]], status: str, message: str) -> dict[str, str]:
    """Record pushes of these versions in two statements; keys that changed meanwhile stay pending (and queued).

    `pushed_version` only moves forward (a slower, older push never overwrites a newer one); a key is *synced*
    only if what was pushed is still its desired version.
    """
    if not pushed:
        return {}
    now = timezone.now()
    ids = [row.pk for row, _ in pushed]
    version_of = Case(*[When(pk=row.pk, then=Value(version)) for row, version in pushed],
                      output_field=BigIntegerField())
    new_status: Case | Value = Value(status)
    if status == SyncStatus.SYNCED:
        # lagging <=> max(old pushed, this version) < desired <=> both are below the desired version
        new_status = Case(*[When(pk=row.pk, desired_version__gt=version, pushed_version__lt=F("desired_version"),
                                 then=Value(SyncStatus.PENDING)) for row, version in pushed],
                          default=Value(status), output_field=CharField())
    # status is computed from the old pushed_version (SQL evaluates SET expressions on the old row)
    SyncTarget.objects.filter(pk__in=ids).update(
        status=new_status, pushed_version=Greatest(F("pushed_version"), version_of), attempts=0,
        last_error=message, next_attempt_at=None, last_pushed_at=now, updated=now)
    lagging = list(SyncTarget.objects.filter(pk__in=ids, pushed_version__lt=F("desired_version"))
                   .values_list("key", flat=True))
    if lagging:
        enqueue([(target, key) for key in lagging])
    late = set(lagging)
    return {row.key: (SyncStatus.PENDING if row.key in late and status == SyncStatus.SYNCED else status)
            for row, _ in pushed}


def _fail_many(target: str, failures: list[tuple[SyncTarget, str, bool]]) -> dict[str, str]:
    """Count a failed attempt for each key; retryable ones are retried after a backoff, the others fail.

    Keys that failed together (the target was down for the whole batch) retry together: one delayed task for
    the batch, so an outage costs one retry chain per batch rather than one per key. A key failing on its own
    (a broken render) gets its own attempts counter and reaches *failed* alone; the others settle meanwhile.
    """
    by_pk = {row.pk: (message, retryable) for row, message, retryable in failures}
    now = timezone.now()
    results: dict[str, str] = {}
    retry: list[tuple[str, float]] = []
    with transaction.atomic():
        current = list(SyncTarget.objects.select_for_update().filter(pk__in=list(by_pk)).order_by("pk"))
        for row in current:
            message, retryable = by_pk[row.pk]
            row.attempts += 1
            row.last_error = message[:2000]
            if retryable and row.attempts < MAX_ATTEMPTS:
                delay = backoff(row.attempts)
                row.status = SyncStatus.RETRYING
                row.next_attempt_at = now + timedelta(seconds=delay)
                retry.append((row.key, delay))
            else:
                row.status = SyncStatus.FAILED
                row.next_attempt_at = None
            row.updated = now
            results[row.key] = row.status
        SyncTarget.objects.bulk_update(current, ["attempts", "last_error", "status", "next_attempt_at", "updated"])
    for row, _, _ in failures:
        results.setdefault(row.key, SyncStatus.FAILED)  # removed meanwhile (its organisation was deleted)
    # One retry chain per key: the scheduled retry holds the key's claim, so changes committed during an
    # outage do not start chains of their own (the retry pushes their state too: it renders the whole key).
    # Embedded mode runs tasks inline: a countdown would be ignored and retries would recurse inside the web
    # request, so there the failure is only recorded (Retry now, or the next change, pushes again).
    if retry and not settings.CELERY_TASK_ALWAYS_EAGER:
        from .tasks import push_keys

        claims = _claim_many([(target, key) for key, _ in retry])
        claimed = [item for item, ok in zip(retry, claims, strict=True) if ok]
        for start in range(0, len(claimed), PUSH_BATCH):
            chunk = claimed[start:start + PUSH_BATCH]
            push_keys.apply_async((target, [key for key, _ in chunk]), countdown=max(d for _, d in chunk),
                                  queue=_queue())
    return results


def reconcile(now=None, grace_seconds: float = 15.0) -> int:
    """Re-enqueue every key whose pushed version lags (lost message, killed worker), except those waiting
    for their backoff or given up on (failed: retried by an administrator)."""
    now = now or timezone.now()
    lagging = (SyncTarget.objects.exclude(status__in=[SyncStatus.FAILED, SyncStatus.NOT_CONFIGURED])
               .filter(pushed_version__lt=F("desired_version"), updated__lt=now - timedelta(seconds=grace_seconds))
               .exclude(status=SyncStatus.RETRYING, next_attempt_at__gt=now)
               .values_list("target", "key"))
    keys = list(lagging[:10000])
    by_target: dict[str, list[str]] = defaultdict(list)
    for target, key in keys:
        by_target[target].append(key)
    for target, target_keys in by_target.items():
        release_claims(target, target_keys)  # a claim left by a lost message must not block the re-queue
    return enqueue(keys) if keys else 0


FORGET_CHUNK = 5000


def forget_deleted_objects() -> int:
    """Remove the sync records of objects that no longer exist; returns how many.

    A deletion is pushed like any change, so a deleted object keeps its record, and so do rows deleted by cascade:
    nothing reads them again (`object_status` asks about objects that exist), but they pile up, and every import
    after a mass deletion writes into a larger unique index. A record and its object commit together, so a record
    read before its object's lookup never names an object still to come. Records whose type names no
    single model are kept. Ids are compared as `bump` wrote them (`str(pk)`), in chunks of the records' own order.
    """
    models_by_type: dict[str, list] = defaultdict(list)
    for model in apps.get_models():
        models_by_type[model._meta.model_name].append(model)
    removed = 0
    for object_type in ObjectSync.objects.order_by().values_list("object_type", flat=True).distinct():
        candidates = models_by_type.get(object_type, [])
        if len(candidates) != 1:
            continue
        model, last = candidates[0], 0
        records = ObjectSync.objects.filter(object_type=object_type).order_by("pk")
        while chunk := list(records.filter(pk__gt=last).values_list("pk", "object_id")[:FORGET_CHUNK]):
            last = chunk[-1][0]
            ids = set()
            for _pk, object_id in chunk:
                try:
                    ids.add(model._meta.pk.to_python(object_id))
                except ValidationError:
                    pass  # not an id of this model: nothing of it can exist
            existing = {str(pk) for pk in model._base_manager.filter(pk__in=ids).values_list("pk", flat=True)}
            gone = [pk for pk, object_id in chunk if object_id not in existing]
            if gone:
                removed += ObjectSync.objects.filter(pk__in=gone).delete()[0]
    return removed


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
