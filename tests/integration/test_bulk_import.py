"""Users CSV import: preview, apply, Control Hub's semantics, errors per row and column, audit with source CSV."""
import pytest

from calling.models import Line
from controlhub.models import AuditEvent, AuditSource, JobState
from tests.conftest import free_number, licence, org_location
from users.bulk import columns as C
from users.bulk import jobs
from users.models import LicenseKind, Person

from .bulk_support import HEADER, csv_bytes, error_report, errors_of, preview, run_import

pytestmark = pytest.mark.django_db


def test_creates_people_with_calling_and_audits_with_source_csv(org):
    hq = org_location(org, "HQ")
    number = free_number(hq)
    data = csv_bytes([["Åsa", "Öberg", "", "asa@example.com", "3001", number, "HQ", "TRUE", "TRUE"],
                      ["Zoë", "Li", "王 Li", "Zoe@Example.com", "", "", "", "", "TRUE"]])
    job = run_import(org, data)
    assert job.state == JobState.SUCCEEDED, job.message
    assert job.counts["applied"] == {"create": 2, "update": 0}
    asa = Person.objects.get(email="asa@example.com")
    assert (asa.first_name, asa.last_name, asa.display_name, asa.location) == ("Åsa", "Öberg", "Åsa Öberg", hq)
    assert asa.line.extension == "3001" and asa.line.number.e164 == number
    assert Person.objects.get(pk=asa.pk).service_kinds == {LicenseKind.CALLING_PROFESSIONAL, LicenseKind.MESSAGING}
    zoe = Person.objects.get(email="zoe@example.com")
    assert zoe.display_name == "王 Li" and not hasattr(zoe, "line")
    events = AuditEvent.objects.filter(organization=org, source=AuditSource.CSV)
    assert events.filter(object_type="person", action="CREATE").count() == 2
    assert events.filter(object_type="line", action="CREATE").count() == 1


def test_preview_writes_nothing_and_counts_every_outcome(org, make_calling_person):
    existing = make_calling_person(org, "2001")
    before = Person.objects.count()
    data = csv_bytes([["New", "One", "", "new1@example.com", "", "", "", "", ""],
                      ["", "", "", existing.email, "", "", "", "", ""],
                      ["", "", "", existing.email.upper().replace("@", "@") + "x", "", "", "", "", ""],
                      ["Pat", "Changed", "", "", "", "", "", "", ""]])
    job = preview(org, data)
    assert job.state == JobState.READY
    assert Person.objects.count() == before
    assert job.counts == {"create": 2, "update": 0, "unchanged": 1, "error": 1}
    assert errors_of(job)[5] == [(C.EMAIL, "This column is required.")]


def test_blank_is_unchanged_and_remove_clears(org, make_calling_person):
    person = make_calling_person(org, "2002", with_number=True)
    Person.objects.filter(pk=person.pk).update(title="Boss", department="Sales")
    header = [C.EMAIL, C.TITLE, C.DEPARTMENT, C.PHONE_NUMBER, C.EXTENSION]
    job = run_import(org, csv_bytes([[person.email, "REMOVE", "", "REMOVE", ""]], header=header))
    assert job.state == JobState.SUCCEEDED, job.message
    person.refresh_from_db()
    assert (person.title, person.department) == ("", "Sales")
    line = Line.objects.get(person=person)
    assert line.extension == "2002" and line.number is None
    update = AuditEvent.objects.get(object_type="line", action="UPDATE", source=AuditSource.CSV)
    assert update.after == {"number": None}


def test_the_preview_names_the_calling_columns_a_row_sets(org, make_calling_person):
    leaving = make_calling_person(org, "2004")
    number = free_number(org_location(org, "HQ"))
    rows = [["A", "", "", "ext@example.com", "3001", "", "HQ", "TRUE", ""],
            ["B", "", "", "both@example.com", "3002", number, "HQ", "TRUE", ""],
            ["", "", "", leaving.email, "", "", "", "FALSE", ""]]
    job = preview(org, csv_bytes(rows), mode="add-and-remove-services")
    changes = {r["email"]: r["changes"] for kind in ("create", "update") for r in job.preview["rows"][kind]}
    assert changes["ext@example.com"][-1] == "Calling (extension)"
    assert changes["both@example.com"][-1] == "Calling (extension, phone number)"
    assert changes[leaving.email] == ["Services", "Calling (removed)"]


