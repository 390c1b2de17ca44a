"""Portal pages of the users CSV: upload → preview → confirm → progress → error report; export; Tasks page."""
import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from controlhub.celery import app
from controlhub.models import Job, JobState
from controlhub.roles import Role
from tests.integration.portal_support import client_for
from users.bulk import columns as C
from users.bulk import jobs
from users.models import Person

from .bulk_support import csv_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture
def eager():
    """Run the import tasks in-process (the worker tests in test_bulk_worker.py use a real worker)."""
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False


@pytest.fixture
def admin_client(make_admin, org):
    return client_for(make_admin(Role.FULL_ADMIN, org=org))


def upload(client, data: bytes, mode="add-services", name="users.csv"):
    return client.post("/users/import/", {"file": SimpleUploadedFile(name, data, "text/csv"), "mode": mode})


def test_upload_preview_confirm_and_error_report(admin_client, org, eager, django_capture_on_commit_callbacks):
    data = csv_bytes([["Åsa", "Öberg", "", "asa@example.com", "", "", "HQ", "", ""],
                      ["Bad", "", "", "bad@example.com", "", "", "Mars", "", ""]])
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(admin_client, data)
    job = Job.objects.get(organization=org)
    assert response.status_code == 302 and response["Location"] == f"/tasks/{job.pk}/"
    page = admin_client.get(f"/tasks/{job.pk}/").content.decode()
    assert "Ready to apply" in page and "There is no location named “Mars”." in page
    assert not Person.objects.filter(email="asa@example.com").exists()
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(f"/tasks/{job.pk}/confirm/")
    job.refresh_from_db()
    assert job.state == JobState.SUCCEEDED
    assert Person.objects.get(email="asa@example.com").first_name == "Åsa"
    status = admin_client.get(f"/tasks/{job.pk}/", HTTP_HX_REQUEST="true").content.decode()
    assert 'id="job-status"' in status and "every 1s" not in status and "1 of 1 rows applied" in status
    report = admin_client.get(f"/tasks/{job.pk}/errors.csv")
    rows = list(csv.DictReader(io.StringIO(b"".join(report.streaming_content).decode("utf-8-sig"))))
    assert [r[C.EMAIL] for r in rows] == ["bad@example.com"] and "Mars" in rows[0][C.ERROR]
    assert "users.csv" in admin_client.get("/tasks/").content.decode()


def test_progress_counts_are_grouped_as_the_rate_is(admin_client, org):
    job = Job.objects.create(organization=org, kind=jobs.KIND, state=JobState.RUNNING, total=19941, done=15956,
                             counts={"create": 19941, "error": 59})
    page = admin_client.get(f"/tasks/{job.pk}/").content.decode()
    assert "15,956 of 19,941 rows applied" in page
    assert '<span class="card-value" data-testid="count-create">19,941</span>' in page


def test_a_file_with_nothing_to_apply_offers_no_apply_button(admin_client, org):
    from users.bulk.phones import KIND as PHONES

    users = Job.objects.create(organization=org, kind=jobs.KIND, state=JobState.READY,
                               counts={"create": 0, "update": 0, "unchanged": 3, "error": 2})
    page = admin_client.get(f"/tasks/{users.pk}/").content.decode()
    assert 'data-testid="nothing-to-apply"' in page and "every row has an error or changes nothing" in page
    assert f"/tasks/{users.pk}/confirm/" not in page and f"/tasks/{users.pk}/cancel/" in page   # Discard stays
    users.counts = {"create": 0, "update": 0, "unchanged": 3, "error": 0}
    users.save()
    assert "no row changes anything" in admin_client.get(f"/tasks/{users.pk}/").content.decode()
    users.counts = {"create": 1, "update": 2, "unchanged": 0, "error": 0}
    users.save()
    page = admin_client.get(f"/tasks/{users.pk}/").content.decode()
    assert "Apply 3 changes" in page and "nothing-to-apply" not in page
    users.counts = {"create": 19000, "update": 941, "unchanged": 0, "error": 0}
    users.save()
    assert "Apply 19,941 changes" in admin_client.get(f"/tasks/{users.pk}/").content.decode()  # as the cards group it
    # a phones file adds phones: its cards say so, and there are no updated or unchanged phones
    phones = Job.objects.create(organization=org, kind=PHONES, state=JobState.CANCELLED,
                                counts={"create": 4, "error": 1})
    page = admin_client.get(f"/tasks/{phones.pk}/").content.decode()
    assert "New phones" in page and "New users" not in page and "Updated users" not in page
    assert 'data-testid="count-unchanged"' not in page


