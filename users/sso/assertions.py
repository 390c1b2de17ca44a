"""SP-initiated sign-in and the validation of a posted SAML response (signature, audience, ACS, time, replay)."""
import base64
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from onelogin.saml2.auth import OneLogin_Saml2_Auth
from onelogin.saml2.constants import OneLogin_Saml2_Constants as C
from onelogin.saml2.xml_utils import OneLogin_Saml2_XML

from controlhub.models import Organization

from ..sso_models import IdentityProvider, SeenAssertion
from .base import EMAIL_ATTRIBUTES, SESSION_PENDING, SsoRefused
from .sp import _prepare, saml_settings


def start_login(request, org: Organization, *, test: bool = False, next_url: str = "/") -> str:
    """The IdP URL an SP-initiated sign-in (HTTP-Redirect) goes to; the request ID is kept in the session."""
    idp = IdentityProvider.objects.get(organization=org)
    auth = OneLogin_Saml2_Auth(_prepare(request, request.path), saml_settings(request, org, idp))
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
        next_url = "/"
    # No NameIDPolicy unless the IdP advertised a format: the IdP picks emailAddress, unspecified or transient.
    url = auth.login(return_to=next_url, set_nameid_policy=bool(idp.name_id_format))
    pending = request.session.get(SESSION_PENDING, {})
    pending[str(org.pk)] = {"id": auth.get_last_request_id(), "test": test, "next": next_url,
                            "at": timezone.now().timestamp()}
    request.session[SESSION_PENDING] = pending
    return url


@dataclass
class Verified:
    """What a validated response says: who, and whether it answered a test run."""

    idp: IdentityProvider
    name_id: str
    name_id_format: str
    email: str
    groups: list[str]
    session_index: str | None
    test: bool
    next_url: str


def _decode(post: dict) -> bytes:
    raw = post.get("SAMLResponse") or ""
    if not raw:
        raise SsoRefused(_("The request carried no SAML response."))
    try:
        xml = base64.b64decode(raw, validate=False)
        OneLogin_Saml2_XML.to_etree(xml)
    except Exception as exc:  # binascii/ValueError, lxml syntax errors, DTDs and entities
        raise SsoRefused(_("The SAML response is not valid base64-encoded XML.")) from exc
    return xml


def verify_response(request, org: Organization, post: dict) -> Verified:
    """Validate a posted SAMLResponse for this organisation; raise SsoRefused with the reason otherwise."""
    idp = IdentityProvider.objects.filter(organization=org).first()
    if idp is None:
        raise SsoRefused(_("Single sign-on is not set up for this organization."))
    xml = _decode(post)
    in_response_to = OneLogin_Saml2_XML.to_etree(xml).get("InResponseTo")
    pending = request.session.get(SESSION_PENDING, {}).get(str(org.pk))
    test = False
    request_id = None
    if in_response_to:
        if not pending or pending.get("id") != in_response_to:
            raise SsoRefused(_("This response does not answer a sign-in started in this browser for this "
                               "organization (InResponseTo %(id)s).") % {"id": in_response_to[:80]})
        if timezone.now().timestamp() - pending.get("at", 0) > settings.SSO_REQUEST_MAX_AGE:
            raise SsoRefused(_("The sign-in request has expired. Please start again."))
        request_id, test = in_response_to, bool(pending.get("test"))
    if not test and not idp.enabled:
        raise SsoRefused(_("Single sign-on is not enabled for this organization."))
    req = _prepare(request, reverse("sso:acs", args=[org.pk]), post)
    auth = OneLogin_Saml2_Auth(req, saml_settings(request, org, idp))
    try:
        auth.process_response(request_id=request_id)
    except Exception as exc:  # python3-saml raises on some malformed documents instead of reporting errors
        raise SsoRefused(_("The SAML response could not be processed: %(error)s") % {"error": exc}) from exc
    if auth.get_errors() or not auth.is_authenticated():
        raise SsoRefused(_("The SAML response was rejected: %(reason)s")
                         % {"reason": auth.get_last_error_reason() or ", ".join(auth.get_errors())})
    if pending and request_id:   # one answer per request
        request.session[SESSION_PENDING].pop(str(org.pk), None)
        request.session.modified = True

    name_id, fmt = auth.get_nameid() or "", auth.get_nameid_format() or C.NAMEID_UNSPECIFIED
    attributes = {k.lower(): v for k, v in auth.get_attributes().items()}
    email = ""
    names = ((idp.email_attribute.lower(),) if idp.email_attribute else ()) + EMAIL_ATTRIBUTES
    for name in names:
        if attributes.get(name):
            email = attributes[name][0]
            break
    if not email and fmt != C.NAMEID_TRANSIENT and "@" in name_id:
        email = name_id
    groups = list(attributes.get(idp.group_attribute.lower(), [])) if idp.group_attribute else []

    _remember_assertion(org, auth, name_id, email)
    return Verified(idp=idp, name_id=name_id, name_id_format=fmt, email=email, groups=groups,
                    session_index=auth.get_session_index(), test=test,
                    next_url=(pending or {}).get("next") or post.get("RelayState") or "/")


def _remember_assertion(org: Organization, auth: OneLogin_Saml2_Auth, name_id: str, email: str) -> None:
    assertion_id = auth.get_last_assertion_id()
    not_on_or_after = auth.get_last_assertion_not_on_or_after()
    expires = (datetime.fromtimestamp(not_on_or_after, UTC) if not_on_or_after else timezone.now()) + \
        timedelta(seconds=C.ALLOWED_CLOCK_DRIFT + settings.SSO_REQUEST_MAX_AGE)
    SeenAssertion.objects.filter(expires__lt=timezone.now()).delete()
    try:
        with transaction.atomic():
            SeenAssertion.objects.create(organization=org, assertion_id=assertion_id, expires=expires)
    except IntegrityError as exc:
        raise SsoRefused(_("This assertion (%(id)s) was already used: a replayed response is refused.")
                         % {"id": assertion_id}, name_id=name_id, email=email) from exc
