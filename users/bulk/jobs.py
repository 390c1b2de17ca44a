"""Users CSV import as a Job: upload → validate (preview) → confirm → apply in batches → error report.

Portal, `/v1` and the `import_users` command all go through these functions; the work itself runs in Celery
tasks (`tasks.py`), which read and write the Job row so progress survives a closed browser.
"""
import csv
import gc
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from controlhub.actions import Actor
from controlhub.models import ACTIVE_JOB_STATES, AuditSource, Job, JobState, Organization
from devices.models import Device
from users.models import Person

from . import columns as C
from .apply import apply_plans
from .parse import ParsedFile, parse_csv
from .phones import KIND as PHONES_KIND
from .phones import apply_phones, validate_phones
from .validate import CREATE, ERROR, MODES, UPDATE, Validation, validate

KIND = "users.csv_import"
MAX_BYTES = getattr(settings, "CSV_IMPORT_MAX_BYTES", 50 * 1024 * 1024)
MAX_ROWS = getattr(settings, "CSV_IMPORT_MAX_ROWS", 100_000)
# Measured at 100k rows: 10,000 a batch applies in 9.2 s where 5,000 took 10.7 s (fewer reads, upserts and commits
# per row); peak memory stays under 300 MB.
BATCH_SIZE = getattr(settings, "CSV_IMPORT_BATCH_SIZE", 10_000)
# The progress bar moves once per committed batch: a file of 20k rows in batches of 10k would jump 0 → 100%. Smaller
# files get smaller batches, down to SMALLEST_BATCH rows, so progress moves in about PROGRESS_STEPS steps (measured:
# a 20k file in five batches applies ~0.3 s slower than in two, in ten ~0.7 s slower).
PROGRESS_STEPS = 5
SMALLEST_BATCH = 2_000
APPLY_CONNECTIONS = getattr(settings, "CSV_IMPORT_CONNECTIONS", 2)  # batches applied at once (PostgreSQL)
STALE_AFTER = timezone.timedelta(minutes=10)


class JobRefused(Exception):
    """An import that cannot start or continue, with the reason to show."""


def files_dir() -> Path:
    path = Path(settings.JOB_FILES_DIR)
    path.mkdir(parents=True, exist_ok=True)
    return path


def too_large_message(size: int) -> str:
    return _("The file is %(size)s MB; the limit is %(limit)s MB. Split it into smaller files.") % {
        "size": round(size / 1024 / 1024, 1), "limit": round(MAX_BYTES / 1024 / 1024)}


def may_import(account, org: Organization, kind: str = KIND) -> bool:
    """Whether the account may add users (or phones) in this organisation: the import's right, for every door."""
    if account is None or account.is_superuser:
        return True
    area = Device.admin_area if kind == PHONES_KIND else Person.admin_area
    return any(g.allows(area, "create") and (g.organization_id == org.pk or (
        g.partner_id is not None and g.partner_id == org.partner_id)) for g in account.grants)


def start_import(org: Organization, account, upload, *, name: str, mode: str,
                 source: str = AuditSource.UI, background: bool = True, kind: str = KIND,
                 welcome_mail: bool = True) -> Job:
    """Store the file and queue its validation. `upload` is bytes or a file object (Django's UploadedFile).

    `welcome_mail`: as Control Hub, people the file adds are sent the welcome mail unless the administrator
    turns it off (a worker sends each batch's mails after the batch commits).
    """
    if not may_import(account, org, kind):
        raise PermissionDenied(_("Your administrator role does not allow importing users."))
    size = len(upload) if isinstance(upload, bytes) else getattr(upload, "size", None)
    if size is not None and size > MAX_BYTES:
        raise JobRefused(too_large_message(size))
    if kind == KIND and mode not in MODES:
        raise JobRefused(_("Choose a mode: %(modes)s.") % {"modes": ", ".join(MODES)})
    try:
        with transaction.atomic():
            job = Job.objects.create(organization=org, kind=kind, created_by=account, source_name=name[:255],
                                     options={"mode": mode, "source": source,
                                              "welcome_mail": bool(welcome_mail)})
    except IntegrityError:
        active = Job.objects.filter(organization=org, kind=kind, state__in=ACTIVE_JOB_STATES).first()
        raise JobRefused(_("Another import of this kind is still %(state)s in this organization (%(file)s); "
                           "finish, cancel or discard it on the Tasks page first.")
                         % {"state": active.get_state_display().lower() if active else "",
                            "file": active.source_name if active else ""}) from None
    path = files_dir() / f"{job.pk}.csv"
    with open(path, "wb") as out:
        if isinstance(upload, bytes):
            out.write(upload)
        else:
            for chunk in upload.chunks() if hasattr(upload, "chunks") else iter(lambda: upload.read(1 << 20), b""):
                out.write(chunk)
    job.input_file = path.name
    job.save(update_fields=["input_file", "updated"])
    if background:
        from .tasks import validate_import

        transaction.on_commit(lambda: validate_import.delay(str(job.pk)))
    return job