def test_add_services_only_never_removes_but_add_and_remove_does(org):
    data = csv_bytes([["A", "B", "", "svc@example.com", "", "", "", "", "TRUE"]])
    run_import(org, data)
    person = Person.objects.get(email="svc@example.com")
    assert person.service_kinds == {LicenseKind.MESSAGING}
    off = csv_bytes([["", "", "", "svc@example.com", "", "", "", "", "FALSE"]])
    job = run_import(org, off, mode="add-services")
    person.refresh_from_db()
    assert job.counts["unchanged"] == 1 and person.service_kinds == {LicenseKind.MESSAGING}
    job = run_import(org, off, mode="add-and-remove-services")
    person.refresh_from_db()
    assert job.counts["applied"]["update"] == 1 and not person.licenses


def test_removing_the_calling_licence_ends_calling(org, make_calling_person):
    person = make_calling_person(org, "2003")
    job = run_import(org, csv_bytes([["", "", "", person.email, "", "", "", "FALSE", ""]]),
                     mode="add-and-remove-services")
    assert job.state == JobState.SUCCEEDED and job.counts["applied"]["update"] == 1
    assert not Line.objects.filter(person=person).exists()
    assert AuditEvent.objects.filter(object_type="line", action="DELETE", source=AuditSource.CSV).exists()


def test_every_bad_row_is_reported_with_row_column_and_reason_and_never_applied(org, other_org,
                                                                                  make_calling_person):
    taken = make_calling_person(org, "4000")
    elsewhere = make_calling_person(other_org, "4100")
    hq = org_location(org, "HQ")
    branch_number = free_number(org_location(org, "Branch"))
    rows = [
        ["A", "", "", "not-an-email", "", "", "", "", ""],                       # 2
        ["A", "", "", "dup@example.com", "", "", "", "", ""],                    # 3
        ["A", "", "", "DUP@example.com", "", "", "", "", ""],                    # 4
        ["A", "", "", "loc@example.com", "", "", "Mars", "", ""],                # 5
        ["A", "", "", "ext@example.com", "4000", "", "HQ", "TRUE", ""],          # 6 extension in use
        ["A", "", "", "num@example.com", "", "+14155550123", "HQ", "TRUE", ""],  # 7 not in inventory
        ["A", "", "", "plus@example.com", "", free_number(hq)[1:], "HQ", "TRUE", ""],  # 8 + stripped
        ["A", "", "", "x1@example.com", "5000", "", "HQ", "TRUE", ""],           # 9 same ext twice in file
        ["A", "", "", "x2@example.com", "5000", "", "HQ", "TRUE", ""],           # 10
        ["A", "", "", "bool@example.com", "", "", "", "yes", ""],                # 11
        ["A", "", "", "nolic@example.com", "5001", "", "HQ", "", ""],            # 12 calling without licence
        ["A", "", "", "noloc@example.com", "5002", "", "", "TRUE", ""],          # 13 calling without location
        ["A", "", "", "wrongloc@example.com", "", branch_number, "HQ", "TRUE", ""],  # 14 number of Branch
        ["A", "", "", taken.email, "", "", "Branch", "", ""],                    # 15 location change
        ["A", "", "", elsewhere.email, "", "", "", "", ""],                      # 16 other organisation
        ["A", "", "", "bad-ext@example.com", "12ab", "", "HQ", "TRUE", ""],      # 17
        ["Fine", "", "", "fine@example.com", "", "", "", "", ""],                # 18
    ]
    before = Person.objects.count()
    job = run_import(org, csv_bytes(rows))
    assert job.state == JobState.SUCCEEDED
    assert job.counts["error"] == 16 and job.counts["applied"]["create"] == 1
    assert Person.objects.count() == before + 1
    report = {r[C.EMAIL]: r[C.ERROR] for r in error_report(job)}
    assert len(report) == 16 and "fine@example.com" not in report
    errors = errors_of(job)  # the preview: the first ten error rows, by row number
    assert errors[2][0][0] == C.EMAIL
    assert "rows 3, 4" in errors[3][0][1] and errors[4][0][0] == C.EMAIL
    assert errors[5] == [(C.LOCATION, "There is no location named “Mars”.")]
    assert errors[6][0][0] == C.EXTENSION and "already in use" in errors[6][0][1]
    assert errors[7][0][0] == C.PHONE_NUMBER and "inventory" in errors[7][0][1]
    assert errors[8][0][0] == C.PHONE_NUMBER and "no leading +" in errors[8][0][1]
    assert "rows 9, 10" in errors[9][0][1] and "rows 9, 10" in errors[10][0][1]
    assert errors[11][0][0] == "Webex Calling - Professional"
    assert report["nolic@example.com"].startswith("Extension: Assign a Webex Calling licence")
    assert report["noloc@example.com"] == "Location: A calling user needs a location."
    assert "belongs to another location" in report["wrongloc@example.com"]
    assert report[taken.email].startswith("Location: A user's location cannot be changed by CSV")
    assert "already exists" in report[elsewhere.email]
    assert "not an extension" in report["bad-ext@example.com"]
    assert not Person.objects.filter(email__in=[e.lower() for e in report]).exclude(
        pk__in=[taken.pk, elsewhere.pk]).exists()


