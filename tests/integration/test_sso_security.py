"""An assertion is accepted only when signed by the organisation's own IdP, for our entity ID and that
organisation's ACS, in its validity window, once, for a person of that organisation. Every refusal gives a clear
403 page and an audit event with the reason; nothing is a 500."""
import base64
import re
from datetime import UTC, datetime, timedelta

import pytest
from lxml import etree

from controlhub.models import AuditEvent, AuditSource
from users.models import Person
from users.sso_models import SeenAssertion, SignInOutcome, SsoSignIn

pytest.register_assert_rewrite("tests.integration.sso_fixtures")  # before the import: its asserts report well
from .sso_fixtures import assertion_xml, b64, build_response, response_xml, roles_of, sign  # noqa: E402

pytestmark = pytest.mark.django_db
pytest_plugins = ["tests.integration.sso_fixtures"]


def assert_refused(client, r, org, reason_part: str):
    body = r.content.decode()
    assert r.status_code == 403, body[:2000]
    assert reason_part.lower() in body.lower(), body[:3000]
    assert "_auth_user_id" not in client.session
    attempt = SsoSignIn.objects.filter(organization=org.org if hasattr(org, "org") else org).first()
    assert attempt is not None and attempt.outcome == SignInOutcome.REFUSED
    assert reason_part.lower() in attempt.reason.lower()
    event = AuditEvent.objects.filter(object_type="ssosignin", object_id=str(attempt.pk)).get()
    assert event.source == AuditSource.SSO and event.after["outcome"] == "refused"
    assert reason_part.lower() in event.after["reason"].lower()


def test_valid_response_signs_in_the_person_and_creates_their_account(client, acme, saml):
    rid = saml.start(acme.org)
    r = saml.post(acme.org, acme.response(rid))
    assert r.status_code == 302 and r["Location"] == "/me/", r.content[:2000]   # no admin role: the user portal
    person = Person.objects.get(email="alice@acme.test")
    assert person.account is not None and int(client.session["_auth_user_id"]) == person.account.pk
    attempt = SsoSignIn.objects.get(organization=acme.org)
    assert attempt.outcome == SignInOutcome.SIGNED_IN and attempt.person == person
    assert AuditEvent.objects.filter(object_type="ssosignin", source=AuditSource.SSO,
                                     after__outcome="signed_in").exists()
    assert AuditEvent.objects.filter(object_type="person", object_id=str(person.pk),
                                     after__account="alice@acme.test").exists()


def test_unsigned_response_with_signed_assertion_is_accepted_but_unsigned_assertion_is_not(client, acme, saml):
    rid = saml.start(acme.org)
    assert saml.post(acme.org, acme.response(rid, sign_response=False)).status_code == 302
    client.logout()
    rid = saml.start(acme.org)
    r = saml.post(acme.org, acme.response(rid, sign_assertion=False, sign_response=True))
    assert_refused(client, r, acme, "The Assertion of the Response is not signed")


def test_nothing_signed(client, acme, saml):
    rid = saml.start(acme.org)
    r = saml.post(acme.org, acme.response(rid, sign_assertion=False, sign_response=False))
    assert_refused(client, r, acme, "rejected")


def test_tampered_assertion(client, acme, saml):
    rid = saml.start(acme.org)
    xml = base64.b64decode(acme.response(rid, name_id="bob@acme.test")).decode()
    r = saml.post(acme.org, b64(xml.replace(">bob@acme.test<", ">alice@acme.test<")))
    assert_refused(client, r, acme, "Signature validation failed")


def test_signed_by_another_certificate(client, acme, saml, idp_keys):
    rid = saml.start(acme.org)
    key, cert = idp_keys["attacker"]
    r = saml.post(acme.org, b64(build_response(acme.spec(rid), key, cert)))
    assert_refused(client, r, acme, "Signature validation failed")


def test_wrong_audience(client, acme, saml):
    rid = saml.start(acme.org)
    r = saml.post(acme.org, acme.response(rid, audience="http://other-sp.example/metadata/"))
    assert_refused(client, r, acme, "is not a valid audience")


def test_wrong_destination(client, acme, saml):
    rid = saml.start(acme.org)
    r = saml.post(acme.org, acme.response(rid, destination="http://evil.example/acs/"))
    assert_refused(client, r, acme, "instead of http://evil.example/acs/")


def test_wrong_recipient_only(client, acme, saml):
    """Destination right, SubjectConfirmationData Recipient wrong."""
    rid = saml.start(acme.org)
    spec = acme.spec(rid)
    assertion = assertion_xml(spec).replace(f'Recipient="{acme.acs}"', 'Recipient="http://evil.example/acs/"')
    r = saml.post(acme.org, b64(sign(response_xml(spec, sign(assertion, acme.key, acme.cert)), acme.key, acme.cert)))
    assert_refused(client, r, acme, "rejected")


