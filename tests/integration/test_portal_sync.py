"""The portal shows, per object, whether its latest change reached the call engine, and offers "retry now"."""
import pytest

from controlhub import sync
from controlhub.models import SyncStatus, SyncTarget
from controlhub.roles import Role
from tests.integration.portal_support import client_for

pytestmark = pytest.mark.django_db


def test_person_page_shows_pending_then_not_configured(org, full_admin, make_calling_person, settings):
    person = make_calling_person(org, "1001")
    page = client_for(full_admin).get(f"/users/{person.pk}/").content.decode()
    assert "Call engine" in page and "Pending" in page
    settings.CALL_ENGINE = "none"
    sync.push_now(sync.ENGINE, [f"org:{org.pk}"])
    page = client_for(full_admin).get(f"/users/{person.pk}/").content.decode()
    assert "Not configured" in page and "Pending" not in page


def test_failed_push_shows_its_error_and_retry_now_requeues_it(org, full_admin, make_calling_person, monkeypatch):
    person = make_calling_person(org, "1002")
    row = SyncTarget.objects.get(target=sync.ENGINE, key=f"org:{org.pk}")
    SyncTarget.objects.filter(pk=row.pk).update(status=SyncStatus.FAILED, attempts=8,
                                                last_error="engine database refused the connection")
    client = client_for(full_admin)
    page = client.get(f"/users/{person.pk}/").content.decode()
    assert "Failed" in page and "engine database refused the connection" in page and "Retry now" in page
    queued = []
    monkeypatch.setattr(sync, "enqueue", lambda keys: queued.extend(keys) or 1)
    response = client.post(f"/sync/{row.pk}/retry/", {"next": f"/users/{person.pk}/"})
    assert response.status_code == 302 and response["Location"] == f"/users/{person.pk}/"
    row.refresh_from_db()
    assert row.status == SyncStatus.PENDING and row.attempts == 0
    assert queued == [(sync.ENGINE, f"org:{org.pk}")]


def test_retry_is_scoped_to_the_organisation_and_role(org, other_org, full_admin, make_admin,
                                                      make_calling_person):
    make_calling_person(other_org, "1003")
    foreign = SyncTarget.objects.get(key=f"org:{other_org.pk}")
    assert client_for(full_admin).post(f"/sync/{foreign.pk}/retry/").status_code == 404
    make_calling_person(org, "1004")
    own = SyncTarget.objects.get(key=f"org:{org.pk}")
    read_only = make_admin(Role.READ_ONLY_ADMIN, org=org)
    assert client_for(read_only).post(f"/sync/{own.pk}/retry/").status_code == 403
    assert client_for(full_admin).get(f"/sync/{own.pk}/retry/").status_code == 405
