"""Our side of SAML: the SP key pair, entity ID/ACS/SLS URLs per organisation, python3-saml settings, SP metadata."""
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

from django.conf import settings
from django.urls import reverse
from onelogin.saml2.constants import OneLogin_Saml2_Constants as C
from onelogin.saml2.settings import OneLogin_Saml2_Settings

from controlhub.models import Organization

from ..sso_models import IdentityProvider


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
