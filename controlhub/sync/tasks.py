"""Celery tasks of the push pipeline."""
from celery import shared_task

from . import forget_deleted_objects, push_now, reconcile


@shared_task(acks_late=True)
def push_keys(target: str, keys: list[str]) -> dict[str, str]:
    """Push a batch of keys of one target (whole desired state each), then finish once (e.g. one reload)."""
    return push_now(target, keys)


@shared_task
def reconcile_lagging() -> int:
    """Beat: re-enqueue keys whose pushed version lags their desired version."""
    return reconcile()


@shared_task
def forget_deleted() -> int:
    """Beat: remove the sync records of deleted objects."""
    return forget_deleted_objects()
