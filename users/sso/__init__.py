"""Per-organisation SAML 2.0 single sign-on (DESIGN section 8), with python3-saml as the SP.

Each organisation is its own SP: entity ID `<base>/sso/<org>/metadata/`, ACS `<base>/sso/<org>/acs/`, SLO
`<base>/sso/<org>/sls/`, all signed with one SP key pair. Its IdP comes from uploaded metadata
(`IdentityProvider`). A response is accepted only when python3-saml in strict mode finds it signed by *that
organisation's* IdP certificate (the assertion must be signed), for our entity ID, at that organisation's ACS,
inside its validity window, answering the AuthnRequest this browser started (or unsolicited: IdP-initiated), and
its assertion ID was not used before (python3-saml does not remember IDs: `SeenAssertion`). The person must exist
in that organisation. Every outcome leaves an `SsoSignIn` row and its audit event (source SSO) with the reason.

The IdP's POST to the ACS is cross-site, so the browser does not send our Lax session cookie with it; the ACS
answers with a page that re-posts the response to `acs/finish/` from our own origin, where the session (and
with it the AuthnRequest ID) is back. No server-side stash, so it works with any number of workers.

Split by concern: `sp` (our SP: keys, URLs, python3-saml settings, metadata), `metadata` (reading an IdP's
metadata), `setup` (the setup actions and the sign-in record), `assertions` (starting a sign-in, validating a
response), `routing` (who signs in where, password refusal), `logout` (single logout). Callers import from
`users.sso`, not from the modules.
"""
from django.utils import timezone  # noqa: F401  (tests move the clock through sso.timezone)

from controlhub.actions import Actor  # noqa: F401  (sso.Actor, as before the split)

from .assertions import Verified, start_login, verify_response
from .base import (
    EMAIL_ATTRIBUTES,
    MAPPABLE_ROLES,
    NAME_ID_FORMATS,
    SESSION_PENDING,
    SESSION_SIGNED_IN,
    SsoRefused,
)
from .logout import logout_url, process_slo
from .metadata import certificate_validity, parse_idp_metadata
from .routing import (
    account_for,
    apply_role_mapping,
    enabled_idp,
    find_person,
    idp_for_email,
    password_sign_in_refused,
)
from .setup import mark_tested, record_attempt, update_idp, upload_idp_metadata
from .sp import base_url, saml_settings, sp_keypair, sp_metadata, sp_urls

__all__ = [
    "EMAIL_ATTRIBUTES", "MAPPABLE_ROLES", "NAME_ID_FORMATS", "SESSION_PENDING", "SESSION_SIGNED_IN", "SsoRefused",
    "Verified", "account_for", "apply_role_mapping", "base_url", "certificate_validity", "enabled_idp",
    "find_person", "idp_for_email", "logout_url", "mark_tested", "parse_idp_metadata", "password_sign_in_refused",
    "process_slo", "record_attempt", "saml_settings", "sp_keypair", "sp_metadata", "sp_urls", "start_login",
    "update_idp", "upload_idp_metadata", "verify_response",
]
