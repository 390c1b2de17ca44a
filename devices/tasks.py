"""Celery tasks of the devices app (found by `autodiscover_tasks`)."""
from devices.provisioning.tasks import import_seen_task

__all__ = ["import_seen_task"]
