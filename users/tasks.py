"""Background work for people: the welcome mail a newly added person receives (sent by a Celery worker)."""
import smtplib

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string

from .models import Person


@shared_task(autoretry_for=(OSError, smtplib.SMTPException), retry_backoff=True, retry_jitter=True, max_retries=6)
def send_welcome_mail(person_id: str) -> bool:
    """Tell a new person they were added, where to sign in, and their number/extension if they have calling.

    Reads the person at send time (not at request time), so a person deleted meanwhile simply gets no mail.
    """
    person = (Person.objects.select_related("organization", "line__number", "line__location")
              .filter(pk=person_id).first())
    if person is None:
        return False
    context = {
        "person": person,
        "organization": person.organization,
        "line": getattr(person, "line", None),
        "sign_in_url": (settings.PUBLIC_BASE_URL or "http://127.0.0.1:8000").rstrip("/") + "/accounts/login/",
    }
    subject = render_to_string("users/mail/welcome_subject.txt", context).strip()
    body = render_to_string("users/mail/welcome.txt", context)
    send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [person.email])
    return True

from users.bulk import tasks as bulk_tasks  # noqa: E402,F401  (register the CSV import tasks with the worker)
