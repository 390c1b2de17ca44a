"""Import a users CSV (Control Hub format) into an organisation, the same way the portal's import does."""
import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db.models import Q

from controlhub.models import Account, AuditSource, JobState, Organization
from users.bulk import jobs
from users.bulk.validate import KINDS, MODES


def find_org(value: str) -> Organization:
    query = Q(display_name__iexact=value)
    try:
        import uuid

        query |= Q(pk=uuid.UUID(value))
    except ValueError:
        pass
    orgs = list(Organization.objects.filter(query)[:2])
    if len(orgs) != 1:
        raise CommandError(f"No single organization named or with id “{value}”.")
    return orgs[0]


class Command(BaseCommand):
    help = ("Validate and import a users CSV (Control Hub format). Nothing is written with --dry-run. Run it with "
            "the portal's environment (for `make up`: set -a; . var/stack.env): the import pushes its changes with "
            "this process's settings, and without the call engine's settings they are shown as not configured "
            "instead of reaching the engine.")

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--org", required=True, help="organization name or id")
        parser.add_argument("--mode", choices=MODES, default=MODES[0])
        parser.add_argument("--dry-run", action="store_true", help="validate and show the preview only")
        parser.add_argument("--as", dest="as_email", help="administrator to act as (default: system)")
        parser.add_argument("--no-welcome-mail", dest="welcome_mail", action="store_false",
                            help="do not send new users the welcome mail (sent by default, as Control Hub does)")

    def handle(self, *args, file: str, org: str, mode: str, dry_run: bool, as_email: str | None,
               welcome_mail: bool = True, **options):
        organization = find_org(org)
        account = None
        if as_email:
            account = Account.objects.filter(email__iexact=as_email).first()
            if account is None:
                raise CommandError(f"No account {as_email}.")
        path = Path(file)
        if not path.exists():
            raise CommandError(f"No such file: {file}")
        try:
            with open(path, "rb") as upload:
                upload.size = path.stat().st_size
                job = jobs.start_import(organization, account, upload, name=path.name, mode=mode,
                                        source=AuditSource.CSV, background=False, welcome_mail=welcome_mail)
        except jobs.JobRefused as exc:
            raise CommandError(str(exc)) from None
        started = time.perf_counter()
        job = jobs.validate_job(job)
        self.stdout.write(f"Checked {job.total} rows in {time.perf_counter() - started:.2f} s.")
        if job.state == JobState.FAILED:
            raise CommandError(job.message)
        self._report(job)
        if dry_run:
            jobs.cancel(job)
            self.stdout.write("Dry run: nothing was changed.")
            return
        jobs.confirm(job, background=False)
        started = time.perf_counter()
        job = jobs.apply_job(job, checked=getattr(job, "checked", None))
        applied = job.counts.get("applied", {})
        self.stdout.write(f"{job.get_state_display()}: {applied.get('create', 0)} created, "
                          f"{applied.get('update', 0)} updated, {job.counts.get('error', 0)} rows with errors "
                          f"(applied in {time.perf_counter() - started:.2f} s).")
        if job.error_file:
            self.stdout.write(f"Error report: {jobs.files_dir() / job.error_file}")

    def _report(self, job) -> None:
        self.stdout.write(" ".join(f"{kind}: {job.counts.get(kind, 0)}" for kind in KINDS))
        for row in job.preview.get("rows", {}).get("error", []):
            for error in row["errors"]:
                self.stdout.write(f"  row {row['row']}: {error['column'] or '-'}: {error['reason']}")