def test_errors_beyond_the_preview_are_all_in_the_report_and_a_fixed_report_reimports(org):
    rows = [["A", "", "", f"user{i}@example.com", "", "", "Nowhere", "", ""] for i in range(25)]
    job = run_import(org, csv_bytes(rows))
    assert job.counts["error"] == 25
    report = error_report(job)
    assert len(report) == 25 and list(report[0])[-1] == C.ERROR
    assert report[0][C.ERROR] == "Location: There is no location named “Nowhere”."
    fixed = [[r[h] if h != C.LOCATION else "HQ" for h in HEADER] + [r[C.ERROR]] for r in report]
    job = run_import(org, csv_bytes(fixed, header=HEADER + [C.ERROR]))
    assert job.state == JobState.SUCCEEDED, (job.state, job.message)
    assert job.counts["applied"]["create"] == 25


def test_unknown_columns_are_reported_with_the_nearest_known_name(org):
    job = preview(org, csv_bytes([["a@example.com", "1"]], header=[C.EMAIL, "Extenson"]))
    assert job.state == JobState.FAILED
    assert "Unknown column “Extenson”. Did you mean “Extension”?" in job.message


def test_read_only_columns_are_ignored(org, make_calling_person):
    person = make_calling_person(org, "2004")
    header = [C.EMAIL, C.STATUS, C.LAST_ACCESS, C.CALLER_ID_NUMBER]
    job = preview(org, csv_bytes([[person.email, "Deactivated", "yesterday", "+1999"]], header=header))
    assert job.counts["unchanged"] == 1


def test_suggests_nothing_silly_for_a_missing_email_column(org):
    job = preview(org, csv_bytes([["A"]], header=[C.FIRST_NAME]))
    assert job.state == JobState.FAILED and C.EMAIL in job.message


def test_licence_units_run_out_in_row_order(org):
    lic = licence(org, LicenseKind.MESSAGING)
    lic.total_units = 2
    lic.save()
    rows = [["A", "", "", f"u{i}@example.com", "", "", "", "", "TRUE"] for i in range(3)]
    exact = preview(org, csv_bytes(rows[:2]))  # exactly the units left: every row fits
    assert exact.counts["create"] == 2, exact.preview
    jobs.cancel(exact)
    job = run_import(org, csv_bytes(rows))
    assert job.counts["applied"]["create"] == 2
    assert errors_of(job)[4][0] == ("Basic Messaging", "No Basic Messaging licences left (2 of 2 assigned).")


def test_rows_past_the_last_licence_unit_cost_no_query_each(org, django_assert_max_num_queries):
    # Found by hand: 20k rows for an organisation with 100 units took 38 s to check, one count query per row.
    from users.bulk.parse import parse_csv
    from users.bulk.validate import validate

    lic = licence(org, LicenseKind.MESSAGING)
    lic.total_units = 2
    lic.save()

    def check(rows: int):
        parsed = parse_csv(csv_bytes([["A", "", "", f"u{i}@example.com", "", "", "", "", "TRUE"]
                                      for i in range(rows)]))
        with django_assert_max_num_queries(12) as queries:
            plans = validate(org, parsed, "add-services").plans
        return len(queries), [plan.kind for plan in plans].count("error")

    few, many = check(5), check(300)
    assert (few[1], many[1]) == (3, 298)
    assert many[0] == few[0]


