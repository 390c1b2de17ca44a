"""Bulk phones CSV: MACs in any notation, duplicates in the file and the database reported per row, optional shared
line columns, phones added in atomic batches (audited with source CSV, one provisioning push bump per phone)."""
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext

from controlhub.models import AuditEvent, AuditSource, JobState, ObjectSync, SyncTarget
from controlhub.roles import Role
from devices.models import Device, DeviceLine, LineType
from devices.sync import phone_file_key
from tests.conftest import org_location
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
    monkeypatch.setattr(jobs, "MAX_ROWS", 1)
    job = run(org, csv_bytes([["a", "b", "c", ""]] * 2, header=HEADER))
    assert job.state == JobState.FAILED and "at most 1 phones per file" in job.message


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


def macs(n: int, start: int = 0) -> list[str]:
    return [f"00:1B:{(start + i) >> 16 & 255:02X}:{(start + i) >> 8 & 255:02X}:{(start + i) & 255:02X}:01"
            for i in range(n)]


def test_more_than_a_thousand_phones_in_batches_each_audited_and_pushed(org, make_calling_person, monkeypatch):
    """The old cap (1,000 rows, one savepoint per phone) is gone: files are capped like users files; batches are
    atomic and write each phone's audit event and provisioning push bump."""
    monkeypatch.setattr(jobs, "BATCH_SIZE", 500)
    owners = [make_calling_person(org, str(2100 + i)) for i in range(3)]
    rows = [[owners[i % 3].email, "Cisco 8845", mac, ""] for i, mac in enumerate(macs(1200))]
    job = run(org, csv_bytes(rows, header=HEADER))
    assert job.state == JobState.SUCCEEDED, job.message
    assert job.counts["applied"]["create"] == 1200 and job.done == job.total == 1200
    assert Device.objects.filter(organization=org).count() == 1200
    assert DeviceLine.objects.filter(device__organization=org, port=1, line_type=LineType.PRIMARY).count() == 1200
    assert AuditEvent.objects.filter(source=AuditSource.CSV, object_type="device", action="CREATE").count() == 1200
    device = Device.objects.get(mac="001b00000001")
    event = AuditEvent.objects.get(object_type="device", object_id=str(device.pk))
    assert event.after == device.audit_snapshot() and event.object_repr == str(device)
    key = phone_file_key(org.provisioning_key, device.mac, org.pk)
    assert SyncTarget.objects.filter(target=key.target, key=key.key, desired_version=1).exists()
    assert SyncTarget.objects.filter(target=key.target, organization=org).count() == 1200
    assert ObjectSync.objects.filter(object_type="device", object_id=str(device.pk)).count() == 2  # file + engine


def test_queries_per_batch_are_constant(org, make_calling_person, monkeypatch):
    monkeypatch.setattr(jobs, "BATCH_SIZE", 1000)
    owner = make_calling_person(org, "2200")
    counts = []
    for start, n in ((0, 3), (100, 80)):
        job = jobs.validate_job(jobs.start_import(org, None, csv_bytes(
            [[owner.email, "8851", mac, ""] for mac in macs(n, start)], header=HEADER), name="p.csv", mode="",
            kind=KIND, background=False))
        jobs.confirm(job, background=False)
        with CaptureQueriesContext(connection) as ctx:
            job = jobs.apply_job(job)
        assert job.counts["applied"]["create"] == n
        counts.append(len(ctx))
    assert counts[0] == counts[1]


