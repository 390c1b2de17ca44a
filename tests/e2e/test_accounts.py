"""Local accounts in Chromium: a new person follows the invitation link from their welcome mail, sets a password
and lands on their own page with their number and phone; the link then refuses a second use; repeated wrong
passwords are throttled with a message saying how long to wait."""
import re

import pytest
from django.core import mail
from django.core.cache import cache
from playwright.sync_api import expect

from calling.actions import create_calling_person
from devices.actions import create_device
from tests.conftest import SYSTEM, free_number, org_location
from users.tasks import send_welcome_mail

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
PASSWORD = "Tr0ubadour-and-horse"


@pytest.fixture(autouse=True)
def fresh_limits():
    cache.clear()   # failed sign-in counts: the live server runs in this process and shares the cache
    yield
    cache.clear()


def test_invitation_link_sets_a_password_and_lands_on_my_page(page, shot, live_server, org):
    hq = org_location(org, "HQ")
    number = free_number(hq)
    person = create_calling_person(SYSTEM, org, location=hq, extension="4712", phone_number=number,
                                   email="nils.invited@example.com", first_name="Nils", last_name="Holgersson")
    phone = create_device(SYSTEM, org, mac="00:1b:2c:3d:4e:5f", model="DMS Cisco 8851", owner=person)
    assert send_welcome_mail(str(person.pk))   # what the worker does after commit
    body = mail.outbox[-1].body
    path = re.search(r"http://127\.0\.0\.1:8000(/accounts/invitation/\S+/)", body).group(1)

    page.goto(live_server.url + path)
    expect(page.get_by_role("heading", name="Set your password")).to_be_visible()
    assert "/set-password/" in page.url   # the token left the address bar
    shot("01-set-password")
    page.get_by_label(re.compile(r"^New password( \*)?$")).fill(PASSWORD)
    page.get_by_label(re.compile(r"^New password confirmation")).fill(PASSWORD)
    page.get_by_role("button", name="Set password and sign in").click()

    expect(page).to_have_url(re.compile(r"/me/$"))
    expect(page.get_by_text("Your password is set and you are signed in.")).to_be_visible()
    expect(page.get_by_role("heading", name="Nils Holgersson")).to_be_visible()
    expect(page.get_by_text(number).first).to_be_visible()
    expect(page.get_by_text("4712").first).to_be_visible()
    expect(page.get_by_text(phone.mac_display)).to_be_visible()
    expect(page.get_by_text(phone.model.display_name)).to_be_visible()
    expect(page.get_by_role("navigation", name="Main")).to_have_count(0)   # no admin navigation
    shot("02-my-page")

    # the admin portal is not theirs
    page.goto(live_server.url + "/users/")
    expect(page.get_by_role("heading", name="The admin portal is for administrators")).to_be_visible()

    # a second use of the same link is refused with a clear page
    page.context.clear_cookies()
    page.goto(live_server.url + path)
    expect(page.get_by_role("heading", name="This invitation link was already used")).to_be_visible()
    shot("03-link-used")


def test_repeated_wrong_passwords_are_throttled_with_a_clear_message(page, shot, live_server, full_admin):
    page.goto(live_server.url + "/accounts/login/")
    for _ in range(5):
        page.get_by_label("Email").fill(full_admin.email)
        page.get_by_label("Password", exact=True).fill("not-my-password")
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_text("not correct")).to_be_visible()
    page.get_by_label("Email").fill(full_admin.email)
    page.get_by_label("Password", exact=True).fill("correct-horse-battery")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text("Too many failed sign-in attempts. Wait 5 minutes, then try again.")).to_be_visible()
    shot("01-throttled")
