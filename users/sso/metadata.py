"""Reading an IdP's uploaded metadata: entity ID, SSO/SLO URLs, signing certificates (validity checked)."""
import subprocess
from datetime import UTC, datetime

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _
from onelogin.saml2.idp_metadata_parser import OneLogin_Saml2_IdPMetadataParser
from onelogin.saml2.utils import OneLogin_Saml2_Utils
from onelogin.saml2.xml_utils import OneLogin_Saml2_XML

from .base import NAME_ID_FORMATS


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