def test_expired(client, acme, saml):
    rid = saml.start(acme.org)
    r = saml.post(acme.org, acme.response(rid, now=datetime.now(UTC) - timedelta(hours=1)))
    assert_refused(client, r, acme, "expired")


def test_not_yet_valid(client, acme, saml):
    rid = saml.start(acme.org)
    r = saml.post(acme.org, acme.response(rid, now=datetime.now(UTC) + timedelta(hours=1),
                                          not_before_offset=timedelta(minutes=30)))
    assert_refused(client, r, acme, "rejected")


def test_replayed_assertion(client, acme, saml):
    rid = saml.start(acme.org)
    response = acme.response(rid)
    assert saml.post(acme.org, response).status_code == 302
    client.logout()
    # plain replay: the AuthnRequest was answered already
    r = saml.post(acme.org, response)
    assert_refused(client, r, acme, "does not answer a sign-in started in this browser")
    # replay while a request with the same ID is outstanding: only the assertion-ID memory catches it
    s = client.session
    s["sso_pending"] = {str(acme.org.pk): {"id": rid, "test": False, "next": "/", "at": datetime.now().timestamp()}}
    s.save()
    r = saml.post(acme.org, response)
    assert_refused(client, r, acme, "already used")


def test_replayed_idp_initiated_assertion(client, acme, saml):
    response = acme.response(None)          # unsolicited: no InResponseTo
    assert saml.post(acme.org, response).status_code == 302
    client.logout()
    assert_refused(client, saml.post(acme.org, response), acme, "already used")
    assert SeenAssertion.objects.filter(organization=acme.org).count() == 1


def test_in_response_to_of_another_request(client, acme, saml):
    saml.start(acme.org)
    r = saml.post(acme.org, acme.response("ONELOGIN_not_ours"))
    assert_refused(client, r, acme, "does not answer a sign-in started in this browser")


def test_org_a_idp_assertion_posted_to_org_b_acs(client, acme, globex, saml):
    """Globex's IdP signs an assertion, addressed (audience, destination) to Acme: Acme refuses it."""
    rid = saml.start(acme.org)
    forged = build_response(acme.spec(rid, issuer=globex.entity_id), globex.key, globex.cert)
    assert_refused(client, saml.post(acme.org, b64(forged)), acme, "rejected")
    # and a genuine Globex response, for a Globex person, posted to Acme's ACS
    rid_b = saml.start(globex.org)
    genuine_b = globex.response(rid_b, name_id="gina@globex.test")
    r = saml.post(acme.org, genuine_b)
    assert r.status_code == 403 and "_auth_user_id" not in client.session


def test_idp_b_cannot_sign_in_a_person_of_org_a(client, acme, globex, saml):
    """IdP B asserts alice@acme.test (a person of Acme) at Globex's own ACS: not a user of Globex."""
    rid = saml.start(globex.org)
    r = saml.post(globex.org, globex.response(rid, name_id="alice@acme.test"))
    assert_refused(client, r, globex, "is not a user of Globex")
    assert Person.objects.get(email="alice@acme.test").account is None


def test_unknown_person(client, acme, saml):
    rid = saml.start(acme.org)
    r = saml.post(acme.org, acme.response(rid, name_id="ghost@acme.test"))
    assert_refused(client, r, acme, "ghost@acme.test is not a user of Acme")


def test_transient_name_id_needs_an_email_attribute(client, acme, saml):
    rid = saml.start(acme.org)
    r = saml.post(acme.org, acme.response(rid, name_id="_3f2a9c", name_id_format=
                                          "urn:oasis:names:tc:SAML:2.0:nameid-format:transient"))
    assert_refused(client, r, acme, "sent no email address")
    rid = saml.start(acme.org)
    r = saml.post(acme.org, acme.response(rid, name_id="_3f2a9d", attributes={"mail": ["bob@acme.test"]},
                                          name_id_format="urn:oasis:names:tc:SAML:2.0:nameid-format:transient"))
    assert r.status_code == 302


def test_unspecified_name_id_with_email_value(client, acme, saml):
    rid = saml.start(acme.org)
    r = saml.post(acme.org, acme.response(rid, name_id="bob@acme.test",
                                          name_id_format="urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified"))
    assert r.status_code == 302


@pytest.mark.parametrize("payload", ["not base64 at all!!", b64("<not-xml"), b64("plain text"), "",
                                     b64('<!DOCTYPE x [<!ENTITY e "boom">]><x>&e;</x>'),
                                     base64.b64encode(b"\xff\xfe\x00garbage").decode()])
def test_malformed_payload_is_refused_without_500(client, acme, saml, payload):
    saml.start(acme.org)
    r = saml.post(acme.org, payload)
    assert r.status_code == 403
    assert SsoSignIn.objects.filter(organization=acme.org, outcome=SignInOutcome.REFUSED).exists()


