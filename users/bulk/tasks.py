"""Celery tasks of the users CSV import: validation (preview) and applying, each reading and updating its Job."""
from celery import shared_task

from controlhub.models import Job


@shared_task
def validate_import(job_id: str) -> None:
    from .jobs import validate_job

    job = Job.objects.filter(pk=job_id).select_related("organization", "created_by").first()
    if job is not None:
        validate_job(job)


@shared_task
def apply_import(job_id: str) -> None:
    from .jobs import apply_job

    job = Job.objects.filter(pk=job_id).select_related("organization", "created_by").first()
    if job is not None:
        apply_job(job)


@shared_task
def send_welcome_mails(person_ids: list[str]) -> int:
    """The welcome mail for every person one import batch added: one task per batch, not one per row.

    Each mail is `users.tasks.send_welcome_mail` run in this task; a mail that fails (SMTP down) is handed to
    that task on its own, which retries it with backoff, so one bad address or outage never drops the others.
    Returns the number of mails sent here.
    """
    import smtplib

    from users.tasks import send_welcome_mail

    sent = 0
    for person_id in person_ids:
        try:
            sent += bool(send_welcome_mail(person_id))
        except (OSError, smtplib.SMTPException):
            send_welcome_mail.delay(person_id)
    return sent
