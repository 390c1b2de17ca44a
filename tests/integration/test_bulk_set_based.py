"""The CSV import's set-based writes on PostgreSQL: foreign keys checked once per referenced table (with the
locks PostgreSQL's own per-row checks take), ids made in bulk, and batches applied on several connections at once."""
import concurrent.futures
import threading
import uuid

import psycopg
import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from calling.actions import assign_calling
from calling.models import Line
from controlhub.actions import create_location
from controlhub.bulkwrite import insert_rows, new_ids, set_based_references
from controlhub.models import Account, AuditEvent, Job, JobState
from controlhub.sync.models import ObjectSync
from tests.conftest import SYSTEM, licence, org_location
from users.actions import create_person, create_workspace
from users.bulk import columns as C
from users.bulk import jobs
from users.models import PERSON_SERVICE_FLAGS, LicenseKind, Person

from .bulk_support import csv_bytes, run_import

PERSON_COLUMNS = ["id", "created", "updated", "organization_id", "email", "first_name", "last_name", "display_name",
                  "title", "department", "status", "location_id"]


@pytest.fixture(autouse=True)
def no_tasks_queued(monkeypatch):
    """Nothing here waits for a worker: queue no pushes or mails, which a Celery worker started for other tests
    in this process would run while the database is flushed after the test (a deadlock, seen)."""
    monkeypatch.setattr("controlhub.sync.enqueue", lambda keys: 0)
    monkeypatch.setattr(jobs, "welcome_new_people", lambda person_ids: None)


def person_row(org, email: str, location_id) -> list:
    now = timezone.now()
    return [new_ids(1)[0], now, now, org.pk, email, "Ada", "Lovelace", "Ada Lovelace", "", "", "active", location_id]


def test_new_ids_are_distinct_version_4_uuids_in_canonical_text():
    ids = new_ids(5000)
    assert len(set(ids)) == 5000
    for text in ids:
        parsed = uuid.UUID(text)
        assert (parsed.version, parsed.variant, str(parsed)) == (4, uuid.RFC_4122, text)


@pytest.mark.django_db
@pytest.mark.parametrize("role_may_skip_triggers", [True, False])
def test_a_row_pointing_at_a_missing_row_is_refused_and_nothing_is_written(org, role_may_skip_triggers, monkeypatch):
    # Whether or not the database role may switch PostgreSQL's per-row checks off, the block refuses the row.
    monkeypatch.setattr(connection, "_bulk_may_skip_triggers", role_may_skip_triggers, raising=False)
    with pytest.raises(IntegrityError, match=r"users_person\.location_id points at controlhub_location"):
        with transaction.atomic(), set_based_references():
            insert_rows(Person, PERSON_COLUMNS, [person_row(org, "ghost@example.com", uuid.uuid4())])
    assert not Person.objects.filter(email="ghost@example.com").exists()


@pytest.mark.django_db
def test_rows_inserted_in_the_same_block_count_as_present_and_ids_may_be_text_or_uuids(org):
    from calling.models import Line

    annex = create_location(SYSTEM, org, name="Annex", time_zone="Europe/Stockholm", address1="Gatan 1",
                            city="Lund", country="SE")
    person = person_row(org, "ada@example.com", annex.pk)
    now = timezone.now()
    with transaction.atomic(), set_based_references():
        insert_rows(Person, PERSON_COLUMNS, [person])
        line = [new_ids(1)[0], now, now, org.pk, "abc123", person[0], str(annex.pk), "4711"]  # location as text
        insert_rows(Line, ["id", "created", "updated", "organization_id", "sip_user", "person_id", "location_id",
                           "extension"], [line])
    assert Line.objects.get(extension="4711").person.email == "ada@example.com"


@pytest.mark.django_db(transaction=True)
def test_the_rows_pointed_at_are_locked_until_commit_as_the_per_row_checks_would_lock_them(org):
    """Without the lock, another session could delete the location between the check and the commit: its own
    check cannot see the uncommitted person, and the person would point at nothing."""
    annex = create_location(SYSTEM, org, name="Annex", time_zone="Europe/Stockholm", address1="Gatan 1",
                            city="Lund", country="SE")
    settings = connection.settings_dict
    with psycopg.connect(dbname=settings["NAME"], user=settings["USER"], host=settings["HOST"],
                         port=settings["PORT"] or 5432, autocommit=True) as other:
        other.execute("SET lock_timeout = '300ms'")
        with transaction.atomic():
            with set_based_references():
                insert_rows(Person, PERSON_COLUMNS, [person_row(org, "ada@example.com", annex.pk)])
            with pytest.raises(psycopg.errors.LockNotAvailable):
                other.execute("DELETE FROM controlhub_location WHERE id = %s", [annex.pk])
        assert Person.objects.get(email="ada@example.com").location_id == annex.pk


def _rows(n: int) -> list[list[str]]:
    return [["F", str(i), "", f"p{i}@example.com", str(6000 + i), "", "HQ", "TRUE", "TRUE"] for i in range(n)]