def test_shared_line_columns(org, make_calling_person):
    alice = make_calling_person(org, "2301")
    bob = make_calling_person(org, "2302")
    carol = make_calling_person(org, "2303")
    lobby = make_workspace(org, "Lobby", extension="2399")
    plain = make_calling_person(org, "2304")
    plain.line.delete()
    header = HEADER + [C.phone_line_owner(2), C.phone_line_label(2), C.phone_line_owner(3), C.phone_line_label(3)]
    rows = [
        [alice.email, "Cisco 8851", "00:1C:00:00:00:01", "", bob.email, "Bob desk", "lobby", ""],  # 2 ok
        [carol.email, "Cisco 8851", "00:1C:00:00:00:02", "", "", "", bob.email.upper(), ""],        # 3 ok, gap
        [alice.email, "Cisco 8851", "00:1C:00:00:00:03", "", "nobody@example.com", "", "", ""],    # 4 unknown
        [alice.email, "Cisco 8851", "00:1C:00:00:00:04", "", alice.email, "", "", ""],             # 5 own line
        [alice.email, "Cisco 8851", "00:1C:00:00:00:05", "", bob.email, "", bob.email, ""],        # 6 twice
        [alice.email, "Cisco 7811", "00:1C:00:00:00:06", "", bob.email, "", "", ""],               # 7 one port
        [alice.email, "Cisco 8851", "00:1C:00:00:00:07", "", "", "Label only", "", ""],            # 8 no line
        [alice.email, "Cisco 8851", "00:1C:00:00:00:08", "", plain.email, "", "", ""],             # 9 no calling
        [alice.email, "Cisco 8851", "00:1C:00:00:00:09", "", bob.email, "x" * 65, "", ""],         # 10 long label
    ]
    job = run(org, csv_bytes(rows, header=header))
    assert job.state == JobState.SUCCEEDED, job.message
    assert job.counts["applied"]["create"] == 2 and job.counts["error"] == 7
    first = Device.objects.get(mac="001c00000001")
    assert [(a.port, a.line_id, a.line_type, a.line_label) for a in first.lines.order_by("port")] == [
        (1, alice.line.pk, LineType.PRIMARY, ""), (2, bob.line.pk, LineType.SHARED_CALL_APPEARANCE, "Bob desk"),
        (3, lobby.line.pk, LineType.SHARED_CALL_APPEARANCE, "")]
    assert len({a.auth_id for a in DeviceLine.objects.all()}) == DeviceLine.objects.count()  # own credentials
    second = Device.objects.get(mac="001c00000002")
    assert [(a.port, a.line_id) for a in second.lines.order_by("port")] == [(1, carol.line.pk), (3, bob.line.pk)]
    event = AuditEvent.objects.get(object_type="device", object_id=str(first.pk))
    assert event.after["members"] == [f"1:{alice.line.pk}", f"2:{bob.line.pk}", f"3:{lobby.line.pk}"]
    assert {k: v for k, v in event.after.items() if k != "members"} == first.audit_snapshot()
    report = {r[C.PHONE_MAC]: r[C.ERROR] for r in error_report(job)}
    line2 = C.phone_line_owner(2)
    assert report["00:1C:00:00:00:03"] == f"{line2}: No user or workspace “nobody@example.com” in this organization."
    assert "already on this phone" in report["00:1C:00:00:00:04"]
    assert report["00:1C:00:00:00:05"].startswith(f"{C.phone_line_owner(3)}: ") and "only once" in \
        report["00:1C:00:00:00:05"]
    assert "A Cisco 7811 has 1 line ports; there is no port 2." in report["00:1C:00:00:00:06"]
    assert report["00:1C:00:00:00:07"].startswith(f"{C.phone_line_label(2)}: A label needs a line")
    assert "no line to share" in report["00:1C:00:00:00:08"]
    assert "at most 64 characters" in report["00:1C:00:00:00:09"]
    assert Device.objects.filter(mac__startswith="001c").count() == 2


def test_unknown_line_column_is_suggested(org):
    job = run(org, csv_bytes([["a@example.com", "8851", "001c00000001", "", "b@example.com"]],
                             header=HEADER + ["Line 2 User ID/Email or Workspac"]))
    assert job.state == JobState.FAILED and "Did you mean “Line 2 User ID/Email or Workspace”?" in job.message


def test_location_admin_adds_phones_in_their_locations_only(org, make_admin, make_calling_person):
    admin = make_admin(Role.LOCATION_ADMIN, org=org, locations=[org_location(org, "HQ")])
    here = make_calling_person(org, "2401")
    there = make_calling_person(org, "2402", location_name="Branch")
    header = HEADER + [C.phone_line_owner(2)]
    rows = [[here.email, "8851", "001d00000001", "", ""],
            [there.email, "8851", "001d00000002", "", ""],
            [here.email, "8851", "001d00000003", "", there.email]]
    job = run(org, csv_bytes(rows, header=header), account=admin)
    assert job.counts["applied"]["create"] == 1 and job.counts["error"] == 2
    report = {r[C.PHONE_MAC]: r[C.ERROR] for r in error_report(job)}
    assert "No user or workspace" in report["001d00000002"]
    assert "outside the locations you administer" in report["001d00000003"]
    assert list(Device.objects.filter(mac__startswith="001d").values_list("mac", flat=True)) == ["001d00000001"]


def test_phones_template_names_the_line_columns(org, make_admin):
    client = client_for(make_admin(Role.FULL_ADMIN, org=org))
    response = client.get("/devices/import/template.csv")
    header = b"".join(response.streaming_content if response.streaming else [response.content]).decode("utf-8-sig")
    assert header.strip().split(",") == list(C.PHONE_TEMPLATE_COLUMNS)
    assert "Line 2 User ID/Email or Workspace" in header and "Line 4 Label" in header


def test_a_mac_on_many_rows_names_the_first_rows_and_how_many_more(org, make_calling_person):
    alice = make_calling_person(org, "2001")
    job = run(org, csv_bytes([[alice.email, "Cisco 8851", "00:1a:2b:3c:4d:99", ""]] * 8, header=HEADER))
    assert job.counts["error"] == 8 and not Device.objects.filter(mac="001a2b3c4d99").exists()
    assert {r[C.ERROR] for r in error_report(job)} == {
        "MAC Address: 00:1A:2B:3C:4D:99 appears in more than one row (rows 2, 3, 4, 5, 6 and 3 more)."}
