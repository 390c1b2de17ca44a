"""Background work for people: the welcome mail a newly added person receives (sent by a Celery worker)."""
import smtplib

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string

from controlhub.models import Account

from .models import Person, PersonStatus


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
        "invitation_url": _invitation_url(person),
        "invitation_days": max(1, round(settings.INVITATION_MAX_AGE / 86400)),
    }
    subject = render_to_string("users/mail/welcome_subject.txt", context).strip()
    body = render_to_string("users/mail/welcome.txt", context)
    send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [person.email])
    return True



def _invitation_url(person: Person) -> str | None:
    """The single-use link to set a first password (None: SSO organisation, or a password is already set).

    Made at send time, so a resent invitation's mail carries a link for the account's current state."""
    from django.core.exceptions import ValidationError

    from .invitations import account_for_person, invitation_path, needs_password, public_url

    if person.status == PersonStatus.INACTIVE:
        return None
    try:
        account = account_for_person(person)
    except ValidationError:   # the email's account belongs to another person: no link, the admin sees why
        return None
    return public_url(invitation_path(account)) if needs_password(account) else None


@shared_task(autoretry_for=(OSError, smtplib.SMTPException), retry_backoff=True, retry_jitter=True, max_retries=6)
def send_admin_invitation(account_id: int) -> bool:
    """Invite an administrator who is no person of an organisation (e.g. a partner admin) to set a password."""
    from .invitations import invitation_path, needs_password, public_url

    account = Account.objects.filter(pk=account_id, is_active=True).first()
    if account is None or not needs_password(account):
        return False
    context = {"account": account, "invitation_url": public_url(invitation_path(account)),
               "invitation_days": max(1, round(settings.INVITATION_MAX_AGE / 86400))}
    subject = render_to_string("users/mail/admin_invitation_subject.txt", context).strip()
    send_mail(subject, render_to_string("users/mail/admin_invitation.txt", context), settings.DEFAULT_FROM_EMAIL,
              [account.email])
    return True


from users.bulk import tasks as bulk_tasks  # noqa: E402,F401  (register the CSV import tasks with the worker)