@pytest.mark.django_db(transaction=True)
def test_batches_run_at_once_each_on_its_own_connection(org, monkeypatch):
    monkeypatch.setattr(jobs, "BATCH_SIZE", 10)
    together = threading.Barrier(2, timeout=10)  # broken (and the import failed) unless two batches overlap
    backends = []
    original = jobs.apply_plans
    connection.ensure_connection()
    own = connection.connection.info.backend_pid

    def apply_together(actor, org_, plans):
        connection.ensure_connection()
        backends.append(connection.connection.info.backend_pid)
        if plans[0].row in (2, 12):  # the first two batches (row 1 is the header)
            together.wait()
        return original(actor, org_, plans)

    monkeypatch.setattr(jobs, "apply_plans", apply_together)
    job = run_import(org, csv_bytes(_rows(35)))
    assert job.state == JobState.SUCCEEDED, job.message
    assert job.done == 35 and job.counts["applied"]["create"] == 35
    assert Person.objects.filter(email__startswith="p", organization=org).count() == 35
    assert own not in backends and len(backends) == 4


@pytest.mark.django_db(transaction=True)
def test_a_connection_that_finishes_starts_the_next_batch_while_an_earlier_one_still_runs(org, monkeypatch):
    """A slow batch does not hold the other connection idle: the third batch starts while the first still runs,
    and the progress still counts batches in file order."""
    monkeypatch.setattr(jobs, "BATCH_SIZE", 10)
    third_started = threading.Event()
    first_saw_third = []
    progress = []
    original = jobs.apply_plans

    def apply_slow_first(actor, org_, plans):
        if plans[0].row == 2:  # the first batch waits (up to 10 s) for the third to start
            first_saw_third.append(third_started.wait(timeout=10))
        if plans[0].row == 22:
            third_started.set()
        return original(actor, org_, plans)

    real_update = Job.objects.filter

    def noting_progress(*args, **kwargs):
        queryset = real_update(*args, **kwargs)
        update = queryset.update

        def update_noting(**fields):
            if "done" in fields:
                progress.append(fields["done"])
            return update(**fields)

        queryset.update = update_noting
        return queryset

    monkeypatch.setattr(jobs, "apply_plans", apply_slow_first)
    monkeypatch.setattr(Job.objects, "filter", noting_progress)
    job = run_import(org, csv_bytes(_rows(35)))
    assert job.state == JobState.SUCCEEDED, job.message
    assert first_saw_third == [True]
    assert job.message == "35 created, 0 updated, 0 rows with errors."
    assert progress[-4:] == [10, 20, 30, 35]
    assert Person.objects.filter(email__startswith="p", organization=org).count() == 35


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("both_end_before_the_job_looks", [False, True])
def test_cancel_with_batches_at_once_reports_every_batch_that_ran(org, monkeypatch, both_end_before_the_job_looks):
    monkeypatch.setattr(jobs, "BATCH_SIZE", 10)
    if both_end_before_the_job_looks:
        # The job's thread wakes only once both running batches have ended: it must still see the cancel (it once
        # asked only while a batch still ran, and then started the rest).
        monkeypatch.setattr(jobs, "wait", lambda futures, return_when: concurrent.futures.wait(futures))
    together = threading.Barrier(2, timeout=10)
    original = jobs.apply_plans

    def apply_then_cancel(actor, org_, plans):
        if plans[0].row == 2:  # the administrator cancels while the first two batches run
            Job.objects.filter(state=JobState.RUNNING).update(state=JobState.CANCELLING)
        if plans[0].row in (2, 12):
            together.wait()
        return original(actor, org_, plans)

    monkeypatch.setattr(jobs, "apply_plans", apply_then_cancel)
    job = run_import(org, csv_bytes(_rows(35)))
    # both batches were already running when the job was cancelled: they finish and are counted, no third starts
    assert job.state == JobState.CANCELLED
    assert job.done == 20 and job.counts["applied"]["create"] == 20
    assert "Cancelled after 20 of 35 rows" in job.message
    assert Person.objects.filter(email__startswith="p", organization=org).count() == 20


def _indexes(table: str) -> dict[tuple, str]:
    """(columns) -> CREATE INDEX statement, for every index of `table`."""
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, table)
        cursor.execute("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s", [table])
        definitions = dict(cursor.fetchall())
    return {tuple(c["columns"]): definitions[name] for name, c in constraints.items() if name in definitions}


def _plan(sql: str, params: list) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        return "\n".join(row[0] for row in cursor.fetchall())


@pytest.mark.django_db
def test_an_import_writes_services_on_the_person_row_and_no_rows_elsewhere(org):
    """A person's services are flags on their row (migration users 0006): the services table, two rows and their
    index entries per imported user, is gone, and an imported user's services are read back from the flags."""
    assert "users_person_licenses" not in connection.introspection.table_names()
    assert set(PERSON_SERVICE_FLAGS) == {kind for kind in LicenseKind if kind != LicenseKind.CALLING_WORKSPACES}
    header = [C.FIRST_NAME, C.LAST_NAME, C.EMAIL, "Webex Calling - Professional", "Basic Messaging", "Basic Meetings"]
    job = run_import(org, csv_bytes([["Flag", "Person", "flag@example.com", "TRUE", "TRUE", "FALSE"]], header=header))
    assert job.counts["applied"]["create"] == 1, job.counts
    person = Person.objects.get(email="flag@example.com")
    assert person.service_kinds == {LicenseKind.CALLING_PROFESSIONAL, LicenseKind.MESSAGING}
    assert [lic.kind for lic in person.licenses] == [LicenseKind.CALLING_PROFESSIONAL, LicenseKind.MESSAGING]


