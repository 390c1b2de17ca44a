"""SSO test fixtures: a fake IdP whose keys the tests hold (signed responses built here, no PHP), organisations with
an IdP configured from metadata, and the browser-like ACS round trip for the Django test client.

Load with `pytest_plugins = ["tests.integration.sso_fixtures"]`.
"""
import base64
import itertools
import subprocess
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from onelogin.saml2.constants import OneLogin_Saml2_Constants as C
from onelogin.saml2.utils import OneLogin_Saml2_Utils

from controlhub.actions import Actor
from controlhub.models import AdminRole
from controlhub.roles import Role
from users import sso
from users.actions import create_person

HOST = "testserver"
_seq = itertools.count(1)


def make_keypair(directory, cn: str) -> tuple[str, str]:
    key, crt = f"{directory}/{cn}.key", f"{directory}/{cn}.crt"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-sha256", "-days", "2",
                    "-subj", f"/CN={cn}", "-keyout", key, "-out", crt], check=True, capture_output=True)
    return open(key).read(), open(crt).read()


def cert_body(pem: str) -> str:
    return "".join(line for line in pem.splitlines() if "CERTIFICATE" not in line)


def idp_metadata(entity_id: str, cert_pem: str | None, sso_url: str | None = None, slo_url: str | None = None,
                 name_id_format: str | None = C.NAMEID_EMAIL_ADDRESS) -> str:
    key = (f'<md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>{cert_body(cert_pem)}'
           '</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>') if cert_pem else ""
    sso_url = sso_url or entity_id.replace("metadata.php", "SSOService.php")
    slo = (f'<md:SingleLogoutService Binding="{C.BINDING_HTTP_REDIRECT}" Location="{slo_url}"/>'
           if slo_url else "")
    fmt = f"<md:NameIDFormat>{name_id_format}</md:NameIDFormat>" if name_id_format else ""
    return (f'<?xml version="1.0"?><md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" '
            f'xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="{entity_id}">'
            f'<md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">{key}{slo}'
            f'{fmt}<md:SingleSignOnService Binding="{C.BINDING_HTTP_REDIRECT}" Location="{sso_url}"/>'
            '</md:IDPSSODescriptor></md:EntityDescriptor>')


