"""Invitation (welcome) links: a single-use, expiring link that lets a new person or administrator set their
first password and signs them in.

No table: the link is `<account id>/<token>` where the token is Django's password-reset token with its own salt
and lifetime (INVITATION_MAX_AGE). Its hash covers the account's password hash and last sign-in, so it is dead
once used (a password is set and the person signed in), and resending an invitation gives the account a fresh
unusable password, which kills every older link. The expiry is checked apart from the hash so the refusal page
can say which of the two happened.
"""
from enum import Enum

from django.conf import settings
from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils.crypto import constant_time_compare
from django.utils.http import base36_to_int
from django.utils.translation import gettext as _

from controlhub.actions import Actor, record_change
from controlhub.models import Account, AuditAction, AuditSource

from .models import Person, PersonStatus


class InvitationTokenGenerator(PasswordResetTokenGenerator):
    key_salt = "controlhub.users.invitations.InvitationTokenGenerator"

    def check_token(self, user, token) -> bool:
        return check(user, token) == Check.VALID


invitation_tokens = InvitationTokenGenerator()


class Check(Enum):
    VALID = "valid"
    EXPIRED = "expired"
    USED = "used"          # the password was set with this link (or another way) since it was sent
    REPLACED = "replaced"  # a newer invitation was sent, the email changed, or the link is garbled


def check(account: Account | None, token: str) -> Check:
    """What an invitation token is worth for this account, telling expired links from used ones."""
    if account is None or not token or "-" not in token:
        return Check.REPLACED
    ts_b36 = token.split("-", 1)[0]
    try:
        ts = base36_to_int(ts_b36)
    except ValueError:
        return Check.REPLACED
    gen = invitation_tokens
    matches = any(constant_time_compare(gen._make_token_with_timestamp(account, ts, secret), token)
                  for secret in [gen.secret, *gen.secret_fallbacks])
    if not matches:
        return Check.USED if account.has_usable_password() else Check.REPLACED
    if gen._num_seconds(gen._now()) - ts > settings.INVITATION_MAX_AGE:
        return Check.EXPIRED
    return Check.VALID


def invitation_path(account: Account) -> str:
    return reverse("invitation:accept", args=[account.pk, invitation_tokens.make_token(account)])


def public_url(path: str) -> str:
    """An absolute link for mail: the portal's public base URL (PUBLIC_BASE_URL) plus the path."""
    return (settings.PUBLIC_BASE_URL or "http://127.0.0.1:8000").rstrip("/") + path


def needs_password(account: Account) -> bool:
    """Whether an invitation should offer to set a password: none set yet and password sign-in allowed."""
    from users import sso

    return not account.has_usable_password() and sso.password_sign_in_refused(account.email) is None


@transaction.atomic
def account_for_person(person: Person, actor: Actor | None = None) -> Account:
    """The person's sign-in account, created without a usable password and linked if they have none."""
    if person.account_id:
        return person.account
    account = Account.objects.filter(email__iexact=person.email).first()
    if account is not None and Person.objects.filter(account=account).exclude(pk=person.pk).exists():
        raise ValidationError(_("The account %(email)s belongs to another person.") % {"email": person.email})
    if account is None:
        account = Account.objects.create_user(person.email, None, name=str(person))
    person.account = account
    person.save(update_fields=["account", "updated"])
    record_change(actor or Actor.system(), AuditAction.UPDATE, person, {"account": None},
                  {"account": account.email})
    return account


@transaction.atomic
def resend_invitation(actor: Actor, person: Person) -> Account:
    """Send the person a new invitation; every earlier invitation link stops working.

    Refused (nothing changes) when the person already set a password or signs in through single sign-on.
    """
    from users import sso

    from .tasks import send_welcome_mail

    actor.require(Person, "change", person)
    if person.status == PersonStatus.INACTIVE:
        raise ValidationError(_("%(name)s is deactivated; activate them before inviting them.") % {"name": person})
    if sso.password_sign_in_refused(person.email) is not None:
        raise ValidationError(_("%(name)s signs in with single sign-on and needs no invitation link.")
                              % {"name": person})
    account = account_for_person(person, actor)
    if account.has_usable_password():
        raise ValidationError(_("%(name)s has already set a password. They can reset it with “Forgot your "
                                "password?” on the sign-in page.") % {"name": person})
    account.set_unusable_password()   # a new random hash: the old links no longer match
    account.save(update_fields=["password"])
    record_change(actor, AuditAction.UPDATE, person, {"invitation": None}, {"invitation": _("sent again")})
    transaction.on_commit(lambda: send_welcome_mail.delay(str(person.pk)))
    return account


@transaction.atomic
def accept_invitation(account: Account, token: str, password: str) -> Account:
    """Set the first password with a valid link (checked again here, under a row lock, so two tabs cannot both
    use it). The caller signs the account in, which also moves its last sign-in and so spends the link."""
    account = Account.objects.select_for_update().get(pk=account.pk)
    state = check(account, token)
    if state != Check.VALID:
        raise ValidationError(state.value, code=state.value)
    account.set_password(password)
    account.save(update_fields=["password"])
    person = Person.objects.filter(account=account).first()
    if person is not None and person.status == PersonStatus.INVITE_PENDING:
        before = person.audit_snapshot()
        person.status = PersonStatus.ACTIVE
        person.save(update_fields=["status", "updated"])
        record_change(Actor(account=account, source=AuditSource.UI), AuditAction.UPDATE, person, before)
    return account
