"""Setting up SSO in the portal (metadata both ways, test, enable), and sign-in routing once it is on."""
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from controlhub.models import AuditEvent, AuditSource
from controlhub.roles import Role
from users import sso
from users.models import Person
from users.sso_models import IdentityProvider, SignInOutcome, SsoSignIn

pytest.register_assert_rewrite("tests.integration.sso_fixtures")  # before the import: its asserts report well
from .sso_fixtures import idp_metadata  # noqa: E402

pytestmark = pytest.mark.django_db
pytest_plugins = ["tests.integration.sso_fixtures"]
PASSWORD = "correct-horse-battery"


def upload(client, xml):
    return client.post("/settings/sso/", {"step": "upload",
                                          "metadata": SimpleUploadedFile("idp.xml", xml.encode(), "text/xml")})


def test_sp_metadata_per_organisation(client, org, other_org):
    a = client.get(f"/sso/{org.pk}/metadata/?download=1")
    b = client.get(f"/sso/{other_org.pk}/metadata/")
    assert a.status_code == 200 and "attachment" in a["Content-Disposition"]
    body = a.content.decode()
    assert f'entityID="http://testserver/sso/{org.pk}/metadata/"' in body
    assert f'Location="http://testserver/sso/{org.pk}/acs/"' in body
    assert "X509Certificate" in body and "AuthnRequestsSigned=\"true\"" in body
    assert str(org.pk) not in b.content.decode()


def test_full_admin_uploads_tests_and_enables(client, org, full_admin, idp_keys):
    client.force_login(full_admin)
    page = client.get("/settings/sso/")
    assert page.status_code == 200 and b"Download SP metadata" in page.content
    r = upload(client, idp_metadata("https://idp.example.test/md", idp_keys["idp-a"][1],
                                    slo_url="https://idp.example.test/slo"))
    assert r.status_code == 302, r.content.decode()[:3000]
    idp = IdentityProvider.objects.get(organization=org)
    assert idp.entity_id == "https://idp.example.test/md" and idp.slo_url == "https://idp.example.test/slo"
    assert idp.certificate_not_after > timezone.now() and not idp.enabled and idp.tested_at is None
    # enabling before a successful test is refused
    client.post("/settings/sso/", {"step": "enable"})
    idp.refresh_from_db()
    assert not idp.enabled
    # the test run: a real AuthnRequest in test mode
    r = client.get(f"/sso/{org.pk}/test/")
    assert r.status_code == 302 and r["Location"].startswith("https://idp.example.test/md".replace("md", ""))
    assert client.session[sso.SESSION_PENDING][str(org.pk)]["test"] is True
    sso.mark_tested(sso.Actor.system(), idp)
    client.post("/settings/sso/", {"step": "enable"})
    idp.refresh_from_db()
    assert idp.enabled
    events = AuditEvent.objects.filter(object_type="identityprovider", object_id=str(idp.pk))
    assert events.filter(action="CREATE").exists() and events.filter(after__enabled=True).exists()


def test_test_run_validates_without_signing_in(client, make_sso_org, make_admin, saml):
    acme = make_sso_org("Acme", people=("alice@acme.test",), enabled=False)
    admin = make_admin(Role.FULL_ADMIN, org=acme.org)
    client.force_login(admin)
    rid = saml.start(acme.org, path="test")
    r = saml.post(acme.org, acme.response(rid))
    assert r.status_code == 200 and b"Single sign-on works" in r.content and b"alice@acme.test" in r.content
    assert int(client.session["_auth_user_id"]) == admin.pk          # still the admin
    assert IdentityProvider.objects.get(organization=acme.org).tested_at is not None
    assert SsoSignIn.objects.filter(organization=acme.org, outcome=SignInOutcome.TESTED).exists()


@pytest.mark.parametrize("xml, message", [
    ("<not xml", "not well-formed XML"),
    ('<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="x"/>', "no IdP"),
    (None, "no signing certificate"),
    ('<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>', "not well-formed"),
])
def test_broken_metadata_gives_a_clear_error(client, org, full_admin, xml, message):
    client.force_login(full_admin)
    r = upload(client, xml if xml is not None else idp_metadata("https://idp.example.test/md", None))
    assert r.status_code == 200 and message in r.content.decode(), r.content.decode()[:4000]
    assert not IdentityProvider.objects.filter(organization=org).exists()


def test_expired_certificate_in_metadata(client, org, full_admin, idp_keys, monkeypatch):
    later = timezone.now() + timedelta(days=30)        # the test certificates are valid for 2 days
    monkeypatch.setattr(sso.timezone, "now", lambda: later)
    client.force_login(full_admin)
    r = upload(client, idp_metadata("https://idp.example.test/md", idp_keys["idp-a"][1]))
    assert "has expired or is not valid yet" in r.content.decode()