def confirm(job: Job, background: bool = True) -> None:
    """Start applying a validated import (READY → RUNNING)."""
    if not Job.objects.filter(pk=job.pk, state=JobState.READY).update(state=JobState.RUNNING,
                                                                       updated=timezone.now()):
        raise JobRefused(_("This import is not waiting for confirmation."))
    if background:
        from .tasks import apply_import

        transaction.on_commit(lambda: apply_import.delay(str(job.pk)))


def cancel(job: Job) -> None:
    """Discard a job not yet applying; ask a running one to stop after its current batch."""
    now = timezone.now()
    if Job.objects.filter(pk=job.pk, state__in=(JobState.QUEUED, JobState.VALIDATING, JobState.READY)).update(
            state=JobState.CANCELLED, finished=now, updated=now, message=_("Discarded before applying.")):
        return
    # A job whose worker died makes no progress: let it go, or it would block the organisation's imports forever.
    if Job.objects.filter(pk=job.pk, state__in=(JobState.RUNNING, JobState.CANCELLING),
                          updated__lt=now - STALE_AFTER).update(
            state=JobState.FAILED, finished=now, updated=now,
            message=_("Stopped: no progress for %(minutes)s minutes (the worker stopped). Rows applied so far stay "
                      "applied; import the file again to finish.") % {"minutes": STALE_AFTER.seconds // 60}):
        return
    if not Job.objects.filter(pk=job.pk, state=JobState.RUNNING).update(state=JobState.CANCELLING, updated=now):
        if Job.objects.filter(pk=job.pk, state=JobState.CANCELLING).exists():
            raise JobRefused(_("This job is already stopping after its current batch."))
        raise JobRefused(_("This job has already finished."))


# --------------------------------------------------------------------------------------------- the work


def _read(job: Job) -> ParsedFile:
    data = (files_dir() / job.input_file).read_bytes()
    if len(data) > MAX_BYTES:
        from .parse import FileProblem

        raise FileProblem(too_large_message(len(data)))
    return parse_csv(data)


def run_validation(job: Job) -> tuple[ParsedFile | None, Validation]:
    with without_cyclic_gc():
        return _run_validation(job)


def _run_validation(job: Job) -> tuple[ParsedFile | None, Validation]:
    from .parse import FileProblem

    try:
        parsed = _read(job)
    except FileProblem as exc:
        return None, Validation([str(exc)], [])
    if len(parsed.frame) > MAX_ROWS:
        what = _("phones") if job.kind == PHONES_KIND else _("users")
        return parsed, Validation([_("The file has %(n)s rows; at most %(max)s %(what)s per file.")
                                   % {"n": len(parsed.frame), "max": MAX_ROWS, "what": what}], [])
    validator = validate_phones if job.kind == PHONES_KIND else validate
    return parsed, validator(job.organization, parsed, job.options.get("mode", MODES[0]), account=job.created_by)


@contextmanager
def without_cyclic_gc() -> Iterator[None]:
    """Checking and applying 100k rows allocates millions of small objects that reference counting frees (row
    plans, values, snapshots); Python's cyclic collector would walk every live one of them again and again —
    measured: 1.7 s of a 4 s check of 100k rows, and 1–2 s of the apply, for the same peak memory. Off for the
    duration, as it was before afterwards; the next automatic collection finds any cycle left meanwhile."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def validate_job(job: Job) -> Job:
    """Validate a queued import and store its preview; READY when it can be applied."""
    if not Job.objects.filter(pk=job.pk, state=JobState.QUEUED).update(state=JobState.VALIDATING):
        return job
    parsed, validation = run_validation(job)
    job.checked = (parsed, validation)  # for a caller that applies at once (the command): see `apply_job`
    fields = {"counts": validation.counts, "preview": validation.preview(), "total": len(validation.plans),
              "updated": timezone.now()}
    if validation.file_errors:
        fields.update(state=JobState.FAILED, message="\n".join(validation.file_errors), finished=timezone.now())
    else:
        fields.update(state=JobState.READY, error_file=write_error_report(job, parsed, validation.plans))
    Job.objects.filter(pk=job.pk, state=JobState.VALIDATING).update(**fields)
    job.refresh_from_db()
    return job


def apply_job(job: Job, checked: tuple[ParsedFile, Validation] | None = None) -> Job:
    """Validate again (the organisation may have changed since the preview) and apply valid rows in batches.

    `checked` is the validation `validate_job` just did in this process, for a caller that applies right after
    it (the `import_users` command): checking the file twice within a second finds nothing new. Rows that
    conflict with a change made since then fail at apply time, row by row, either way.
    """
    job.refresh_from_db()
    if job.state != JobState.RUNNING:
        return job
    started = timezone.now()
    Job.objects.filter(pk=job.pk).update(started=started)
    parsed, validation = checked if checked is not None else run_validation(job)
    if validation.file_errors:
        Job.objects.filter(pk=job.pk).update(state=JobState.FAILED, message="\n".join(validation.file_errors),
                                             finished=timezone.now())
        job.refresh_from_db()
        return job
    counts = validation.counts
    todo = [p for p in validation.plans if p.kind in (CREATE, UPDATE)]
    applied = {CREATE: 0, UPDATE: 0}
    actor = Actor(account=job.created_by, source=AuditSource.CSV)
    welcome = job.options.get("welcome_mail", True)
    Job.objects.filter(pk=job.pk).update(total=len(todo), done=0, counts={**counts, "applied": applied})
    state, done = JobState.SUCCEEDED, 0
    apply = apply_phones if job.kind == PHONES_KIND else apply_plans
    size = batch_size(len(todo))
    batches = [todo[start:start + size] for start in range(0, len(todo), size)]

    def cancelled() -> bool:
        return Job.objects.filter(pk=job.pk, state=JobState.CANCELLING).exists()

    with without_cyclic_gc():
        for batch, failed in applied_batches(apply, actor, job.organization, batches, cancelled):
            for plan, reason in failed:
                counts[plan.kind] -= 1  # kept up to date here: counting 100k plans again per batch costs seconds
                counts[ERROR] += 1
                plan.kind = ERROR
                plan.error(None, reason)
            for plan in batch:
                if plan.kind != ERROR:
                    applied[plan.kind] += 1
            if welcome and job.kind == KIND:
                welcome_new_people([p.person_id for p in batch if p.kind == CREATE])
            done += len(batch)
            Job.objects.filter(pk=job.pk).update(done=done, counts={**counts, "applied": applied},
                                                 updated=timezone.now())
        if done < len(todo):
            state = JobState.CANCELLED
    message = ngettext("%(created)s created, %(updated)s updated, %(errors)s row with errors.",
                       "%(created)s created, %(updated)s updated, %(errors)s rows with errors.", counts[ERROR]) % {
        "created": _grouped(applied[CREATE]), "updated": _grouped(applied[UPDATE]), "errors": _grouped(counts[ERROR])}
    if state == JobState.CANCELLED:
        message = _("Cancelled after %(done)s of %(total)s rows: ") % {
            "done": _grouped(done), "total": _grouped(len(todo))} + message
    Job.objects.filter(pk=job.pk).update(
        state=state, finished=timezone.now(), message=message, counts={**counts, "applied": applied},
        error_file=write_error_report(job, parsed, validation.plans), preview=validation.preview())
    job.refresh_from_db()
    return job


def _grouped(count: int) -> str:
    """A count in the job's message as the page shows counts: "20,000", not "20000"."""
    return number_format(count, force_grouping=True)


def batch_size(rows: int) -> int:
    """Rows per batch for a file of `rows` rows: BATCH_SIZE, or less so the progress bar moves in about
    PROGRESS_STEPS steps, but never below SMALLEST_BATCH (each batch costs a transaction and a push)."""
    return min(BATCH_SIZE, max(SMALLEST_BATCH, -(-rows // PROGRESS_STEPS)))


def applied_batches(apply: Callable, actor: Actor, org: Organization, batches: list[list],
                    stop: Callable[[], bool]) -> Iterator[tuple[list, list]]:
    """Apply `batches` with `apply(actor, org, batch)`, yielding (batch, failed rows) in file order; after a batch
    for which `stop()` is true, start no new one.

    On PostgreSQL, APPLY_CONNECTIONS batches run at once, each in its own transaction on its own connection: the
    server indexes one batch's rows and checks its commit while this process prepares the next batch's rows, where
    one connection leaves each side waiting for the other (measured, 100k rows on two cores: apply 12 s on one
    connection, 10.5 s on two, both cores then ~80% busy, two thirds of it PostgreSQL). Batches are independent —
    validation refused duplicates within the file, and a row never refers to another row of it — so their order
    of commit does not matter. A connection that finishes its batch starts the next one at once, while an earlier
    batch may still run: results are held and reported in file order. Inside a caller's transaction (tests) or on
    SQLite, one batch at a time on the caller's connection.
    """
    if APPLY_CONNECTIONS < 2 or len(batches) < 2 or connection.vendor != "postgresql" or connection.in_atomic_block:
        for batch in batches:
            yield batch, apply(actor, org, batch)
            if stop():
                return
        return
    with ThreadPoolExecutor(APPLY_CONNECTIONS, thread_name_prefix="csv-apply") as pool:
        waiting = iter(batches)
        running: deque = deque()  # (batch, future), in file order
        stopping = False
        while True:
            # A connection that finishes starts the next batch at once, even while an earlier batch still runs.
            while not stopping and sum(not f.done() for _, f in running) < APPLY_CONNECTIONS and (
                    following := next(waiting, None)) is not None:
                running.append((following, pool.submit(_on_own_connection, apply, actor, org, following)))
            if not running:
                return
            wait([f for _, f in running], return_when=FIRST_COMPLETED)
            while running and running[0][1].done():
                batch, future = running.popleft()
                yield batch, future.result()  # the batches started meanwhile still finish, and are reported
            # Woken by a finished batch: once the job is being cancelled, start no new one. Asked on every wake,
            # also when every running batch has finished by then (asking only while some still ran missed a
            # cancel whenever both batches ended before this thread woke, and the job ran to its end).
            stopping = stopping or stop()


def _on_own_connection(apply: Callable, *args) -> list:
    try:
        return apply(*args)
    finally:
        connection.close()  # this thread's own connection; the pool's threads end with the job


def welcome_new_people(person_ids: list) -> None:
    """Queue one welcome-mail task for the people a batch added, once the batch has committed."""
    if person_ids:
        from .tasks import send_welcome_mails

        ids = [str(pk) for pk in person_ids]
        transaction.on_commit(lambda: send_welcome_mails.delay(ids))


def write_error_report(job: Job, parsed: ParsedFile, plans) -> str:
    """The rows with errors as they were uploaded, plus an `Error` column; fixed, it re-imports as is."""
    bad = [p for p in plans if p.kind == ERROR]
    if not bad:
        return ""
    keep = [i for i, h in enumerate(parsed.headers) if h.strip().casefold() != C.ERROR.casefold()]
    path = files_dir() / f"{job.pk}-errors.csv"
    frame = parsed.frame
    with open(path, "w", encoding="utf-8-sig", newline="") as out:
        writer = csv.writer(out)
        writer.writerow([parsed.headers[i] for i in keep] + [C.ERROR])
        for plan in bad:
            writer.writerow([frame.iat[plan.index, i] for i in keep] + [plan.describe()])
    return path.name


def progress(job: Job) -> dict:
    """Rows done of total, rows per second and seconds left, for the progress bar."""
    percent = round(100 * job.done / job.total) if job.total else (100 if job.finished else 0)
    rate = seconds_left = None
    if job.started and job.done:
        elapsed = max((job.finished or timezone.now()) - job.started, timezone.timedelta(seconds=0.001))
        rate = job.done / elapsed.total_seconds()
        seconds_left = int((job.total - job.done) / rate) if rate else None
    return {"percent": percent, "rate": round(rate, 1) if rate else None, "seconds_left": seconds_left}


def wait_for(job: Job, states=(JobState.READY, JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED),
             timeout: float = 60) -> Job:
    """Poll a job until it reaches one of `states` (tests and the management command)."""
    deadline = time.monotonic() + timeout
    while True:
        job.refresh_from_db()
        if job.state in states or time.monotonic() > deadline:
            return job
        time.sleep(0.1)
