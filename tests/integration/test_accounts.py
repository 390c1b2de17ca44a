"""Local accounts: the invitation link (single use, expiry, resend), password reset, throttled sign-in, email-first
form, CSRF on forms, session cookies, and the user portal (/me/) of a person without an admin role."""
import re
import subprocess
import sys
from datetime import timedelta

import pytest
from django.core import mail
from django.core.cache import cache
from django.test import Client

from controlhub.models import Account, AuditEvent
from controlhub.roles import Role
from tests.integration.api_fixtures import Api
from tests.integration.portal_support import client_for, make_device
from users import invitations
from users.models import Person, PersonStatus
from users.tasks import send_admin_invitation, send_welcome_mail

pytestmark = pytest.mark.django_db
pytest_plugins = ["tests.integration.sso_fixtures"]
PASSWORD = "Tr0ubadour-and-horse"
LINK = re.compile(r"http://127\.0\.0\.1:8000(/accounts/invitation/\d+/[0-9a-z]+-[0-9a-f]+/)")


@pytest.fixture(autouse=True)
def fresh_limits(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    cache.clear()   # failed sign-in counts live in the cache
    yield
    cache.clear()


def mailed_link(email: str) -> str:
    """The invitation path in the newest mail to `email`."""
    body = [m for m in mail.outbox if email in m.to][-1].body
    match = LINK.search(body)
    assert match, body
    return match.group(1)


def invite(person: Person) -> str:
    """Send the welcome mail now (what the worker does) and return its invitation path."""
    assert send_welcome_mail(str(person.pk))
    return mailed_link(person.email)


def set_password_with(client: Client, path: str, password: str = PASSWORD):
    """Open the link (the token moves to the session) and set the password on the page it leads to."""
    opened = client.get(path)
    assert opened.status_code == 302 and opened.url.endswith("/set-password/"), opened
    form = client.get(opened.url)
    assert form.status_code == 200 and b'name="new_password1"' in form.content
    return client.post(opened.url, {"new_password1": password, "new_password2": password})


# --------------------------------------------------------------------------------------------- invitations


def test_welcome_mail_link_sets_a_password_signs_in_and_works_once(org, make_calling_person):
    person = make_calling_person(org, "1001", with_number=True)
    path = invite(person)
    body = mail.outbox[-1].body
    assert "works once, for 7 days" in body and person.line.number.e164 in body
    assert "Sign in with" in body   # the sign-in address stays in the mail

    client = Client()
    done = set_password_with(client, path)
    assert done.status_code == 302 and done.url == "/me/"
    person.refresh_from_db()
    assert person.status == PersonStatus.ACTIVE and person.account.check_password(PASSWORD)
    assert client.get("/me/").context["person"] == person
    assert AuditEvent.objects.filter(object_id=str(person.pk), after__status="active").exists()

    again = Client().get(path)
    assert again.status_code == 410
    assert "already used" in again.content.decode()
    assert Client().login(email=person.email, password=PASSWORD)


def test_the_token_never_stays_in_the_address_and_a_bad_password_is_explained(org, make_calling_person):
    person = make_calling_person(org, "1002")
    path = invite(person)
    client = Client()
    opened = client.get(path)
    token = path.rstrip("/").rsplit("/", 1)[1]
    assert token not in opened.url
    weak = client.post(opened.url, {"new_password1": "short", "new_password2": "short"})
    assert weak.status_code == 200 and weak.context["form"].errors["new_password2"]
    assert not Account.objects.get(email=person.email).has_usable_password()
    # the link still works after a refused password, and a page without the session's token refuses
    assert Client().get(opened.url).status_code == 400
    assert set_password_with(client, path).status_code == 302


def test_expired_link_says_to_ask_the_admin(org, make_calling_person, monkeypatch, settings):
    person = make_calling_person(org, "1003")
    now = invitations.invitation_tokens._now()
    monkeypatch.setattr(invitations.invitation_tokens, "_now", lambda: now - timedelta(days=8))
    path = invite(person)
    monkeypatch.undo()
    page = Client().get(path)
    assert page.status_code == 410
    assert "expired" in page.content.decode() and "Ask your administrator" in page.content.decode()
    # a longer setting keeps the same link alive: the lifetime is INVITATION_MAX_AGE
    settings.INVITATION_MAX_AGE = 9 * 24 * 3600
    assert Client().get(path).status_code == 302


def test_tampered_or_unknown_links_are_refused(org, make_calling_person):
    person = make_calling_person(org, "1004")
    path = invite(person)
    account_id = person.__class__.objects.get(pk=person.pk).account_id
    for bad in (path[:-3] + "00/", f"/accounts/invitation/{account_id + 999}/abc-123/",
                f"/accounts/invitation/{account_id}/zzzzzzzzzzzzzz-1/", f"/accounts/invitation/{account_id}/x/"):
        page = Client().get(bad)
        assert page.status_code == 400, bad
        assert "not valid" in page.content.decode()


def test_resend_from_the_person_page_kills_the_old_link(org, make_calling_person, full_admin):
    person = make_calling_person(org, "1005")
    old = invite(person)
    admin = client_for(full_admin)
    page = admin.get(f"/users/{person.pk}/")
    assert "Send invitation again" in page.content.decode()
    answer = admin.post(f"/users/{person.pk}/invitation/", follow=True)
    assert "A new invitation was sent" in answer.content.decode()
    assert AuditEvent.objects.filter(object_id=str(person.pk), actor=full_admin, after__invitation="sent again")
    refused = Client().get(old)
    assert refused.status_code == 400 and "newer invitation" in refused.content.decode()
    new = invite(person)
    assert new != old
    assert set_password_with(Client(), new).status_code == 302
    # once a password is set there is nothing to resend: the button is gone and a forged POST changes nothing
    assert "Send invitation again" not in admin.get(f"/users/{person.pk}/").content.decode()
    answer = admin.post(f"/users/{person.pk}/invitation/", follow=True)
    assert "already set a password" in answer.content.decode()
    assert Account.objects.get(email=person.email).check_password(PASSWORD)


def test_resend_needs_change_rights_and_the_own_organisation(org, other_org, make_calling_person, make_admin):
    mine, theirs = make_calling_person(org, "1006"), make_calling_person(other_org, "1006")
    reader = client_for(make_admin(Role.READ_ONLY_ADMIN, org=org))
    assert "Send invitation again" not in reader.get(f"/users/{mine.pk}/").content.decode()
    assert reader.post(f"/users/{mine.pk}/invitation/").status_code == 403
    full = client_for(make_admin(Role.FULL_ADMIN, org=org))
    assert full.post(f"/users/{theirs.pk}/invitation/").status_code == 404
    assert full.get(f"/users/{mine.pk}/invitation/").status_code == 405
    assert not Person.objects.filter(pk__in=[mine.pk, theirs.pk], account__isnull=False).exists()


def test_sso_people_get_no_password_link(make_sso_org, make_admin):
    sso_org = make_sso_org("Initech", people=("sam@initech.test",))
    person = Person.objects.get(email="sam@initech.test")
    assert send_welcome_mail(str(person.pk))
    assert not LINK.search(mail.outbox[-1].body)
    admin = client_for(make_admin(Role.FULL_ADMIN, org=sso_org.org))
    assert "Send invitation again" not in admin.get(f"/users/{person.pk}/").content.decode()
    answer = admin.post(f"/users/{person.pk}/invitation/", follow=True)
    assert "signs in with single sign-on" in answer.content.decode()


def test_an_administrator_invitation_leads_to_the_admin_portal(org, make_admin):
    admin = make_admin(Role.FULL_ADMIN, org=org)
    admin.set_unusable_password()
    admin.save()
    assert send_admin_invitation(admin.pk)
    done = set_password_with(Client(), mailed_link(admin.email))
    assert done.status_code == 302 and done.url == "/"
    assert not send_admin_invitation(admin.pk)   # a password is set: nothing to invite to


# --------------------------------------------------------------------------------------------- password reset


def test_password_reset_by_mail(org, full_admin):
    client = Client()
    page = client.post("/accounts/password/reset/", {"email": full_admin.email})
    assert page.status_code == 302
    message = mail.outbox[-1]
    assert message.to == [full_admin.email] and message.subject == "Reset your controlhub password"
    link = re.search(r"http://testserver(/accounts/password/reset/key/\S+/)", message.body).group(1)
    form = client.get(link)
    assert form.status_code == 302
    done = client.post(form.url, {"password1": PASSWORD, "password2": PASSWORD})
    assert done.status_code == 302
    full_admin.refresh_from_db()
    assert full_admin.check_password(PASSWORD)
    # the link is spent
    again = Client().get(link, follow=True)
    assert "This reset link is not valid" in again.content.decode()
    signed_in = Client().post("/accounts/login/", {"login": full_admin.email, "password": PASSWORD})
    assert signed_in.status_code == 302 and signed_in.url == "/"


def test_password_reset_for_an_unknown_address_sends_nothing(db):
    answer = Client().post("/accounts/password/reset/", {"email": "nobody@example.com"}, follow=True)
    assert answer.status_code == 200 and "Check your mail" in answer.content.decode()
    assert mail.outbox == []


# --------------------------------------------------------------------------------------------- sign-in


def sign_in(client, email, password):
    return client.post("/accounts/login/", {"login": email, "password": password})


def test_failed_sign_ins_are_throttled_with_a_clear_message(org, full_admin, make_admin):
    client = Client()
    for _ in range(5):
        wrong = sign_in(client, full_admin.email, "wrong-password")
        assert wrong.status_code == 200
        assert "not correct" in wrong.content.decode()
    throttled = sign_in(client, full_admin.email, "correct-horse-battery")
    text = throttled.content.decode()
    assert throttled.status_code == 200 and "_auth_user_id" not in client.session
    assert "Too many failed sign-in attempts. Wait 5 minutes, then try again." in text
    # another account from the same address is not locked out by someone else's failures
    other = make_admin(Role.FULL_ADMIN, org=org)
    assert sign_in(Client(), other.email, "correct-horse-battery").status_code == 302
    # the per-address limit: 10 failures a minute from one address stop every sign-in from there for a while
    cache.clear()
    for n in range(10):
        sign_in(client, f"guess{n}@example.com", "wrong-password")
    refused = sign_in(client, other.email, "correct-horse-battery").content.decode()
    assert re.search(r"Wait \d+ seconds, then try again", refused), refused


def test_successful_sign_ins_do_not_count_against_the_limit(org, full_admin):
    for _ in range(7):
        client = Client()
        assert sign_in(client, full_admin.email, "correct-horse-battery").status_code == 302


def test_email_first_form_does_not_require_a_password(org, full_admin):
    page = Client().get("/accounts/login/")
    form = page.context["form"]
    assert form.fields["login"].required and not form.fields["password"].required
    html = page.content.decode()
    password_label = re.search(r'<label for="id_password">(.*?)</label>', html, re.S).group(1)
    assert 'class="required"' not in password_label
    assert "Forgot your password?" in html
    empty = sign_in(Client(), full_admin.email, "")
    assert empty.status_code == 200 and empty.context["form"].errors["password"] == ["Enter your password."]
    # an empty password is not a failed attempt: five of them do not throttle the account
    for _ in range(5):
        sign_in(Client(), full_admin.email, "")
    assert sign_in(Client(), full_admin.email, "correct-horse-battery").status_code == 302


def test_sign_in_form_and_portal_forms_refuse_posts_without_csrf_token(org, full_admin):
    client = Client(enforce_csrf_checks=True)
    assert sign_in(client, full_admin.email, "correct-horse-battery").status_code == 403
    page = client.get("/accounts/login/")
    token = page.context["csrf_token"]
    ok = client.post("/accounts/login/", {"login": full_admin.email, "password": "correct-horse-battery",
                                          "csrfmiddlewaretoken": str(token)})
    assert ok.status_code == 302
    before = AuditEvent.objects.count()
    refused = client.post("/locations/add/", {"name": "Forged", "time_zone": "Europe/Stockholm"})
    assert refused.status_code == 403
    refused = client.post(f"/users/{Person.objects.create(organization=org, email='c@x.test').pk}/invitation/")
    assert refused.status_code == 403
    assert AuditEvent.objects.count() == before


def test_session_ends_with_the_browser_unless_remembered(org, full_admin):
    client = Client()
    sign_in(client, full_admin.email, "correct-horse-battery")
    assert client.session.get_expire_at_browser_close()
    remembered = Client()
    remembered.post("/accounts/login/", {"login": full_admin.email, "password": "correct-horse-battery",
                                         "remember": "on"})
    assert not remembered.session.get_expire_at_browser_close()
    assert remembered.session.get_expiry_age() == 8 * 3600


def test_secure_cookies_setting_marks_every_cookie_secure():
    code = ("from django.conf import settings as s; import django; django.setup(); "
            "print(s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.LANGUAGE_COOKIE_SECURE, s.CSRF_COOKIE_HTTPONLY)")
    for value, expected in (("1", "True True True True"), ("0", "False False False True")):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                             env={"DJANGO_SETTINGS_MODULE": "controlhub.settings", "SECURE_COOKIES": value,
                                  "PATH": "/usr/bin:/bin"})
        assert out.stdout.split() == expected.split()


