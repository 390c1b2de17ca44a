"""SAML SSO in Chromium against two real SimpleSAMLphp IdPs (deploy/simplesamlphp.sh) on 127.0.0.1, the portal on
localhost (another site: the IdP's POST to our ACS is cross-site, as in production)."""
import base64
import os
import re
import shutil
import subprocess
import urllib.request
from pathlib import Path
from urllib.parse import parse_qs, urlencode

import pytest
from playwright.sync_api import expect

from controlhub.actions import Actor
from controlhub.models import AuditEvent, AuditSource
from controlhub.roles import Role
from users import sso
from users.actions import create_person
from users.models import Person
from users.sso_models import IdentityProvider, SignInOutcome, SsoSignIn

from .conftest import SCREENSHOTS

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
# Each xdist worker runs its own two IdPs (configured for its own live server), so each needs its own ports: with
# shared ones the second worker's start found the first worker's IdPs answering and used them.
_WORKER = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw") or 0)
PORT_A = int(os.environ.get("SSP_PORT_A", str(8281 + 10 * _WORKER)))
PORT_B = int(os.environ.get("SSP_PORT_B", str(8282 + 10 * _WORKER)))
IDP_A, IDP_B = f"http://127.0.0.1:{PORT_A}", f"http://127.0.0.1:{PORT_B}"
IDP_LOGIN = re.compile(r"http://127\.0\.0\.1:\d+/module\.php/core/loginuserpass\.php.*")
PASSWORD = "correct-horse-battery"


@pytest.fixture(scope="session")
def ssp(tmp_path_factory):
    """Both test IdPs, started by the deploy script with a private runtime folder, stopped afterwards."""
    if not shutil.which("php") or not Path("/usr/share/simplesamlphp/www").is_dir():
        pytest.skip("SimpleSAMLphp not installed (deploy/system-deps.sh installs it)")
    runtime = tmp_path_factory.mktemp("simplesamlphp")
    env = {**os.environ, "SSP_RUNTIME_DIR": str(runtime), "SSP_PORT_A": str(PORT_A), "SSP_PORT_B": str(PORT_B)}
    script = ROOT / "deploy" / "simplesamlphp.sh"
    subprocess.run([str(script), "start"], env=env, check=True, capture_output=True, timeout=60)
    yield runtime
    subprocess.run([str(script), "stop"], env=env, check=False, capture_output=True, timeout=30)


def trust_sp(ssp: Path, idp: str, name: str, xml: bytes) -> None:
    """What the IdP's administrator does with our SP metadata: the IdP reads sp-metadata/*.xml on each request."""
    (ssp / idp / "sp-metadata" / f"{name}.xml").write_bytes(xml)


def snap(p, step: str) -> None:
    SCREENSHOTS.mkdir(exist_ok=True)
    p.screenshot(path=str(SCREENSHOTS / f"test_sso-{step}.png"), full_page=True)


def fetch(url: str) -> bytes:
    return urllib.request.urlopen(url, timeout=5).read()


def idp_login(page, user: str, password: str) -> None:
    page.wait_for_url(IDP_LOGIN)
    page.fill("#username", user)
    page.fill("#password", password)
    page.click("#submit_button")