def test_read_only_admin_cannot_change_sso(client, org, make_admin, idp_keys):
    client.force_login(make_admin(Role.READ_ONLY_ADMIN, org=org))
    assert client.get("/settings/sso/").status_code == 200
    r = upload(client, idp_metadata("https://idp.example.test/md", idp_keys["idp-a"][1]))
    assert r.status_code == 403
    assert client.get(f"/sso/{org.pk}/test/").status_code == 403


def test_email_first_sign_in_goes_to_the_idp(client, acme):
    r = client.post("/accounts/login/", {"login": "Alice@Acme.test", "password": ""})
    assert r.status_code == 302 and r["Location"].startswith(f"/sso/{acme.org.pk}/login/")
    r = client.get(r["Location"])
    assert r.status_code == 302 and "SAMLRequest=" in r["Location"] and acme.entity_id.split("/saml2")[0] in r[
        "Location"]


def test_password_sign_in_refused_for_sso_org_people_except_break_glass(client, acme, make_admin):
    person = Person.objects.get(email="alice@acme.test")
    account = sso.account_for(person)
    account.set_password(PASSWORD)
    account.save()
    r = client.post("/accounts/login/", {"login": "alice@acme.test", "password": PASSWORD})
    assert r.status_code == 200 and "signs in with single sign-on" in r.content.decode()
    assert "_auth_user_id" not in client.session
    attempt = SsoSignIn.objects.get(organization=acme.org, outcome=SignInOutcome.REFUSED)
    assert "Password sign-in refused" in attempt.reason
    assert AuditEvent.objects.filter(object_id=str(attempt.pk), source=AuditSource.SSO).exists()

    # an admin of only this organisation is refused too, unless named break-glass
    admin = make_admin(Role.FULL_ADMIN, org=acme.org)
    r = client.post("/accounts/login/", {"login": admin.email, "password": PASSWORD})
    assert "_auth_user_id" not in client.session
    idp = IdentityProvider.objects.get(organization=acme.org)
    sso.update_idp(sso.Actor.system(), idp, break_glass=[admin])
    r = client.post("/accounts/login/", {"login": admin.email, "password": PASSWORD})
    assert r.status_code == 302 and int(client.session["_auth_user_id"]) == admin.pk


def test_password_sign_in_unaffected_elsewhere(client, org, full_admin):
    r = client.post("/accounts/login/", {"login": full_admin.email, "password": PASSWORD})
    assert r.status_code == 302


def test_options_form_saves_mapping_and_break_glass(client, acme, make_admin):
    admin = make_admin(Role.FULL_ADMIN, org=acme.org)
    client.force_login(admin)
    r = client.post("/settings/sso/", {"step": "settings", "group_attribute": "groups",
                                       "role_mapping": "ch-admins = full_admin\n", "break_glass": [admin.pk]})
    assert r.status_code == 302, r.content.decode()[:3000]
    idp = IdentityProvider.objects.get(organization=acme.org)
    assert idp.role_mapping == {"ch-admins": "FULL_ADMIN"} and list(idp.break_glass_accounts.all()) == [admin]
    r = client.post("/settings/sso/", {"step": "settings", "role_mapping": "ch-admins = PARTNER_FULL_ADMIN"})
    assert r.status_code == 200 and "write group = role" in r.content.decode()


def test_nav_link_for_admins(client, org, full_admin):
    client.force_login(full_admin)
    assert b'href="/settings/sso/"' in client.get("/").content


def test_break_glass_must_be_a_full_admin_of_the_org(acme, make_admin, other_org):
    idp = IdentityProvider.objects.get(organization=acme.org)
    outsider = make_admin(Role.FULL_ADMIN, org=other_org)
    with pytest.raises(ValidationError):
        sso.update_idp(sso.Actor.system(), idp, break_glass=[outsider])
    assert not idp.break_glass_accounts.exists()


def test_sso_events_show_in_the_audit_log(client, acme, saml, make_admin):
    saml.post(acme.org, acme.response(None, name_id="ghost@acme.test"))    # refused: unknown person
    client.force_login(make_admin(Role.FULL_ADMIN, org=acme.org))
    page = client.get("/audit/")
    assert page.status_code == 200
    assert "ghost@acme.test is not a user of Acme" in page.content.decode()
    settings_page = client.get("/settings/sso/").content.decode()
    assert "Refused" in settings_page and "ghost@acme.test" in settings_page


def test_expired_metadata_valid_until(client, org, full_admin, idp_keys):
    client.force_login(full_admin)
    xml = idp_metadata("https://idp.example.test/md", idp_keys["idp-a"][1]).replace(
        'entityID="', 'validUntil="2020-01-01T00:00:00Z" entityID="', 1)
    r = upload(client, xml)
    assert "The metadata expired on 2020-01-01T00:00:00Z" in r.content.decode()
    assert not IdentityProvider.objects.filter(organization=org).exists()