# --------------------------------------------------------------------------------------------- user portal


@pytest.fixture
def plain_person(org, make_calling_person):
    person = make_calling_person(org, "1201", with_number=True)
    account = invitations.account_for_person(person)
    account.set_password(PASSWORD)
    account.save()
    return person


def test_a_plain_person_lands_on_their_own_page_with_number_and_phones(plain_person, org):
    device = make_device(org, plain_person)
    client = Client()
    signed_in = sign_in(client, plain_person.email, PASSWORD)
    assert signed_in.url == "/me/"
    page = client.get("/me/")
    html = page.content.decode()
    for text in (plain_person.display_name, plain_person.email, "HQ", plain_person.line.number.e164, "1201",
                 device.model.display_name, device.mac_display, "Line 1"):
        assert text in html, text
    assert "Admin portal" not in html
    assert client.post("/me/").status_code == 405


def test_me_page_is_built_in_a_fixed_number_of_queries(plain_person, org, django_assert_max_num_queries):
    for _ in range(3):
        make_device(org, plain_person)
    client = client_for(plain_person.account)
    with django_assert_max_num_queries(16):
        assert client.get("/me/").status_code == 200


def test_a_plain_person_reaches_no_admin_page_and_no_admin_api(plain_person, org):
    client = client_for(plain_person.account)
    for url in ("/", "/users/", f"/users/{plain_person.pk}/", "/devices/", "/settings/sso/", "/tasks/"):
        page = client.get(url)
        assert page.status_code == 403, url
        assert "The admin portal is for administrators" in page.content.decode()
    api = Api(plain_person.account)
    for path in ("people", f"people/{plain_person.pk}", "locations", "devices", "organizations"):
        assert api.get(path).status_code == 403, path
    assert api.post("people", {"emails": ["new@example.com"]}).status_code == 403
    me = api.get("people/me")
    assert me.status_code == 200 and me.json()["emails"] == [plain_person.email]
    # the session that shows /me/ does not open the API either
    assert client.get("/v1/people").status_code == 403
    assert client.get("/v1/people/me").status_code == 200


def test_admins_open_their_own_page_too(full_admin, make_calling_person, org):
    page = client_for(full_admin).get("/me/")
    assert page.status_code == 200 and "not a user of an organization" in page.content.decode()
    assert "Admin portal" in page.content.decode()
    assert Client().get("/me/").url.startswith("/accounts/login/?next=/me/")
