"""The import runs in a real Celery worker: validation and apply are queued (`.delay`), the Job is the state."""
import pytest

from controlhub.models import AuditEvent, AuditSource, JobState
from controlhub.roles import Role
from users.bulk import jobs
from users.models import Person

from .bulk_support import csv_bytes

pytestmark = pytest.mark.django_db(transaction=True)


def test_worker_validates_then_applies_after_confirmation(celery_worker_process, org, make_admin):
    admin = make_admin(Role.FULL_ADMIN, org=org)
    rows = [["W", str(i), "", f"w{i}@example.com", str(7100 + i), "", "HQ", "TRUE", ""] for i in range(30)]
    rows.append(["Bad", "", "", "bad@example.com", "", "", "Mars", "", ""])
    job = jobs.start_import(org, admin, csv_bytes(rows), name="w.csv", mode="add-services")
    job = jobs.wait_for(job, timeout=30)
    assert job.state == JobState.READY, job.message
    assert job.counts == {"create": 30, "update": 0, "unchanged": 0, "error": 1}
    assert not Person.objects.filter(email__startswith="w").exists()
    jobs.confirm(job)
    job = jobs.wait_for(job, states=(JobState.SUCCEEDED, JobState.FAILED), timeout=60)
    assert job.state == JobState.SUCCEEDED, job.message
    assert job.done == job.total == 30 and job.counts["applied"]["create"] == 30
    assert Person.objects.filter(email__startswith="w", line__isnull=False).count() == 30
    events = AuditEvent.objects.filter(source=AuditSource.CSV, actor=admin)
    assert events.filter(object_type="person").count() == 30 and events.filter(object_type="line").count() == 30
    assert job.error_file
