"""Bulk phones CSV: MACs in any notation, duplicates in the file and the database reported per row, phones added
through the single-object action (audited with source CSV)."""
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from controlhub.models import AuditEvent, AuditSource, JobState
from controlhub.roles import Role
from devices.models import Device
from tests.integration.portal_support import client_for, make_device, make_workspace
from users.bulk import columns as C
from users.bulk import jobs
from users.bulk.phones import KIND

from .bulk_support import csv_bytes, error_report

pytestmark = pytest.mark.django_db
HEADER = [C.PHONE_OWNER, C.PHONE_MODEL, C.PHONE_MAC, C.PHONE_LOCATION]


def run(org, data, account=None):
    job = jobs.validate_job(jobs.start_import(org, account, data, name="phones.csv", mode="", kind=KIND,
                                              background=False))
    if job.state != JobState.READY:
        return job
    jobs.confirm(job, background=False)
    return jobs.apply_job(job)


def test_phones_are_added_and_every_bad_row_reported(org, other_org, make_calling_person):
    alice = make_calling_person(org, "2001")
    bob = make_calling_person(org, "2002")
    plain = make_calling_person(org, "2003")
    plain.line.delete()
    lobby = make_workspace(org, "Lobby", extension="2100")
    existing = make_device(org, make_calling_person(org, "2004"))
    rows = [
        [alice.email.upper(), "Cisco 8851", "00-1a-2b-3c-4d-01", "HQ"],         # 2 ok, dashes, upper-case email
        ["Lobby", "DMS Cisco 7841", "001a.2b3c.4d02", ""],                        # 3 ok, workspace, Cisco dots
        [bob.email, "8845", "00:1A:2B:3C:4D:03", "Branch"],                       # 4 wrong location
        [bob.email, "Cisco 9999", "001A2B3C4D04", ""],                            # 5 unknown model
        [plain.email, "Cisco 8851", "001A2B3C4D05", ""],                          # 6 no calling
        ["nobody@example.com", "Cisco 8851", "001A2B3C4D06", ""],                 # 7 unknown owner
        [bob.email, "Cisco 8851", "001A2B3C4D07", ""],                            # 8 same MAC twice
        [bob.email, "Cisco 8851", "00:1a:2b:3c:4d:07", ""],                       # 9
        [bob.email, "Cisco 8851", existing.mac, ""],                              # 10 already in the database
        [bob.email, "Cisco 8851", "zz:zz", ""],                                   # 11 not a MAC
    ]
    job = run(org, csv_bytes(rows, header=HEADER))
    assert job.state == JobState.SUCCEEDED, job.message
    assert job.counts["applied"]["create"] == 2 and job.counts["error"] == 8
    assert set(Device.objects.filter(mac__in=["001a2b3c4d01", "001a2b3c4d02"]).values_list("person", "workspace")) \
        == {(alice.pk, None), (None, lobby.pk)}
    assert Device.objects.count() == 3
    report = {r[C.PHONE_MAC]: r[C.ERROR] for r in error_report(job)}
    assert report["00:1A:2B:3C:4D:03"].startswith("Location: A phone is in its owner's location (HQ)")
    assert "not a supported phone model" in report["001A2B3C4D04"]
    assert "has no calling" in report["001A2B3C4D05"]
    assert "No user or workspace" in report["001A2B3C4D06"]
    assert "rows 8, 9" in report["001A2B3C4D07"] and "rows 8, 9" in report["00:1a:2b:3c:4d:07"]
    assert "already exists" in report[existing.mac]
    assert "not a MAC address" in report["zz:zz"]
    assert AuditEvent.objects.filter(source=AuditSource.CSV, object_type="device").count() == 2


def test_phones_file_needs_its_columns_and_is_capped(org, monkeypatch):
    job = run(org, csv_bytes([["a@example.com", "Cisco 8851"]], header=[C.PHONE_OWNER, "Modle"]))
    assert job.state == JobState.FAILED
    assert "Did you mean “Model”?" in job.message and "“MAC Address” is required" in job.message
    monkeypatch.setattr("users.bulk.phones.MAX_ROWS", 1)
    job = run(org, csv_bytes([["a", "b", "c", ""]] * 2, header=HEADER))
    assert "at most 1 rows" in job.message


def test_portal_upload_of_phones(org, make_admin, make_calling_person):
    person = make_calling_person(org, "2001")
    client = client_for(make_admin(Role.FULL_ADMIN, org=org))
    assert client.get("/devices/import/").status_code == 200
    data = csv_bytes([[person.email, "Cisco 8851", "00:1A:2B:3C:4D:99", ""]], header=HEADER)
    response = client.post("/devices/import/", {"file": SimpleUploadedFile("p.csv", data)})
    assert response.status_code == 302
    job = jobs.validate_job(jobs.Job.objects.get(kind=KIND))
    assert job.counts["create"] == 1
    assert "Phones" in client.get(f"/tasks/{job.pk}/").content.decode()