def password_sign_in(page, base: str, email: str, password: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.get_by_label(re.compile("email", re.I)).fill(email)
    page.get_by_label(re.compile("password", re.I)).fill(password)
    page.get_by_role("button", name=re.compile("sign in", re.I)).click()


def test_admin_sets_up_sso_and_a_person_signs_in_through_the_idp(page, shot, browser, live_server, ssp, make_org,
                                                                 make_admin, tmp_path):
    base = live_server.url
    acme = make_org("Acme")
    for email in ("alice@acme.test", "bob@acme.test"):
        create_person(Actor.system(), acme, email=email, first_name=email.split("@")[0].title(), last_name="Test",
                      send_welcome=False)
    admin = make_admin(Role.FULL_ADMIN, org=acme)

    # 1. the admin downloads our SP metadata and gives it to the IdP
    password_sign_in(page, base, admin.email, PASSWORD)
    expect(page.get_by_role("navigation")).to_be_visible()
    page.get_by_role("link", name="Single sign-on").click()
    expect(page.get_by_role("heading", name="Single sign-on", exact=True)).to_be_visible()
    shot("01-sso-settings-empty")
    with page.expect_download() as download:
        page.click("#sp-metadata-download")
    sp_xml = Path(download.value.path()).read_bytes()
    assert f"/sso/{acme.pk}/acs/".encode() in sp_xml
    trust_sp(ssp, "idp-a", "acme", sp_xml)

    # 2. uploads the IdP's metadata
    idp_md = tmp_path / "idp-a.xml"
    idp_md.write_bytes(fetch(f"{IDP_A}/saml2/idp/metadata.php"))
    page.get_by_label(re.compile("IdP metadata file")).set_input_files(str(idp_md))
    page.get_by_role("button", name="Upload metadata").click()
    expect(page.locator("#idp-entity-id")).to_have_text(f"{IDP_A}/saml2/idp/metadata.php")
    expect(page.get_by_role("button", name="Enable single sign-on")).to_be_disabled()
    # options: IdP group -> admin role, and the admin stays break-glass
    page.get_by_label("Group attribute").fill("groups")
    page.get_by_label("Groups that grant administrator roles").fill("ch-readonly-admins = READ_ONLY_ADMIN")
    page.get_by_label(admin.email).check()
    page.get_by_role("button", name="Save options").click()
    expect(page.get_by_text("Single sign-on settings saved.")).to_be_visible()
    shot("02-metadata-uploaded")

    # 3. Test SSO in a new tab: signs in at the IdP, validates, signs nobody in here
    with page.context.expect_page() as new_tab:
        page.click("#sso-test")
    tab = new_tab.value
    idp_login(tab, "alice@acme.test", "alicepass")
    expect(tab.get_by_role("heading", name="Single sign-on works")).to_be_visible()
    expect(tab.locator("#sso-matched")).to_contain_text("alice@acme.test")
    snap(tab, "03-test-result")
    tab.close()

    # 4. enable
    page.reload()
    page.get_by_role("button", name="Enable single sign-on").click()
    expect(page.locator("#sso-status")).to_have_text("On")
    shot("04-enabled")
    assert IdentityProvider.objects.get(organization=acme).enabled
    page.get_by_role("button", name="Sign out").click()

    # 5. the person signs in: email first -> the IdP's form -> the portal (a fresh browser, no IdP session)
    context = browser.new_context(viewport={"width": 1366, "height": 900}, locale="en-US")
    alice = context.new_page()
    alice.set_default_timeout(15000)
    alice.goto(f"{base}/accounts/login/")
    alice.get_by_label(re.compile("email", re.I)).fill("alice@acme.test")
    alice.get_by_role("button", name=re.compile("sign in", re.I)).click()
    alice.wait_for_url(IDP_LOGIN)
    snap(alice, "05-idp-login-form")
    idp_login(alice, "alice@acme.test", "alicepass")
    alice.wait_for_url(f"{base}/")
    expect(alice.locator(".user-email")).to_have_text("alice@acme.test")
    expect(alice.get_by_role("navigation", name="Main")).to_be_visible()     # read-only admin from her IdP group
    snap(alice, "06-person-in-portal")
    person = Person.objects.get(email="alice@acme.test")
    assert person.account is not None
    assert SsoSignIn.objects.filter(organization=acme, outcome=SignInOutcome.SIGNED_IN, person=person).exists()

    # 6. sign-out ends the IdP session too (single logout), back at our sign-in page
    alice.get_by_role("button", name="Sign out").click()
    alice.wait_for_url(re.compile(re.escape(base) + r"/accounts/login/.*"))
    alice.goto(f"{base}/sso/{acme.pk}/login/")
    alice.wait_for_url(IDP_LOGIN)                                            # asked for the password again
    snap(alice, "07-after-logout")

    # 7. her password is refused (SSO is on), with an audit event
    person.account.set_password(PASSWORD)
    person.account.save()
    password_sign_in(alice, base, "alice@acme.test", PASSWORD)
    expect(alice.get_by_text("Your organization signs in with single sign-on.")).to_be_visible()
    snap(alice, "08-password-refused")
    assert SsoSignIn.objects.filter(organization=acme, outcome=SignInOutcome.REFUSED,
                                    reason__startswith="Password sign-in refused").exists()
    context.close()

    # the break-glass admin still signs in with a password
    password_sign_in(page, base, admin.email, PASSWORD)
    expect(page.get_by_role("navigation", name="Main")).to_be_visible()
    assert AuditEvent.objects.filter(organization=acme, source=AuditSource.SSO).count() >= 4


def _configure(base: str, org, ssp: Path, idp: str, idp_url: str) -> None:
    trust_sp(ssp, idp, org.display_name.lower(), fetch(f"{base}/sso/{org.pk}/metadata/"))
    provider = sso.upload_idp_metadata(Actor.system(), org, fetch(f"{idp_url}/saml2/idp/metadata.php"))
    sso.mark_tested(Actor.system(), provider)
    sso.update_idp(Actor.system(), provider, enabled=True)


def test_transient_name_id_idp_initiated_and_cross_org(page, shot, live_server, ssp, make_org, make_admin):
    """IdP B sends transient NameIDs with a mail attribute and signs only the assertion; IdP-initiated sign-in
    works; IdP B asserting a person of Acme never signs anyone into Acme."""
    base = live_server.url
    globex, acme = make_org("Globex"), make_org("Acme")
    create_person(Actor.system(), globex, email="gina@globex.test", first_name="Gina", last_name="Gold",
                  send_welcome=False)
    create_person(Actor.system(), acme, email="alice@acme.test", first_name="Alice", last_name="A",
                  send_welcome=False)
    make_admin(Role.FULL_ADMIN, org=globex)
    _configure(base, globex, ssp, "idp-b", IDP_B)

    # IdP-initiated: start at the IdP, for our Globex SP
    sp_entity = f"{base}/sso/{globex.pk}/metadata/"
    page.goto(f"{IDP_B}/saml2/idp/SSOService.php?spentityid={sp_entity}")
    idp_login(page, "gina@globex.test", "ginapass")
    page.wait_for_url(f"{base}/me/")            # no admin role: her user portal, as after a password sign-in
    expect(page.get_by_role("heading", name="Gina Gold")).to_be_visible()
    expect(page.locator(".user-email")).to_have_text("gina@globex.test")
    shot("idp-initiated-gina")
    signed_in = SsoSignIn.objects.get(organization=globex, outcome=SignInOutcome.SIGNED_IN)
    assert signed_in.email == "gina@globex.test" and "@" not in signed_in.name_id     # transient NameID

    # IdP-initiated single logout: the IdP sends a LogoutRequest to our SLS, we end the session and answer
    page.goto(f"{IDP_B}/saml2/idp/SingleLogoutService.php?ReturnTo={base}/accounts/login/")
    page.wait_for_url(f"{base}/accounts/login/")
    page.goto(f"{base}/")
    page.wait_for_url(re.compile(re.escape(base) + r"/accounts/login/\?next=/"))

    # mallory at IdP B claims alice@acme.test: refused at Globex (not a Globex person), Acme untouched
    page.context.clear_cookies()
    page.goto(f"{base}/sso/{globex.pk}/login/")
    idp_login(page, "alice@acme.test", "mallorypass")
    expect(page.locator("#sso-reason")).to_contain_text("alice@acme.test is not a user of Globex")
    shot("cross-org-refused")
    assert Person.objects.get(email="alice@acme.test").account is None
    assert not SsoSignIn.objects.filter(organization=acme).exists()
    refused = SsoSignIn.objects.get(organization=globex, outcome=SignInOutcome.REFUSED)
    assert AuditEvent.objects.filter(object_id=str(refused.pk), source=AuditSource.SSO).exists()


def test_tampered_response_in_flight_is_refused(page, shot, live_server, ssp, make_org):
    """A man-in-the-browser edits the real IdP's signed response on its way to our ACS."""
    base = live_server.url
    acme = make_org("Acme")
    for email in ("alice@acme.test", "bob@acme.test"):
        create_person(Actor.system(), acme, email=email, first_name="X", last_name="Y", send_welcome=False)
    _configure(base, acme, ssp, "idp-a", IDP_A)

    def tamper(route):
        form = {k: v[0] for k, v in parse_qs(route.request.post_data).items()}
        xml = base64.b64decode(form["SAMLResponse"]).decode()
        form["SAMLResponse"] = base64.b64encode(xml.replace(">bob@acme.test<", ">alice@acme.test<").encode()).decode()
        route.continue_(post_data=urlencode(form))

    page.route(f"{base}/sso/{acme.pk}/acs/", tamper)
    page.goto(f"{base}/sso/{acme.pk}/login/")
    idp_login(page, "bob@acme.test", "bobpass")
    expect(page.locator("#sso-reason")).to_contain_text("Signature validation failed")
    shot("tampered-refused")
    assert Person.objects.get(email="alice@acme.test").account is None
