"""Who signs in where: the IdP for an email, the person and account a verified response names, role mapping,
and whether a password sign-in is refused (SSO on, except break-glass administrators)."""

from django.db import transaction
from django.utils.translation import gettext as _

from controlhub.actions import Actor, record_change
from controlhub.models import Account, AdminRole, AuditAction, AuditSource

from ..models import Person, PersonStatus
from ..sso_models import IdentityProvider
from .assertions import Verified
from .base import SsoRefused


def idp_for_email(email: str) -> IdentityProvider | None:
    """The enabled IdP of the organisation where a person with this email lives, if any."""
    person = Person.objects.with_email(email).select_related("organization").first() if email else None
    if person is None:
        return None
    return IdentityProvider.objects.filter(organization_id=person.organization_id, enabled=True).first()


def enabled_idp(org_id) -> IdentityProvider | None:
    return IdentityProvider.objects.filter(organization_id=org_id, enabled=True).first()


def find_person(verified: Verified) -> Person:
    """The person of the IdP's organisation the response names; never anyone in another organisation."""
    org = verified.idp.organization
    if not verified.email:
        raise SsoRefused(_("The IdP sent no email address (NameID format %(format)s and no email attribute).")
                         % {"format": verified.name_id_format}, name_id=verified.name_id)
    person = Person.objects.with_email(verified.email).filter(organization=org).select_related("account").first()
    if person is None:
        raise SsoRefused(_("%(email)s is not a user of %(org)s.") % {"email": verified.email, "org": org},
                         name_id=verified.name_id, email=verified.email)
    if person.status == PersonStatus.INACTIVE:
        raise SsoRefused(_("%(email)s is deactivated in %(org)s.") % {"email": verified.email, "org": org},
                         name_id=verified.name_id, email=verified.email, person=person)
    return person


@transaction.atomic
def account_for(person: Person) -> Account:
    """The person's account, created (without a usable password) and linked if they have none."""
    if person.account_id:
        account = person.account
    else:
        account = Account.objects.filter(email__iexact=person.email).first()
        if account is not None and Person.objects.filter(account=account).exclude(pk=person.pk).exists():
            raise SsoRefused(_("The account %(email)s belongs to another person.") % {"email": person.email},
                             email=person.email, person=person)
        if account is None:
            account = Account.objects.create_user(person.email, None, name=str(person))
        person.account = account
        person.save(update_fields=["account", "updated"])
        record_change(Actor(account=account, source=AuditSource.SSO), AuditAction.UPDATE, person,
                      {"account": None}, {"account": account.email})
    if not account.is_active:
        raise SsoRefused(_("The account %(email)s is disabled.") % {"email": account.email},
                         email=person.email, person=person)
    return account


@transaction.atomic
def apply_role_mapping(idp: IdentityProvider, account: Account, groups: list[str]) -> list[str]:
    """Grant the admin roles the IdP's groups map to (in this organisation only). Returns the roles added."""
    wanted = {idp.role_mapping[g] for g in groups if g in idp.role_mapping}
    have = set(AdminRole.objects.filter(account=account, organization=idp.organization).values_list("role", flat=True))
    added = []
    for role in sorted(wanted - have):
        grant = AdminRole.objects.create(account=account, role=role, organization=idp.organization)
        record_change(Actor(account=account, source=AuditSource.SSO), AuditAction.CREATE, grant, None,
                      {"account": account.email, "role": role, "organization": str(idp.organization)})
        added.append(role)
    return added


def password_sign_in_refused(email: str) -> IdentityProvider | None:
    """The enabled IdP that forbids this email a password sign-in (None: password allowed).

    Refused: people of an organisation with SSO enabled, and administrators whose organisation roles are all in
    such organisations; except the break-glass administrators named on that IdP.
    """
    account = Account.objects.filter(email__iexact=(email or "").strip()).first()
    idp = idp_for_email(email)
    if idp is None and account is not None:
        org_ids = set(AdminRole.objects.filter(account=account, organization__isnull=False)
                      .values_list("organization_id", flat=True))
        partner = AdminRole.objects.filter(account=account, partner__isnull=False).exists()
        idps = list(IdentityProvider.objects.filter(organization_id__in=org_ids, enabled=True))
        if org_ids and not partner and not account.is_superuser and len(idps) == len(org_ids):
            idp = idps[0]
    if idp is None:
        return None
    if account is not None and idp.break_glass_accounts.filter(pk=account.pk).exists():
        return None
    return idp
