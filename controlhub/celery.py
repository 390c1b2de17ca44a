"""Celery application: the distributed engine for pushes, imports and mail (DESIGN section 2)."""
import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "controlhub.settings")

app = Celery("controlhub")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