def test_running_job_polls_and_can_be_cancelled(admin_client, org):
    job = Job.objects.create(organization=org, kind=jobs.KIND, state=JobState.RUNNING, total=10, done=4)
    page = admin_client.get(f"/tasks/{job.pk}/").content.decode()
    assert 'hx-trigger="every 1s"' in page and "4 of 10 rows applied" in page
    admin_client.post(f"/tasks/{job.pk}/cancel/")
    job.refresh_from_db()
    assert job.state == JobState.CANCELLING


def test_second_import_is_refused_with_a_reason(admin_client, org):
    Job.objects.create(organization=org, kind=jobs.KIND, state=JobState.READY, source_name="first.csv")
    response = upload(admin_client, csv_bytes([["", "", "", "x@example.com", "", "", "", "", ""]]))
    assert response.status_code == 200
    assert "still ready to apply in this organization (first.csv)" in response.content.decode()
    assert Job.objects.filter(organization=org).count() == 1


def test_file_size_cap(admin_client, org, monkeypatch):
    monkeypatch.setattr(jobs, "MAX_BYTES", 100)
    response = upload(admin_client, b"x" * 2 * 1024 * 1024)
    assert "the limit is 0 MB" in response.content.decode() or "the limit is" in response.content.decode()
    assert not Job.objects.exists()


def test_other_organisations_jobs_are_404(admin_client, other_org):
    job = Job.objects.create(organization=other_org, kind=jobs.KIND, state=JobState.READY)
    assert admin_client.get(f"/tasks/{job.pk}/").status_code == 404
    assert admin_client.post(f"/tasks/{job.pk}/confirm/").status_code == 404


def test_read_only_admin_cannot_import(make_admin, org):
    client = client_for(make_admin(Role.READ_ONLY_ADMIN, org=org))
    assert client.get("/users/import/").status_code == 403


def test_export_streams_the_whole_org_or_the_filtered_table(admin_client, org, other_org, make_calling_person):
    alice = make_calling_person(org, "3001", with_number=True)
    make_calling_person(org, "3002", location_name="Branch")
    make_calling_person(other_org, "3003")
    response = admin_client.get("/users/export/")
    assert response.streaming and response["Content-Type"].startswith("text/csv")
    text = b"".join(response.streaming_content).decode("utf-8")
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert rows[0][:5] == [C.FIRST_NAME, C.LAST_NAME, C.DISPLAY_NAME, C.EMAIL, C.STATUS]
    assert "Webex Calling - Professional" in rows[0] and len(rows) == 3
    row = dict(zip(rows[0], rows[1], strict=True))
    assert row[C.EMAIL] == alice.email and row[C.EXTENSION] == "3001"
    assert row[C.PHONE_NUMBER] == alice.line.number.e164 and row["Webex Calling - Professional"] == "TRUE"
    filtered = b"".join(admin_client.get("/users/export/?q=3002").streaming_content).decode()
    assert len(list(csv.reader(io.StringIO(filtered)))) == 2
    template = b"".join(admin_client.get("/users/export/?template=1").streaming_content).decode()
    assert len(list(csv.reader(io.StringIO(template)))) == 1


def test_users_page_has_import_and_export_buttons_and_nav_has_tasks(admin_client):
    page = admin_client.get("/users/?q=abc").content.decode()
    assert 'href="/users/export/?q=abc"' in page and 'href="/users/import/"' in page and 'href="/tasks/"' in page


def test_import_page_in_swedish(admin_client):
    from django.utils import translation

    try:
        page = admin_client.get("/users/import/", HTTP_ACCEPT_LANGUAGE="sv").content.decode()
    finally:
        translation.deactivate()  # the middleware leaves Swedish active in this thread
    assert "Importera användare från CSV" in page and "Lägg till och ta bort tjänster" in page


def test_welcome_mail_checkbox_is_on_by_default_and_can_be_turned_off(admin_client, org):
    import re

    page = admin_client.get("/users/import/").content.decode()
    assert re.search(r'<input type="checkbox" name="welcome_mail"[^>]*\bchecked\b', page)
    assert "Send new users the welcome mail" in page
    data = csv_bytes([["", "", "", "x@example.com", "", "", "", "", ""]])
    response = admin_client.post("/users/import/", {"file": SimpleUploadedFile("a.csv", data, "text/csv"),
                                                    "mode": "add-services", "welcome_mail": "on"})
    assert response.status_code == 302
    job = Job.objects.get(organization=org)
    assert job.options["welcome_mail"] is True
    jobs.cancel(job)
    upload(admin_client, data)  # an unticked box is not sent at all
    job = Job.objects.filter(organization=org).exclude(pk=job.pk).get()
    assert job.options["welcome_mail"] is False
