"""Domain actions of SSO setup (upload metadata, settings, test, enable) and the record of every sign-in attempt."""
import logging

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from controlhub.actions import Actor, record_change
from controlhub.models import Account, AdminRole, AuditAction, AuditSource, Organization
from controlhub.roles import Role

from ..models import Person
from ..sso_models import IdentityProvider, SsoSignIn
from .base import MAPPABLE_ROLES
from .metadata import parse_idp_metadata

log = logging.getLogger(__name__)


@transaction.atomic
def upload_idp_metadata(actor: Actor, org: Organization, xml: bytes | str) -> IdentityProvider:
    """Store (or replace) the organisation's IdP from metadata. New metadata must be tested again before use."""
    data = parse_idp_metadata(xml)
    idp = IdentityProvider.objects.filter(organization=org).first()
    created = idp is None
    if created:
        idp = IdentityProvider(organization=org)
    else:
        actor.require(IdentityProvider, "change", idp)
        before = idp.audit_snapshot()
    for name, value in data.items():
        setattr(idp, name, value)
    idp.tested_at = None
    idp.enabled = False
    idp.save()
    if created:
        actor.require(IdentityProvider, "create", idp)
        record_change(actor, AuditAction.CREATE, idp, None)
    else:
        record_change(actor, AuditAction.UPDATE, idp, before)
    return idp


@transaction.atomic
def update_idp(actor: Actor, idp: IdentityProvider, *, break_glass=None, **data) -> IdentityProvider:
    """Change settings (attributes, role mapping, break-glass admins, enabled). Enabling needs a passed test."""
    actor.require(IdentityProvider, "change", idp)
    before = idp.audit_snapshot()
    allowed = {"email_attribute", "group_attribute", "role_mapping", "enabled"}
    unknown = set(data) - allowed
    if unknown:
        raise ValidationError({k: _("This field cannot be set here.") for k in unknown})
    for name, value in data.items():
        setattr(idp, name, value)
    if idp.enabled and idp.tested_at is None:
        raise ValidationError(_("Run “Test SSO” successfully with the current metadata before enabling it."))
    bad = {v for v in idp.role_mapping.values() if v not in MAPPABLE_ROLES}
    if bad:
        raise ValidationError({"role_mapping": _("Unknown role: %(roles)s") % {"roles": ", ".join(sorted(bad))}})
    idp.save()
    if break_glass is not None:
        admins = set(AdminRole.objects.filter(organization=idp.organization, role=Role.FULL_ADMIN)
                     .values_list("account_id", flat=True))
        if any(account.pk not in admins for account in break_glass):
            raise ValidationError({"break_glass": _("Only full administrators of this organization can be "
                                                    "break-glass administrators.")})
        idp.break_glass_accounts.set(break_glass)
    record_change(actor, AuditAction.UPDATE, idp, before)
    return idp


@transaction.atomic
def mark_tested(actor: Actor, idp: IdentityProvider) -> IdentityProvider:
    before = idp.audit_snapshot()
    idp.tested_at = timezone.now()
    idp.save(update_fields=["tested_at", "updated"])
    record_change(actor, AuditAction.UPDATE, idp, before)
    return idp


def record_attempt(org: Organization, outcome: str, reason: str = "", *, name_id: str = "", email: str = "",
                   person: Person | None = None, account: Account | None = None, request=None) -> SsoSignIn:
    """The SsoSignIn row and its audit event, in their own transaction (a refusal must be recorded too)."""
    with transaction.atomic():
        attempt = SsoSignIn.objects.create(
            organization=org, outcome=outcome, reason=reason[:500], name_id=name_id[:254], email=email[:254],
            person=person, remote_addr=request.META.get("REMOTE_ADDR") if request is not None else None)
        record_change(Actor(account=account, source=AuditSource.SSO), AuditAction.CREATE, attempt, None)
    log.info("SSO %s for %s in %s: %s", outcome, email or name_id, org, reason)
    return attempt
