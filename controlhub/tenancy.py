"""Which organisation a request acts on — shared by portal (session choice) and API (`orgId`)."""
import uuid

from django.http import Http404

from .models import Account, Organization
from .roles import VIEW


def home_organization(account: Account) -> Organization | None:
    """The organisation an account belongs to: its person's, else the first it administers."""
    person = getattr(account, "person", None)
    if person is not None:
        return person.organization
    for grant in account.grants:
        if grant.organization_id:
            return Organization.objects.get(pk=grant.organization_id)
    return Organization.objects.restrict(account, VIEW).first()


def organization_for(account: Account, org_uuid: uuid.UUID | None, action: str = VIEW) -> Organization:
    """The organisation to act on: the one asked for if the account may see it (else 404), or its home."""
    if org_uuid is not None:
        org = Organization.objects.restrict(account, action).filter(pk=org_uuid).first()
        if org is None:
            raise Http404("Organization not found")
        return org
    org = home_organization(account)
    if org is None:
        raise Http404("No organization: this account administers none")
    return org