def _t(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Spec:
    """Every field of a response, set before signing, so each negative test breaks exactly one thing."""

    issuer: str
    destination: str
    audience: str
    in_response_to: str | None
    name_id: str = "alice@acme.test"
    name_id_format: str = C.NAMEID_EMAIL_ADDRESS
    attributes: dict = field(default_factory=dict)
    now: datetime | None = None
    valid_for: timedelta = timedelta(minutes=5)
    not_before_offset: timedelta = timedelta(seconds=-30)
    assertion_id: str | None = None


def assertion_xml(spec: Spec) -> str:
    now = spec.now or datetime.now(UTC)
    nooa, nb = _t(now + spec.valid_for), _t(now + spec.not_before_offset)
    aid = spec.assertion_id or "_a" + uuid.uuid4().hex
    irt = f' InResponseTo="{spec.in_response_to}"' if spec.in_response_to else ""
    attrs = "".join(
        f'<saml:Attribute Name="{name}" NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:basic">'
        + "".join(f'<saml:AttributeValue xmlns:xs="http://www.w3.org/2001/XMLSchema" '
                  f'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="xs:string">{v}'
                  '</saml:AttributeValue>' for v in values)
        + "</saml:Attribute>" for name, values in spec.attributes.items())
    attr_statement = f"<saml:AttributeStatement>{attrs}</saml:AttributeStatement>" if attrs else ""
    return (f'<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="{aid}" Version="2.0" '
            f'IssueInstant="{_t(now)}"><saml:Issuer>{spec.issuer}</saml:Issuer><saml:Subject>'
            f'<saml:NameID Format="{spec.name_id_format}">{spec.name_id}</saml:NameID>'
            '<saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer">'
            f'<saml:SubjectConfirmationData NotOnOrAfter="{nooa}" Recipient="{spec.destination}"{irt}/>'
            f'</saml:SubjectConfirmation></saml:Subject><saml:Conditions NotBefore="{nb}" NotOnOrAfter="{nooa}">'
            f'<saml:AudienceRestriction><saml:Audience>{spec.audience}</saml:Audience></saml:AudienceRestriction>'
            f'</saml:Conditions><saml:AuthnStatement AuthnInstant="{_t(now)}" SessionIndex="_s{uuid.uuid4().hex}">'
            '<saml:AuthnContext><saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:Password'
            f'</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>{attr_statement}'
            '</saml:Assertion>')


def sign(xml: str, key: str, cert: str) -> str:
    signed = OneLogin_Saml2_Utils.add_sign(xml, key, cert, sign_algorithm=C.RSA_SHA256, digest_algorithm=C.SHA256)
    return signed.decode().replace('<?xml version="1.0"?>', "").strip()


def response_xml(spec: Spec, assertion: str) -> str:
    now = spec.now or datetime.now(UTC)
    irt = f' InResponseTo="{spec.in_response_to}"' if spec.in_response_to else ""
    return (f'<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" '
            f'xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_r{uuid.uuid4().hex}" Version="2.0" '
            f'IssueInstant="{_t(now)}" Destination="{spec.destination}"{irt}><saml:Issuer>{spec.issuer}'
            '</saml:Issuer><samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/>'
            f'</samlp:Status>{assertion}</samlp:Response>')


def build_response(spec: Spec, key=None, cert=None, sign_assertion=True, sign_response=True) -> str:
    assertion = assertion_xml(spec)
    if sign_assertion:
        assertion = sign(assertion, key, cert)
    response = response_xml(spec, assertion)
    return sign(response, key, cert) if sign_response else response


def b64(xml: str) -> str:
    return base64.b64encode(xml.encode()).decode()


@dataclass
class FakeIdp:
    org: object
    entity_id: str
    key: str
    cert: str

    @property
    def acs(self) -> str:
        return f"http://{HOST}/sso/{self.org.pk}/acs/"

    @property
    def audience(self) -> str:
        return f"http://{HOST}/sso/{self.org.pk}/metadata/"

    def spec(self, in_response_to, **kw) -> Spec:
        return Spec(**{"issuer": self.entity_id, "destination": self.acs, "audience": self.audience,
                       "in_response_to": in_response_to, **kw})

    def response(self, in_response_to, sign_assertion=True, sign_response=True, **kw) -> str:
        return b64(build_response(self.spec(in_response_to, **kw), self.key, self.cert, sign_assertion,
                                  sign_response))


@pytest.fixture(scope="session")
def idp_keys(tmp_path_factory):
    d = tmp_path_factory.mktemp("sso-keys")
    return {name: make_keypair(d, name) for name in ("idp-a", "idp-b", "attacker")}


@pytest.fixture(autouse=True)
def sp_keys(settings, tmp_path_factory):
    """One SP key pair for the test session (generated by users.sso on first use), never the repo's var/."""
    d = tmp_path_factory.getbasetemp() / "sso-sp"
    settings.SSO_SP_KEY_FILE = d / "sp.key"
    settings.SSO_SP_CERT_FILE = d / "sp.crt"
    settings.SSO_BASE_URL = ""
    settings.PUBLIC_BASE_URL = ""


@pytest.fixture
def make_sso_org(make_org, idp_keys):
    """make_sso_org(name, key="idp-a", people=("alice@acme.test",), enabled=True) -> FakeIdp for a new org."""

    def make(name: str, key: str = "idp-a", people=("alice@acme.test",), enabled: bool = True, **idp_fields):
        org = make_org(name)
        for email in people:
            create_person(Actor.system(), org, email=email, first_name=email.split("@")[0].title(),
                          last_name="Person", send_welcome=False)
        entity_id = f"https://idp{next(_seq)}.example.test/saml2/idp/metadata.php"
        k, c = idp_keys[key]
        idp = sso.upload_idp_metadata(Actor.system(), org, idp_metadata(entity_id, c))
        if enabled:
            sso.mark_tested(Actor.system(), idp)
            sso.update_idp(Actor.system(), idp, enabled=True, **idp_fields)
        return FakeIdp(org=org, entity_id=entity_id, key=k, cert=c)

    return make


@pytest.fixture
def acme(db, make_sso_org) -> FakeIdp:
    return make_sso_org("Acme", "idp-a", people=("alice@acme.test", "bob@acme.test"))


@pytest.fixture
def globex(db, make_sso_org) -> FakeIdp:
    return make_sso_org("Globex", "idp-b", people=("gina@globex.test",))


@pytest.fixture
def saml(client):
    """Browser-like steps: start(org) -> AuthnRequest ID; post(org, SAMLResponse) -> the finish response."""

    class Steps:
        @staticmethod
        def start(org, path="login"):
            r = client.get(f"/sso/{org.pk}/{path}/")
            assert r.status_code == 302 and "SAMLRequest=" in r["Location"], r.content[:500]
            return client.session[sso.SESSION_PENDING][str(org.pk)]["id"]

        @staticmethod
        def post(org, saml_response, relay_state=""):
            r = client.post(f"/sso/{org.pk}/acs/", {"SAMLResponse": saml_response, "RelayState": relay_state})
            assert r.status_code == 200 and b"acs/finish/" in r.content
            return client.post(f"/sso/{org.pk}/acs/finish/", {"SAMLResponse": saml_response,
                                                               "RelayState": relay_state})

    return Steps


def full_admin_of(org, make_admin):
    return make_admin(Role.FULL_ADMIN, org=org)


def roles_of(account, org) -> set[str]:
    return set(AdminRole.objects.filter(account=account, organization=org).values_list("role", flat=True))
