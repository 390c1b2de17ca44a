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
