"""Shared by the SSO modules: session keys, the attributes and NameID formats we read, and the refusal."""

from onelogin.saml2.constants import OneLogin_Saml2_Constants as C

from controlhub.roles import Role

from ..models import Person

SESSION_PENDING = "sso_pending"      # {org id: {"id": AuthnRequest ID, "test": bool, "next": url, "at": ts}}
SESSION_SIGNED_IN = "sso_signed_in"  # {"org": id, "name_id": ..., "format": ..., "session_index": ...}
EMAIL_ATTRIBUTES = ("mail", "email", "emailaddress", "urn:oid:0.9.2342.19200300.100.1.3",
                    "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress")
NAME_ID_FORMATS = (C.NAMEID_EMAIL_ADDRESS, C.NAMEID_UNSPECIFIED, C.NAMEID_TRANSIENT)
# Roles an IdP group may grant; partner and location roles need more than an organisation.
MAPPABLE_ROLES = (Role.FULL_ADMIN, Role.READ_ONLY_ADMIN, Role.USER_DEVICE_ADMIN)


class SsoRefused(Exception):
    """A sign-in refused; `reason` is shown to the person and recorded in the audit log."""

    def __init__(self, reason: str, name_id: str = "", email: str = "", person: Person | None = None):
        super().__init__(reason)
        self.reason, self.name_id, self.email, self.person = reason, name_id, email, person
