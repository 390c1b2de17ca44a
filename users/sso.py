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
"""
import base64
import logging
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from onelogin.saml2.auth import OneLogin_Saml2_Auth
from onelogin.saml2.constants import OneLogin_Saml2_Constants as C
from onelogin.saml2.idp_metadata_parser import OneLogin_Saml2_IdPMetadataParser
from onelogin.saml2.settings import OneLogin_Saml2_Settings
from onelogin.saml2.utils import OneLogin_Saml2_Utils
from onelogin.saml2.xml_utils import OneLogin_Saml2_XML

from controlhub.actions import Actor, record_change
from controlhub.models import Account, AdminRole, AuditAction, AuditSource, Organization
from controlhub.roles import Role

from .models import Person, PersonStatus
from .sso_models import IdentityProvider, SeenAssertion, SsoSignIn

log = logging.getLogger(__name__)

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


# --------------------------------------------------------------------------------------------- SP side


def sp_keypair() -> tuple[str, str]:
    """(private key PEM, certificate PEM) of our SP; a self-signed pair is generated on first use."""
    key, cert = Path(settings.SSO_SP_KEY_FILE), Path(settings.SSO_SP_CERT_FILE)
    if not key.exists() or not cert.exists():
        key.parent.mkdir(parents=True, exist_ok=True)
        cert.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-sha256", "-days", "3650",
                        "-subj", "/CN=controlhub SAML SP", "-keyout", str(key), "-out", str(cert)],
                       check=True, capture_output=True)
        key.chmod(0o600)
    return key.read_text(), cert.read_text()


def base_url(request) -> str:
    base = settings.SSO_BASE_URL or settings.PUBLIC_BASE_URL
    return (base or f"{request.scheme}://{request.get_host()}").rstrip("/")


def sp_urls(request, org: Organization) -> dict[str, str]:
    base = base_url(request)
    return {name: base + reverse(f"sso:{name}", args=[org.pk]) for name in ("metadata", "acs", "sls")}


def saml_settings(request, org: Organization, idp: IdentityProvider | None) -> dict:
    key, cert = sp_keypair()
    urls = sp_urls(request, org)
    data = {
        "strict": True,   # never False: it skips audience, destination, time and InResponseTo checks
        "debug": False,
        "sp": {
            "entityId": urls["metadata"],
            "assertionConsumerService": {"url": urls["acs"], "binding": C.BINDING_HTTP_POST},
            "singleLogoutService": {"url": urls["sls"], "binding": C.BINDING_HTTP_REDIRECT},
            "NameIDFormat": (idp.name_id_format if idp and idp.name_id_format else C.NAMEID_UNSPECIFIED),
            "x509cert": cert,
            "privateKey": key,
        },
        "security": {
            "authnRequestsSigned": True,
            "logoutRequestSigned": True,
            "logoutResponseSigned": True,
            "wantAssertionsSigned": True,   # the assertion itself must carry the IdP's signature
            "wantMessagesSigned": False,    # many IdPs sign only the assertion; a Response signature is checked
            "wantNameId": True,
            "wantAttributeStatement": False,
            "requestedAuthnContext": False,
            "wantXMLValidation": True,
            "rejectDeprecatedAlgorithm": True,
            "signatureAlgorithm": C.RSA_SHA256,
            "digestAlgorithm": C.SHA256,
            "allowSingleLabelDomains": True,   # intranet host names (and the test client's "testserver")
        },
    }
    if idp is not None:
        data["idp"] = {
            "entityId": idp.entity_id,
            "singleSignOnService": {"url": idp.sso_url, "binding": C.BINDING_HTTP_REDIRECT},
            "x509certMulti": {"signing": list(idp.signing_certificates)},
        }
        if idp.slo_url:
            data["idp"]["singleLogoutService"] = {"url": idp.slo_url, "binding": C.BINDING_HTTP_REDIRECT}
    return data


def sp_metadata(request, org: Organization) -> str:
    idp = IdentityProvider.objects.filter(organization=org).first()
    s = OneLogin_Saml2_Settings(saml_settings(request, org, idp), sp_validation_only=True)
    xml = s.get_sp_metadata()
    return xml.decode() if isinstance(xml, bytes) else xml


def _prepare(request, path: str, post: dict | None = None) -> dict:
    return {
        "https": "on" if request.is_secure() else "off",
        "http_host": urlsplit(base_url(request)).netloc,
        "script_name": path,   # python3-saml compares Destination/Recipient with host + this path
        "get_data": request.GET.copy(),
        "post_data": post if post is not None else request.POST.copy(),
    }


# --------------------------------------------------------------------------------------------- IdP metadata


def _pem(body: str) -> str:
    body = "".join(body.split())
    return "-----BEGIN CERTIFICATE-----\n" + "\n".join(body[i:i + 64] for i in range(0, len(body), 64)) + \
        "\n-----END CERTIFICATE-----\n"


def certificate_validity(body: str) -> tuple[datetime, datetime]:
    """(not before, not after) of a base64 certificate body; ValidationError if it is not a certificate."""
    result = subprocess.run(["openssl", "x509", "-noout", "-startdate", "-enddate"], input=_pem(body).encode(),
                            capture_output=True)
    if result.returncode != 0:
        raise ValidationError(_("The signing certificate in the metadata is not a valid X.509 certificate."))
    dates = dict(line.split("=", 1) for line in result.stdout.decode().splitlines() if "=" in line)

    def parse(value: str) -> datetime:
        return datetime.strptime(" ".join(value.split()), "%b %d %H:%M:%S %Y %Z").replace(tzinfo=UTC)

    return parse(dates["notBefore"]), parse(dates["notAfter"])


def parse_idp_metadata(xml: bytes | str) -> dict:
    """The IdP's entity ID, SSO/SLO URLs, signing certificates and NameID format from its metadata XML.

    Raises ValidationError with a message an administrator can act on.
    """
    if isinstance(xml, bytes):
        try:
            xml = xml.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ValidationError(_("The metadata file is not UTF-8 text.")) from exc
    try:
        OneLogin_Saml2_XML.to_etree(xml)
    except Exception as exc:  # lxml syntax errors, DTDs and entities (refused by python3-saml's parser)
        raise ValidationError(_("The metadata file is not well-formed XML: %(error)s"), params={"error": exc}) from exc
    valid_until = OneLogin_Saml2_XML.to_etree(xml).get("validUntil")
    if valid_until:
        try:
            expired = OneLogin_Saml2_Utils.parse_SAML_to_time(valid_until) <= timezone.now().timestamp()
        except ValueError as exc:
            raise ValidationError(_("The metadata's validUntil date cannot be read.")) from exc
        if expired:
            raise ValidationError(_("The metadata expired on %(date)s (validUntil). Ask the IdP's administrator "
                                    "for current metadata."), params={"date": valid_until})
    try:
        parsed = OneLogin_Saml2_IdPMetadataParser.parse(xml)
    except Exception as exc:
        raise ValidationError(_("The metadata could not be read: %(error)s"), params={"error": exc}) from exc
    idp = parsed.get("idp") or {}
    if not idp.get("entityId"):
        raise ValidationError(_("The metadata has no IdP (no IDPSSODescriptor with an entity ID)."))
    sso_url = (idp.get("singleSignOnService") or {}).get("url")
    if not sso_url:
        raise ValidationError(_("The metadata has no single sign-on URL with the HTTP-Redirect binding."))
    certs = list((idp.get("x509certMulti") or {}).get("signing") or [])
    if not certs and idp.get("x509cert"):
        certs = [idp["x509cert"]]
    if not certs:
        raise ValidationError(_("The metadata has no signing certificate."))
    now = timezone.now()
    valid = []
    for cert in certs:
        not_before, not_after = certificate_validity(cert)
        if not_before <= now < not_after:
            valid.append((cert, not_after))
    if not valid:
        raise ValidationError(_("The IdP's signing certificate has expired or is not valid yet. Ask the IdP's "
                                "administrator for current metadata."))
    name_id_format = (parsed.get("sp") or {}).get("NameIDFormat", "")
    return {
        "entity_id": idp["entityId"],
        "sso_url": sso_url,
        "slo_url": (idp.get("singleLogoutService") or {}).get("url", ""),
        "signing_certificates": [c for c, _na in valid],
        "certificate_not_after": min(na for _c, na in valid),
        "name_id_format": name_id_format if name_id_format in NAME_ID_FORMATS else "",
        "metadata_xml": xml,
    }


# --------------------------------------------------------------------------------------------- actions


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


# --------------------------------------------------------------------------------------------- sign-in


def idp_for_email(email: str) -> IdentityProvider | None:
    """The enabled IdP of the organisation where a person with this email lives, if any."""
    person = Person.objects.with_email(email).select_related("organization").first() if email else None
    if person is None:
        return None
    return IdentityProvider.objects.filter(organization_id=person.organization_id, enabled=True).first()


def enabled_idp(org_id) -> IdentityProvider | None:
    return IdentityProvider.objects.filter(organization_id=org_id, enabled=True).first()


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


# --------------------------------------------------------------------------------------------- logout


def logout_url(request) -> str | None:
    """Where to send a person signed in through an IdP with single logout; None: local sign-out only."""
    info = request.session.get(SESSION_SIGNED_IN)
    if not info:
        return None
    idp = IdentityProvider.objects.filter(organization_id=info["org"]).select_related("organization").first()
    if idp is None or not idp.slo_url:
        return None
    auth = OneLogin_Saml2_Auth(_prepare(request, request.path), saml_settings(request, idp.organization, idp))
    return auth.logout(return_to=base_url(request) + settings.LOGIN_URL, name_id=info.get("name_id"),
                       session_index=info.get("session_index"), name_id_format=info.get("format"))


def process_slo(request, org: Organization, logout_local) -> str | None:
    """Handle the IdP's LogoutRequest or LogoutResponse (HTTP-Redirect); returns where to redirect next."""
    idp = IdentityProvider.objects.filter(organization=org).first()
    if idp is None:
        raise SsoRefused(_("Single sign-on is not set up for this organization."))
    auth = OneLogin_Saml2_Auth(_prepare(request, reverse("sso:sls", args=[org.pk])),
                               saml_settings(request, org, idp))
    try:
        url = auth.process_slo(delete_session_cb=logout_local)
    except Exception as exc:
        raise SsoRefused(_("The logout message could not be processed: %(error)s") % {"error": exc}) from exc
    if auth.get_errors():
        raise SsoRefused(_("The logout message was rejected: %(reason)s")
                         % {"reason": auth.get_last_error_reason() or ", ".join(auth.get_errors())})
    return url
