"""`/v1/people/csv…`: export, upload, preview, apply, error report — Webex conventions (IDs, errors, omit nulls)."""
import csv
import io

import pytest

from controlhub.models import Job, JobState
from controlhub.roles import Role
from users.bulk import columns as C
from users.bulk import jobs
from users.models import Person

from .api_fixtures import Api
from .bulk_support import csv_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(make_admin, org):
    return Api(make_admin(Role.FULL_ADMIN, org=org))


def run_validation_of(body) -> Job:
    from controlhub.api.common import parse_id

    job = Job.objects.get(pk=parse_id(body["id"], "JOB", "id"))
    return jobs.validate_job(job)


def test_upload_preview_apply_and_errors(api, org):
    data = csv_bytes([["A", "B", "", "api1@example.com", "", "", "HQ", "", ""],
                      ["C", "D", "", "api2@example.com", "", "", "Mars", "", ""]])
    response = api.client.post("/v1/people/csvImportJobs?mode=add-services", data=data, content_type="text/csv")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["latestExecutionStatus"] == "QUEUED" and body["name"] == "users.csv"
    assert "finished" not in body and None not in body.values()
    run_validation_of(body)  # the worker's part (test_bulk_worker.py runs it for real)
    detail = api.get(f"people/csvImportJobs/{body['id']}").json()
    assert detail["latestExecutionStatus"] == "READY"
    assert detail["counts"] == {"create": 1, "update": 0, "unchanged": 0, "error": 1}
    assert detail["errors"] == [{"row": 3, "email": "api2@example.com", "column": "Location",
                                 "description": "There is no location named “Mars”."}]
    applied = api.post(f"people/csvImportJobs/{body['id']}/actions/apply/invoke")
    assert applied.status_code == 202 and applied.json()["latestExecutionStatus"] == "RUNNING"
    jobs.apply_job(Job.objects.get())
    assert Person.objects.filter(email="api1@example.com").exists()
    report = api.get(f"people/csvImportJobs/{body['id']}/errors")
    rows = list(csv.DictReader(io.StringIO(b"".join(report.streaming_content).decode("utf-8-sig"))))
    assert rows[0][C.EMAIL] == "api2@example.com"
    listing = api.get("people/csvImportJobs").json()
    assert [j["id"] for j in listing["items"]] == [body["id"]]


def test_multipart_upload_and_a_second_job_is_refused_in_webex_error_shape(api, org):
    from django.core.files.uploadedfile import SimpleUploadedFile

    data = csv_bytes([["A", "B", "", "m@example.com", "", "", "", "", ""]])
    first = api.client.post("/v1/people/csvImportJobs", {"file": SimpleUploadedFile("m.csv", data)},
                            format="multipart")
    assert first.status_code == 201 and first.json()["name"] == "m.csv"
    second = api.client.post("/v1/people/csvImportJobs", {"file": SimpleUploadedFile("n.csv", data)},
                             format="multipart")
    assert second.status_code == 400
    assert "still queued" in second.json()["message"] and second.json()["trackingId"]


def test_bad_mode_missing_file_and_other_orgs_job(api, org, other_org):
    assert api.client.post("/v1/people/csvImportJobs?mode=everything", data=b"x",
                           content_type="text/csv").status_code == 400
    assert api.client.post("/v1/people/csvImportJobs", {}, format="multipart").status_code == 400
    foreign = Job.objects.create(organization=other_org, kind=jobs.KIND, state=JobState.READY)
    from controlhub.api.ids import webex_id

    assert api.get(f"people/csvImportJobs/{webex_id('JOB', foreign.pk)}").status_code == 404
    assert api.post(f"people/csvImportJobs/{webex_id('JOB', foreign.pk)}/actions/apply/invoke").status_code == 404


def test_read_only_admin_may_not_import(make_admin, org):
    api = Api(make_admin(Role.READ_ONLY_ADMIN, org=org))
    response = api.client.post("/v1/people/csvImportJobs", data=b"a", content_type="text/csv")
    assert response.status_code == 403


def test_export_and_template(api, org, make_calling_person):
    person = make_calling_person(org, "3101")
    response = api.get("people/csv")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert rows[1][3] == person.email and len(rows) == 2
    response = api.get("people/csv", params={"email": "nobody@example.com"})
    assert len(list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))) == 1
    response = api.get("people/csv", params={"template": "true"})
    assert len(b"".join(response.streaming_content).decode().splitlines()) == 1


def test_welcome_mail_field(api, org):
    data = csv_bytes([["A", "", "", "api-mail@example.com", "", "", "HQ", "", ""]])
    body = api.client.post("/v1/people/csvImportJobs", data=data, content_type="text/csv").json()
    assert body["welcomeMail"] is True
    jobs.cancel(Job.objects.get(organization=org))
    body = api.client.post("/v1/people/csvImportJobs?welcomeMail=false", data=data, content_type="text/csv").json()
    assert body["welcomeMail"] is False
    assert Job.objects.get(organization=org, state=JobState.QUEUED).options["welcome_mail"] is False
    response = api.client.post("/v1/people/csvImportJobs?welcomeMail=maybe", data=data, content_type="text/csv")
    assert response.status_code == 400 and "welcomeMail" in response.content.decode()
