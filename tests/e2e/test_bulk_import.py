"""Importing users from a CSV in Chromium: upload, read the preview, confirm, watch the progress bar finish,
download the error report — with a real Celery worker doing the work."""
import csv
import io
import re

import pytest
from playwright.sync_api import expect

from controlhub.roles import Role
from tests.integration.bulk_support import csv_bytes
from users.bulk import columns as C
from users.models import Person

from .test_portal_journey import sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_admin_imports_users_from_csv(page, shot, live_server, org, make_admin, celery_worker_process, tmp_path):
    admin = make_admin(Role.FULL_ADMIN, org=org)
    rows = [["Åsa", "Öberg", "", "asa.oberg@example.com", "3001", "", "HQ", "TRUE", "TRUE"],
            ["Zoë", "王", "", "zoe@example.com", "", "", "", "", "TRUE"]]
    rows += [["Bulk", str(i), "", f"bulk{i}@example.com", str(5000 + i), "", "Branch", "TRUE", ""] for i in range(40)]
    rows.append(["Typo", "", "", "typo@example.com", "", "", "Stockholm", "", ""])
    path = tmp_path / "people.csv"
    path.write_bytes(csv_bytes(rows, delimiter=";", encoding="utf-8-sig"))
    base = live_server.url
    sign_in(page, base, admin.email, "correct-horse-battery")

    page.goto(f"{base}/users/")
    page.get_by_role("link", name="Import CSV").click()
    page.get_by_label("CSV file").set_input_files(str(path))
    page.get_by_label("Add and remove services").check()
    expect(page.get_by_label("Send new users the welcome mail")).to_be_checked()  # as Control Hub, on by default
    shot("01-upload")
    page.get_by_role("button", name="Upload and check").click()

    # Preview: counts and the row with an error, nothing written yet
    expect(page.get_by_text("Ready to apply")).to_be_visible(timeout=30000)
    expect(page.get_by_test_id("count-create")).to_have_text("42")
    expect(page.get_by_test_id("count-error")).to_have_text("1")
    expect(page.get_by_role("cell", name="There is no location named “Stockholm”.")).to_be_visible()
    assert not Person.objects.filter(email="asa.oberg@example.com").exists()
    shot("02-preview")

    page.get_by_role("button", name=re.compile(r"Apply 42 changes")).click()
    progress = page.locator("#job-progress")
    expect(progress).to_be_visible()
    expect(page.get_by_text("Completed")).to_be_visible(timeout=60000)
    expect(progress).to_have_attribute("value", "100")
    expect(page.get_by_text("42 of 42 rows applied")).to_be_visible()
    shot("03-done")
    assert Person.objects.get(email="asa.oberg@example.com").line.extension == "3001"

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download error report").click()
    report = download_info.value.path().read_bytes().decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(report)))
    assert [r[C.EMAIL] for r in rows] == ["typo@example.com"]
    assert rows[0][C.ERROR] == "Location: There is no location named “Stockholm”."

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Tasks").click()
    expect(page.get_by_role("link", name="people.csv")).to_be_visible()
    shot("04-tasks")