@pytest.mark.django_db
def test_rows_an_import_writes_keep_no_index_that_another_one_serves():
    """Per imported user, a line, two audit events and a sync record: a line's organisation is served by the
    (organisation, extension) unique index, which holds every line (migration calling 0006); nothing reads events
    by actor (controlhub 0006) or sync records by target (controlhub 0007)."""
    lines = _indexes(Line._meta.db_table)
    assert ("organization_id",) not in lines
    unique = lines[("organization_id", "extension")]
    assert "UNIQUE" in unique and "WHERE" not in unique, unique
    assert "line_extension_unique_in_org" in _plan(
        f"SELECT id FROM {Line._meta.db_table} WHERE organization_id = %s", [uuid.uuid4()])
    assert ("actor_id",) not in _indexes(AuditEvent._meta.db_table)
    assert ("sync_target_id",) not in _indexes(ObjectSync._meta.db_table)  # read by object only (controlhub 0007)


@pytest.mark.django_db
def test_lines_without_an_extension_never_clash_and_a_repeated_extension_is_still_refused(org, make_calling_person):
    """The (organisation, extension) unique constraint now holds lines without an extension too: their NULLs
    never clash, and the database still refuses a second line with an extension already in use."""
    first, second = make_calling_person(org, "4101", with_number=True), make_calling_person(org, "4102",
                                                                                            with_number=True)
    hq = org_location(org, "HQ")
    for person in (first, second):  # number only: both lines keep a NULL extension
        assign_calling(SYSTEM, person, location=hq, extension=None, phone_number=person.line.number.e164)
    assert Line.objects.filter(person__in=[first, second], extension__isnull=True).count() == 2
    make_calling_person(org, "4103")
    newcomer = create_person(SYSTEM, org, email="newcomer@example.com", location=hq, licenses=[licence(org)])
    with pytest.raises(IntegrityError, match="line_extension_unique_in_org"), transaction.atomic():
        Line.objects.create(organization=org, location=hq, person=newcomer, extension="4103")


@pytest.mark.django_db
def test_mostly_empty_links_are_unique_where_set_and_a_second_holder_is_still_refused(org, make_calling_person):
    """A person's account and a line's workspace and number are unique indexes over the rows where they are set
    (migrations users 0007, calling 0007): a row without one writes no entry, and a second holder is refused."""
    for table, column in (("users_person", "account_id"), ("calling_line", "workspace_id"),
                          ("calling_line", "number_id")):
        definition = _indexes(table)[(column,)]
        assert "UNIQUE" in definition and f"WHERE ({column} IS NOT NULL)" in definition, definition
    holder = make_calling_person(org, "4201", with_number=True)
    other = make_calling_person(org, "4202")
    with pytest.raises(IntegrityError, match="calling_line_number_id_key"), transaction.atomic():
        Line.objects.filter(pk=other.line.pk).update(number=holder.line.number)
    workspace = create_workspace(SYSTEM, org, display_name="Lobby", location=org_location(org, "HQ"))
    Line.objects.filter(pk=holder.line.pk).update(person=None, workspace=workspace)
    with pytest.raises(IntegrityError, match="calling_line_workspace_id_key"), transaction.atomic():
        Line.objects.filter(pk=other.line.pk).update(person=None, workspace=workspace)
    account = Account.objects.create_user("linked@example.com", "a-long-password-123")
    Person.objects.filter(pk=holder.pk).update(account=account)
    with pytest.raises(IntegrityError, match="users_person_account_id_key"), transaction.atomic():
        Person.objects.filter(pk=other.pk).update(account=account)
    # The reverse one-to-ones still join (reverse select_related needs the field's uniqueness in Django's state).
    assert Account.objects.select_related("person").get(pk=account.pk).person == holder


@pytest.mark.django_db
def test_sync_records_compare_their_object_ids_bytewise():
    """The sync records' unique index takes 100k new entries per imported file: its text columns use the "C"
    collation (no locale call per comparison), and a lookup by object still uses it."""
    table = ObjectSync._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute("SELECT attname, collname FROM pg_attribute JOIN pg_collation ON attcollation = "
                       "pg_collation.oid WHERE attrelid = %s::regclass AND attname IN ('object_type', 'object_id')",
                       [table])
        assert dict(cursor.fetchall()) == {"object_type": "C", "object_id": "C"}
    assert "objectsync_unique" in _plan(
        f"SELECT version FROM {table} WHERE object_type = 'person' AND object_id = %s", [str(uuid.uuid4())])
