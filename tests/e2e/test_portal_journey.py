"""An administrator's first hour, in Chromium: sign in, add a location, numbers, a calling user, a phone by MAC,
and find every change in the audit log."""
import re

import pytest
from playwright.sync_api import expect

from controlhub.models import AuditEvent
from controlhub.roles import Role
from devices.models import Device
from users.models import Person

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def sign_in(page, base_url: str, email: str, password: str) -> None:
    page.goto(f"{base_url}/accounts/login/")
    page.get_by_label(re.compile("email", re.I)).fill(email)
    page.get_by_label(re.compile("password", re.I)).fill(password)
    page.get_by_role("button", name=re.compile("sign in", re.I)).click()
    expect(page.get_by_role("navigation")).to_be_visible()


def test_admin_provisions_a_location_numbers_a_user_and_a_phone(page, shot, live_server, org, make_admin):
    admin = make_admin(Role.FULL_ADMIN, org=org)
    base = live_server.url
    sign_in(page, base, admin.email, "correct-horse-battery")
    shot("01-overview")

    # A location
    page.goto(f"{base}/locations/add/")
    page.get_by_label(re.compile("^Name")).fill("Stockholm Office")
    page.get_by_label(re.compile("^Time zone")).select_option("Europe/Stockholm")
    page.get_by_label(re.compile("^Address( \\*)?$")).fill("Drottninggatan 1")
    page.get_by_label(re.compile("^City")).fill("Stockholm")
    page.get_by_label(re.compile("^Country")).fill("SE")
    page.get_by_label(re.compile("^Routing prefix")).fill("8300")
    page.get_by_role("button", name=re.compile("save|add|create", re.I)).click()
    expect(page.get_by_role("heading", name="Stockholm Office")).to_be_visible()
    shot("02-location")

    # Numbers: a range in national format, normalised to +E.164
    page.goto(f"{base}/numbers/add/")
    page.get_by_label(re.compile("^Location")).select_option(label="Stockholm Office")
    page.get_by_label(re.compile("^First number")).fill("08-555 010 00")
    page.get_by_label(re.compile("^Last number")).fill("08-555 010 04")
    page.get_by_label(re.compile("^State")).select_option("ACTIVE")
    page.get_by_role("button", name=re.compile("add", re.I)).click()
    expect(page.get_by_text("+46855501002").first).to_be_visible()
    shot("03-numbers")

    # A user with number and extension
    page.goto(f"{base}/users/add/")
    page.get_by_label(re.compile("^Email")).fill("asa.oberg@example.com")
    page.get_by_label(re.compile("^First name")).fill("Åsa")
    page.get_by_label(re.compile("^Last name")).fill("Öberg")
    page.get_by_label(re.compile("^Location")).select_option(label="Stockholm Office")
    page.get_by_label("Webex Calling - Professional").check()
    page.get_by_label(re.compile("^Extension")).fill("3001")
    number_select = page.get_by_label(re.compile("^Phone number"))
    expect(number_select.locator("option", has_text="+46855501002")).to_have_count(1)
    number_select.select_option("+46855501002")
    shot("04-user-form")
    page.get_by_role("button", name=re.compile("add|save|create", re.I)).click()
    expect(page.get_by_role("heading", name="Åsa Öberg")).to_be_visible()
    expect(page.locator('a[href="tel:+46855501002"]').first).to_be_visible()
    expect(page.locator('a[href^="sip:"]').first).to_be_visible()
    shot("05-user")
    person = Person.objects.get(email="asa.oberg@example.com")
    assert person.line.extension == "3001" and person.line.number.e164 == "+46855501002"

    # An MPP phone by MAC, in Cisco dotted notation
    page.goto(f"{base}/devices/add/")
    page.get_by_label(re.compile("^MAC address")).fill("0056.2b04.3615")
    page.get_by_label(re.compile("^Model")).select_option(label="Cisco 8851")
    page.get_by_label(re.compile("^User email or workspace name")).fill("asa.oberg@example.com")
    page.get_by_role("button", name=re.compile("add", re.I)).click()
    expect(page.get_by_text("00:56:2B:04:36:15").first).to_be_visible()
    page.get_by_text("Show the configuration file the phone downloads").click()
    expect(page.locator("pre.config")).to_contain_text("<Use_Auth_ID_1_")
    shot("06-device")
    device = Device.objects.get(mac="00562b043615")
    assert device.person == person and device.lines.get().port == 1

    # A duplicate MAC is refused with the reason, and nothing is added
    page.goto(f"{base}/devices/add/")
    page.get_by_label(re.compile("^MAC address")).fill("00-56-2B-04-36-15")
    page.get_by_label(re.compile("^Model")).select_option(label="Cisco 8851")
    page.get_by_label(re.compile("^User email or workspace name")).fill("asa.oberg@example.com")
    page.get_by_role("button", name=re.compile("add", re.I)).click()
    expect(page.get_by_text(re.compile("already exists", re.I))).to_be_visible()
    shot("07-duplicate-mac")
    assert Device.objects.filter(organization=org).count() == 1

    # Everything is in the audit log, attributed to the admin, from the portal
    page.goto(f"{base}/audit/")
    for text in ["Stockholm Office", "+46855501002", "Åsa Öberg", "00:56:2B:04:36:15"]:
        expect(page.get_by_text(text).filter(visible=True).first).to_be_visible()
    shot("08-audit")
    events = AuditEvent.objects.filter(organization=org, actor=admin, source="UI")
    assert {"location", "number", "person", "line", "device"} <= set(events.values_list("object_type", flat=True))
