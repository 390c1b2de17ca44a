"""The import runs in a real Celery worker: validation and apply are queued (`.delay`), the Job is the state."""
import pytest
from django.db.models import F

from calling.sync import engine_key
from controlhub.models import AuditEvent, AuditSource, JobState
from controlhub.roles import Role
from controlhub.sync.models import SyncStatus, SyncTarget
from tests.integration.test_push_pipeline import wait_until
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
    # The worker's own pushes of what it wrote are taken by a worker, not queued where none listens: the org's
    # engine key settles (this worker has no engine: not configured) instead of staying pending behind its claim.
    key = engine_key(org.pk)
    engine = wait_until(lambda: SyncTarget.objects.filter(target=key.target, key=key.key,
                                                          pushed_version=F("desired_version")).first(),
                        what="the import's push (pending behind its claim if queued where no worker listens)")
    assert engine.status == SyncStatus.NOT_CONFIGURED


def test_people_the_file_adds_get_the_welcome_mail_after_their_batch(celery_worker_process, org, monkeypatch):
    """Control Hub invites the users a CSV adds: each batch queues one task once it has committed, and the worker
    mails that batch's new people; people the file only updates get none, and neither do the people of an import
    with the mail turned off. (The batches are applied in this process, so the tasks land on this test's queue.)"""
    from tests.conftest import SYSTEM, org_location
    from users.actions import create_person

    from .bulk_support import run_import
    from .test_welcome_mail import wait_for_mail

    mail_dir = celery_worker_process["mail_dir"]
    monkeypatch.setattr(jobs, "BATCH_SIZE", 2)
    existing = create_person(SYSTEM, org, email="already.here@example.com", location=org_location(org, "HQ"),
                             send_welcome=False)
    rows = [["Åsa", str(i), "", f"welcome{i}@example.com", "", "", "HQ", "", ""] for i in range(3)]
    rows.append(["Renamed", "", "", existing.email, "", "", "", "", ""])
    job = run_import(org, csv_bytes(rows))
    assert job.state == JobState.SUCCEEDED and job.counts["applied"] == {"create": 3, "update": 1}
    for i in range(3):
        assert "Åsa" in wait_for_mail(mail_dir, f"welcome{i}@example.com")
    quiet = jobs.start_import(org, None, csv_bytes([["Q", "", "", "quiet@example.com", "", "", "HQ", "", ""]]),
                              name="q.csv", mode="add-services", background=False, welcome_mail=False)
    jobs.confirm(jobs.validate_job(quiet), background=False)
    assert jobs.apply_job(quiet).counts["applied"]["create"] == 1
    # the worker takes tasks in order: once a later mail is out, an earlier one would be out too
    create_person(SYSTEM, org, email="marker@example.com", location=org_location(org, "HQ"))
    wait_for_mail(mail_dir, "marker@example.com")
    everything = "".join(p.read_text() for p in mail_dir.glob("*.log"))
    assert f"To: {existing.email}" not in everything and "To: quiet@example.com" not in everything