def test_location_admin_is_held_to_their_locations(org, make_admin, make_calling_person):
    from controlhub.roles import Role

    admin = make_admin(Role.LOCATION_ADMIN, org=org, locations=[org_location(org, "HQ")])
    outsider = make_calling_person(org, "2005", location_name="Branch")
    rows = [["In", "", "", "in@example.com", "", "", "HQ", "", ""],
            ["Out", "", "", "out@example.com", "", "", "Branch", "", ""],
            ["", "", "Renamed", outsider.email, "", "", "", "", ""]]
    job = run_import(org, csv_bytes(rows), account=admin)
    assert job.counts["applied"]["create"] == 1
    errors = errors_of(job)
    assert errors[3] == [(C.LOCATION, "You can only use locations you administer.")]
    assert errors[4] == [(C.EMAIL, "Your administrator role does not allow changing this user.")]
    outsider.refresh_from_db()
    assert outsider.display_name != "Renamed"
    assert AuditEvent.objects.filter(actor=admin, source=AuditSource.CSV).count() == 1


def test_header_only_and_blank_files(org):
    job = run_import(org, csv_bytes([]))
    assert job.state == JobState.SUCCEEDED and job.counts["applied"] == {"create": 0, "update": 0}
    job = preview(org, b"\r\n\r\n")
    assert job.state == JobState.FAILED and job.message == "The file is empty."


def test_existing_user_gains_calling_through_csv(org):
    data = csv_bytes([["A", "B", "", "gain@example.com", "", "", "Branch", "TRUE", ""]])
    run_import(org, data)
    number = free_number(org_location(org, "Branch"))
    job = run_import(org, csv_bytes([["", "", "", "gain@example.com", "8123", number, "", "", ""]]))
    assert job.counts["applied"]["update"] == 1, job.preview
    line = Line.objects.get(person__email="gain@example.com")
    assert (line.extension, line.number.e164, line.location.name) == ("8123", number, "Branch")


def test_location_admin_cannot_add_people_without_a_location(org, make_admin):
    from controlhub.roles import Role
    from users.bulk import apply, validate

    admin = make_admin(Role.LOCATION_ADMIN, org=org, locations=[org_location(org, "HQ")])
    job = run_import(org, csv_bytes([["No", "", "", "noloc-admin@example.com", "", "", "", "", ""]]), account=admin)
    assert errors_of(job)[2] == [(C.LOCATION, "You can only use locations you administer.")]
    # and the apply step enforces it on its own, as create_person does
    from controlhub.actions import Actor

    plan = validate.RowPlan(row=2, email="sneaky@example.com", index=0, kind=validate.CREATE)
    failed = apply.apply_plans(Actor(account=admin, source=AuditSource.CSV), org, [plan])
    assert failed and "locations you administer" in failed[0][1]
    assert not Person.objects.filter(email="sneaky@example.com").exists()


def test_welcome_mail_is_one_task_per_batch_after_it_commits(org, monkeypatch, django_capture_on_commit_callbacks):
    """Control Hub mails the people a CSV adds unless the administrator turns it off: one task per batch (not one
    per row), queued only once the batch has committed."""
    from celery.signals import before_task_publish

    from users.bulk import jobs

    published = []

    def record(sender=None, body=None, **kwargs):
        published.append((sender, body[0]))

    before_task_publish.connect(record)
    try:
        monkeypatch.setattr(jobs, "BATCH_SIZE", 2)
        rows = [["A", "", "", f"mail{i}@example.com", "", "", "HQ", "", ""] for i in range(5)]
        with django_capture_on_commit_callbacks(execute=True):
            job = run_import(org, csv_bytes(rows))
        assert job.counts["applied"]["create"] == 5
        mails = [args for name, args in published if name == "users.bulk.tasks.send_welcome_mails"]
        assert [len(ids) for (ids,) in mails] == [2, 2, 1]
        created = {str(pk) for pk in Person.objects.filter(email__startswith="mail").values_list("pk", flat=True)}
        assert {pk for (ids,) in mails for pk in ids} == created
        assert not [name for name, _args in published if name == "users.tasks.send_welcome_mail"]
        published.clear()
        from .bulk_support import preview

        job = preview(org, csv_bytes([["B", "", "", "quiet@example.com", "", "", "HQ", "", ""]]))
        job.options["welcome_mail"] = False
        job.save(update_fields=["options"])
        jobs.confirm(job, background=False)
        with django_capture_on_commit_callbacks(execute=True):
            job = jobs.apply_job(job)
        assert job.counts["applied"]["create"] == 1 and not published
    finally:
        before_task_publish.disconnect(record)