def test_sso_disabled_refuses_unsolicited_responses(client, make_sso_org, saml):
    idp = make_sso_org("Initech", people=("ivan@initech.test",), enabled=False)
    r = saml.post(idp.org, idp.response(None, name_id="ivan@initech.test"))
    assert_refused(client, r, idp, "not enabled")


def test_group_mapping_grants_roles_in_that_org_only(client, make_sso_org, saml):
    idp = make_sso_org("Umbrella", people=("una@umbrella.test",), group_attribute="groups",
                       role_mapping={"ch-admins": "READ_ONLY_ADMIN"})
    rid = saml.start(idp.org)
    r = saml.post(idp.org, idp.response(rid, name_id="una@umbrella.test",
                                        attributes={"groups": ["staff", "ch-admins"]}))
    assert r.status_code == 302
    account = Person.objects.get(email="una@umbrella.test").account
    assert roles_of(account, idp.org) == {"READ_ONLY_ADMIN"}
    assert AuditEvent.objects.filter(object_type="adminrole", source=AuditSource.SSO).exists()


# --------------------------------------------------------------------------------------------- XML signature wrapping


def _signed_parts(acme, rid, name_id="alice@acme.test"):
    spec = acme.spec(rid, name_id=name_id)
    return spec, sign(assertion_xml(spec), acme.key, acme.cert)


def test_xsw_evil_assertion_before_signed_one(client, acme, saml):
    """XSW: an unsigned forged assertion placed before the genuine signed one."""
    rid = saml.start(acme.org)
    spec, signed = _signed_parts(acme, rid, name_id="bob@acme.test")
    evil = assertion_xml(acme.spec(rid, name_id="alice@acme.test"))
    r = saml.post(acme.org, b64(response_xml(spec, evil + signed)))
    assert_refused(client, r, acme, "rejected")


def test_xsw_signed_assertion_moved_into_extensions(client, acme, saml):
    """XSW: the genuine signed assertion hidden in samlp:Extensions; a forged copy with the same ID outside."""
    rid = saml.start(acme.org)
    spec, signed = _signed_parts(acme, rid, name_id="bob@acme.test")
    aid = re.search(r'ID="([^"]+)"', signed).group(1)
    evil = assertion_xml(acme.spec(rid, name_id="alice@acme.test", assertion_id=aid))
    response = response_xml(spec, evil).replace(
        "<samlp:Status>", f"<samlp:Extensions>{signed}</samlp:Extensions><samlp:Status>", 1)
    r = saml.post(acme.org, b64(response))
    assert_refused(client, r, acme, "rejected")


def test_xsw_forged_assertion_wraps_signed_one(client, acme, saml):
    """XSW: the forged assertion contains the genuine one (inside its Subject) and reuses its signature."""
    rid = saml.start(acme.org)
    spec, signed = _signed_parts(acme, rid, name_id="bob@acme.test")
    tree = etree.fromstring(signed)
    signature = tree.find("{http://www.w3.org/2000/09/xmldsig#}Signature")
    evil = etree.fromstring(assertion_xml(acme.spec(rid, name_id="alice@acme.test")))
    evil.set("ID", tree.get("ID") + "x")
    evil.insert(1, signature)             # the genuine signature, still referencing the genuine ID
    evil.append(tree)                     # the genuine assertion (now without its signature) nested
    r = saml.post(acme.org, b64(response_xml(spec, etree.tostring(evil).decode())))
    assert_refused(client, r, acme, "rejected")


def test_xsw_comment_injection_in_name_id(client, acme, saml):
    """alice@acme.test<!---->.evil: the signature still verifies (comments are not signed) — the NameID must
    be read as the whole text, never a prefix."""
    rid = saml.start(acme.org)
    spec = acme.spec(rid, name_id="alice@acme.test.evil.example")
    xml = build_response(spec, acme.key, acme.cert)
    xml = xml.replace(">alice@acme.test.evil.example<", ">alice@acme.test<!---->.evil.example<")
    r = saml.post(acme.org, b64(xml))
    assert r.status_code == 403
    assert "_auth_user_id" not in client.session


def test_sha1_signature_is_refused(client, acme, saml):
    from onelogin.saml2.constants import OneLogin_Saml2_Constants as C
    from onelogin.saml2.utils import OneLogin_Saml2_Utils

    def sign_sha1(xml):
        return OneLogin_Saml2_Utils.add_sign(xml, acme.key, acme.cert, sign_algorithm=C.RSA_SHA1,
                                             digest_algorithm=C.SHA1).decode().replace('<?xml version="1.0"?>', "")

    rid = saml.start(acme.org)
    spec = acme.spec(rid)
    r = saml.post(acme.org, b64(sign_sha1(response_xml(spec, sign_sha1(assertion_xml(spec)).strip()))))
    assert_refused(client, r, acme, "deprecated")