def test_bulk_audit_events_are_what_the_single_object_actions_record(org, make_calling_person):
    """The set-based apply writes snapshots from the values it wrote: they must equal `audit_snapshot()` of the
    rows as stored, for creates, updates and deletes of people and lines."""
    from calling.models import Number

    hq = org_location(org, "HQ")
    number = free_number(hq)
    job = run_import(org, csv_bytes([["Åsa", "Öberg", "", "shape@example.com", "3101", number, "HQ", "TRUE", "TRUE"]]))
    assert job.counts["applied"]["create"] == 1
    person = Person.objects.get(email="shape@example.com")
    line = Line.objects.get(person=person)
    events = AuditEvent.objects.filter(source=AuditSource.CSV)
    created = events.get(object_type="person", object_id=str(person.pk))
    assert (created.action, created.before, created.after) == ("CREATE", None, person.audit_snapshot())
    assert created.object_repr == str(person) and created.organization_id == org.pk
    line_created = events.get(object_type="line", object_id=str(line.pk))
    assert line_created.after == line.audit_snapshot() and line_created.object_repr == str(line)
    # update: a name, a service and the extension change; only the changed fields are kept
    before_person, before_line = person.audit_snapshot(), line.audit_snapshot()
    header = [C.EMAIL, C.DISPLAY_NAME, C.EXTENSION, "Basic Messaging"]
    job = run_import(org, csv_bytes([[person.email, "Åsa Ö", "3102", "FALSE"]], header=header),
                     mode="add-and-remove-services")
    assert job.counts["applied"]["update"] == 1, job.preview
    person = Person.objects.get(pk=person.pk)
    line = Line.objects.get(pk=line.pk)
    update = events.get(object_type="person", action="UPDATE")
    changed = {k for k, v in person.audit_snapshot().items() if before_person[k] != v}
    assert changed == {"display_name", "licenses"}
    assert update.before == {k: before_person[k] for k in changed}
    assert update.after == {k: person.audit_snapshot()[k] for k in changed}
    line_update = events.get(object_type="line", action="UPDATE")
    assert line_update.before == {"extension": before_line["extension"]} and line_update.after == {"extension": "3102"}
    assert line_update.object_repr == str(line)
    # delete: removing the calling licence ends the line
    job = run_import(org, csv_bytes([[person.email, "FALSE"]], header=[C.EMAIL, "Webex Calling - Professional"]),
                     mode="add-and-remove-services")
    assert job.counts["applied"]["update"] == 1
    deleted = events.get(object_type="line", action="DELETE")
    assert deleted.before == line.audit_snapshot() and deleted.after is None and deleted.object_repr == str(line)
    assert Number.objects.get(e164=number).owner is None


def test_a_value_repeated_on_many_rows_names_the_first_rows_and_how_many_more(org):
    # Each row's message once listed every row of the value: 20k rows with one extension made 20k messages of
    # 20k row numbers each (gigabytes). Now the first five and a count, one shared message per value.
    rows = [["A", "", "", f"u{i}@example.com", "4555", "", "HQ", "TRUE", ""] for i in range(300)]
    rows += [["B", "", "", "twice@example.com", "", "", "", "", "TRUE"]] * 2
    job = preview(org, csv_bytes(rows))
    assert job.counts["error"] == 302
    report = {(r[C.EMAIL], r[C.EXTENSION]): r[C.ERROR] for r in error_report(job)}
    expected = "Extension: Extension 4555 appears in more than one row (rows 2, 3, 4, 5, 6 and 295 more)."
    assert report[("u0@example.com", "4555")] == expected
    assert report[("u299@example.com", "4555")] == expected
    assert report[("twice@example.com", "")].endswith("twice@example.com appears more than once in the file "
                                                      "(rows 302, 303); keep one row per user.")
