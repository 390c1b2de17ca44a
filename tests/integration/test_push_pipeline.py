"""The push pipeline end to end: actions bump versions in their transaction, a real Celery worker pushes to a
real Kamailio, faults retry with backoff, and the reconciler recovers lost pushes."""
import subprocess
import time
from pathlib import Path

import pytest
from django.db import transaction

from calling.actions import create_calling_person
from controlhub import sync
from controlhub.models import ObjectSync, SyncStatus, SyncTarget
from devices.actions import create_device
from tests.conftest import SYSTEM, licence, org_location
from users.actions import delete_person

pytest_plugins = ["tests.integration.engine_fixtures", "tests.integration.provisioning_fixtures",
                  "tests.integration.pipeline_fixtures"]
KAMAILIO_SH = Path(__file__).resolve().parents[2] / "deploy" / "kamailio.sh"


@pytest.fixture
def pushing(stack):
    return stack["worker"]


def wait_until(condition, timeout: float = 30, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def worker_idle(worker: dict) -> bool:
    """Nothing waits in the worker's queue, and the worker holds no task (running, reserved or scheduled)."""
    import redis
    from django.conf import settings

    from controlhub.celery import app

    if redis.Redis.from_url(settings.CELERY_BROKER_URL).llen(worker["queue"]):
        return False
    inspect = app.control.inspect([worker["name"]], timeout=1.0)
    for held in (inspect.active(), inspect.reserved(), inspect.scheduled()):
        if held is None or held.get(worker["name"]):   # no answer: busy with a task (solo pool)
            return False
    return True


def engine_state(person) -> str | None:
    person.refresh_from_db()
    return next((s.status for s in sync.object_status(person, getattr(person, "line", None))
                 if s.target == sync.ENGINE), None)


def make_person(org, extension: str, **kwargs):
    return create_calling_person(SYSTEM, org, location=org_location(org, "HQ"), extension=extension,
                                 email=f"p{extension}@{org.sip_domain}", licenses=[licence(org)],
                                 send_welcome=False, **kwargs)


@pytest.mark.django_db(transaction=True)
def test_a_change_is_versioned_in_its_transaction_and_pushed_by_the_worker(pushing, kamailio, org):
    person = make_person(org, "2001")
    device = create_device(SYSTEM, org, mac="00:56:2b:aa:00:01", model="DMS Cisco 8851", owner=person)
    key = SyncTarget.objects.get(target=sync.ENGINE, key=f"org:{org.pk}")
    assert key.desired_version >= 2   # the line and the device each bumped the organisation's engine key
    assert ObjectSync.objects.filter(object_type="device", object_id=str(device.pk)).count() == 2  # engine + file
    wait_until(lambda: engine_state(person) == SyncStatus.SYNCED, what="person synced to the engine")
    auth_id = device.lines.get().auth_id
    rows = kamailio.query("SELECT username, line_user FROM subscriber WHERE username = %s", (auth_id,))
    assert rows == [(auth_id, person.line.sip_user)]


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_change_bumps_nothing(pushing, org):
    before = SyncTarget.objects.filter(key=f"org:{org.pk}").values_list("desired_version", flat=True).first()
    with pytest.raises(RuntimeError), transaction.atomic():
        make_person(org, "2002")
        raise RuntimeError("the request failed after the action")
    after = SyncTarget.objects.filter(key=f"org:{org.pk}").values_list("desired_version", flat=True).first()
    assert after == before


@pytest.mark.django_db(transaction=True)
def test_engine_down_shows_retrying_then_everything_converges(pushing, kamailio, org):
    stopped = subprocess.run(["bash", str(KAMAILIO_SH), "stop"], env=kamailio.env, capture_output=True, text=True)
    assert "kamailio stopped" in stopped.stdout, stopped.stdout + stopped.stderr
    # Kamailio's control interface and SIP port are gone; its database stays up (as in production).
    people = [make_person(org, str(3000 + i)) for i in range(100)]
    try:
        wait_until(lambda: engine_state(people[-1]) == SyncStatus.RETRYING, what="retrying while the engine is down")
        row = SyncTarget.objects.get(target=sync.ENGINE, key=f"org:{org.pk}")
        assert row.attempts >= 1 and row.last_error
    finally:
        subprocess.run(["bash", str(KAMAILIO_SH), "start"], env=kamailio.env, check=True, capture_output=True,
                       timeout=60)
    wait_until(lambda: all(engine_state(p) == SyncStatus.SYNCED for p in people), timeout=60,
               what="all 100 people synced after the engine came back")
    lines = {u for (u,) in kamailio.query("SELECT line_user FROM ch_line WHERE org_key = %s", (str(org.pk),))}
    assert {p.line.sip_user for p in people} <= lines


@pytest.mark.django_db(transaction=True)
def test_reconciler_recovers_a_lost_push(pushing, kamailio, org, monkeypatch):
    # Let the organisation's own set-up pushes finish first: a push renders the whole organisation, so a
    # still-queued one would carry the "lost" change too and the reconciler would have nothing to do.
    # Settled and quiet: a push queued by the set-up (a change committed while an earlier push was running) may
    # still wait in the queue after the key stopped lagging, and would carry the "lost" change below (seen once).
    wait_until(lambda: not SyncTarget.objects.get(key=f"org:{org.pk}").lagging and worker_idle(pushing),
               what="organisation settled, worker idle")
    # The change commits but its queue message is lost (Redis restarted, worker killed before acking, …).
    monkeypatch.setattr(sync, "_enqueue_on_commit", lambda keys: None)
    person = make_person(org, "4001")
    monkeypatch.undo()
    time.sleep(1.0)
    assert engine_state(person) == SyncStatus.PENDING
    assert sync.reconcile(grace_seconds=0) >= 1
    wait_until(lambda: engine_state(person) == SyncStatus.SYNCED, what="reconciled push")


@pytest.mark.django_db(transaction=True)
def test_without_an_engine_pushes_say_not_configured_never_synced(org, settings):
    settings.CALL_ENGINE = "none"
    settings.CELERY_TASK_ALWAYS_EAGER = True
    person = make_person(org, "5001")
    sync.push_now(sync.ENGINE, [f"org:{org.pk}"])
    assert engine_state(person) == SyncStatus.NOT_CONFIGURED


@pytest.fixture
def nothing_queued(monkeypatch):
    """Nothing reaches a real worker: a session worker would push the organisation with no engine configured (and
    its pushed version would make the test's own failed push look synced). Ask for it before `org`."""
    monkeypatch.setattr(sync, "enqueue", lambda keys: 0)


@pytest.mark.django_db(transaction=True)
def test_failed_after_the_limit_and_retry_now(nothing_queued, org, settings, monkeypatch):
    settings.CELERY_TASK_ALWAYS_EAGER = True   # read by the pipeline itself: no retry gets scheduled
    monkeypatch.setattr(sync, "MAX_ATTEMPTS", 1)

    class Broken(sync.Pusher):
        target = sync.ENGINE

        def push(self, key):
            raise sync.PushFailed("engine refused: 503 Service Unavailable")

    monkeypatch.setitem(sync._pushers, sync.ENGINE, Broken())
    person = make_person(org, "6001")
    sync.push_now(sync.ENGINE, [f"org:{org.pk}"])
    [state] = [s for s in sync.object_status(person, person.line) if s.target == sync.ENGINE]
    assert state.status == SyncStatus.FAILED and "503" in state.error

    class Working(sync.Pusher):
        target = sync.ENGINE

        def push(self, key):
            pass

    monkeypatch.setitem(sync._pushers, sync.ENGINE, Working())
    # run the queued push here (Celery caches its eager setting, so settings cannot switch it per test)
    monkeypatch.setattr(sync, "enqueue", lambda keys: [sync.push_now(target, [key]) for target, key in keys])
    sync.retry_now([state.sync_target])
    assert engine_state(person) == SyncStatus.SYNCED


@pytest.mark.django_db
def test_a_change_during_backoff_stays_retrying_with_its_error(org):
    key = SyncTarget.objects.get(target=sync.ENGINE, key=f"org:{org.pk}")
    SyncTarget.objects.filter(pk=key.pk).update(status=SyncStatus.RETRYING, attempts=2,
                                                last_error="call engine JSON-RPC is unreachable")
    person = make_person(org, "6101")
    after = SyncTarget.objects.get(pk=key.pk)
    assert after.desired_version > key.desired_version and after.status == SyncStatus.RETRYING
    [state] = [s for s in sync.object_status(person, person.line) if s.target == sync.ENGINE]
    assert state.status == SyncStatus.RETRYING and "unreachable" in state.error
    SyncTarget.objects.filter(pk=key.pk).update(status=SyncStatus.SYNCED)
    make_person(org, "6102")
    assert SyncTarget.objects.get(pk=key.pk).status == SyncStatus.PENDING   # an ordinary change is pending


@pytest.mark.django_db(transaction=True)
def test_changes_after_a_rolled_back_one_are_still_queued(org, settings, monkeypatch):
    queued: list = []
    monkeypatch.setattr(sync, "enqueue", lambda keys: queued.extend(keys))
    with pytest.raises(RuntimeError), transaction.atomic():
        make_person(org, "7001")
        raise RuntimeError("rolled back")
    assert queued == []
    make_person(org, "7002")
    assert (sync.ENGINE, f"org:{org.pk}") in queued


# --------------------------------------------------------------------------------------------- batched phone files


def phone_keys(devices) -> list[str]:
    return [f"device:{d.organization.provisioning_key}/{d.mac}" for d in devices]


def make_phones(org, count: int, start: int = 0, model: str = "DMS Cisco 8851") -> list:
    return [create_device(SYSTEM, org, mac=f"00562bcc{start + i:04x}", model=model,
                          owner=make_person(org, str(8000 + start + i))) for i in range(count)]


@pytest.mark.django_db(transaction=True)
def test_a_batch_of_phone_files_is_one_bulk_request_with_constant_queries(provisioning, org, monkeypatch):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from devices.provisioning import client

    monkeypatch.setattr(sync, "enqueue", lambda keys: 0)   # this test pushes itself
    requests_sent: list[str] = []
    real_request = client._request

    def counting(method, path, body=None):
        requests_sent.append(f"{method} {path}")
        return real_request(method, path, body)

    monkeypatch.setattr(client, "_request", counting)
    small, large = make_phones(org, 3), make_phones(org, 12, start=3)
    costs = []
    for batch in (small, large):
        requests_sent.clear()
        with CaptureQueriesContext(connection) as queries:
            results = sync.push_now(sync.PROVISIONING, phone_keys(batch))
        assert set(results.values()) == {SyncStatus.SYNCED}
        assert requests_sent == ["POST /_bulk"]   # device files and the model's bootstrap file together
        costs.append(len(queries))
    assert costs[0] == costs[1], costs
    # the files are there, with their credentials; pushing again changes nothing and is still one request
    device = large[-1]
    url = client.device_url(device)
    ua = {"User-Agent": f"Cisco-CP-8851-3PCC/12.0.1 ({device.mac})"}
    import requests

    assert requests.get(url, headers=ua, timeout=5,
                        auth=(device.provisioning_user, device.provisioning_password)).status_code == 200
    assert requests.get(client.bootstrap_url(org, device.model), timeout=5).status_code == 200
    requests_sent.clear()
    assert set(sync.push_now(sync.PROVISIONING, phone_keys(large)).values()) == {SyncStatus.SYNCED}
    assert requests_sent == ["POST /_bulk"]
    # a deleted phone's key removes its file in the same kind of request
    from devices.actions import delete_device

    delete_device(SYSTEM, device)
    assert sync.push_now(sync.PROVISIONING, phone_keys([device])) == {phone_keys([device])[0]: SyncStatus.SYNCED}
    assert requests.get(url, headers=ua, timeout=5,
                        auth=(device.provisioning_user, device.provisioning_password)).status_code == 404


@pytest.mark.django_db(transaction=True)
def test_a_phone_that_fails_alone_does_not_hold_back_its_batch(provisioning, org, monkeypatch):
    from devices.models import SupportedDevice

    monkeypatch.setattr(sync, "enqueue", lambda keys: 0)
    monkeypatch.setattr(sync, "MAX_ATTEMPTS", 2)
    # a catalogued model no renderer handles: its file cannot be rendered, every other file can
    SupportedDevice.objects.create(model="DMS Other 1234", display_name="Other 1234", product_code="1234",
                                   family="Other Series", line_ports=2, line_key_buttons=2)
    good = make_phones(org, 4)
    bad = make_phones(org, 1, start=4, model="DMS Other 1234")[0]
    keys = phone_keys([*good, bad])
    bad_key = keys[-1]
    results = sync.push_now(sync.PROVISIONING, keys)
    assert results[bad_key] == SyncStatus.RETRYING
    assert all(results[k] == SyncStatus.SYNCED for k in keys[:-1])
    row = SyncTarget.objects.get(target=sync.PROVISIONING, key=bad_key)
    assert row.attempts == 1 and "No configuration renderer" in row.last_error
    [state] = [s for s in sync.object_status(bad) if s.target == sync.PROVISIONING]
    assert state.status == SyncStatus.RETRYING and "No configuration renderer" in state.error
    # the next batch (a retry, or the next change) again settles the others; the bad key alone ends failed
    results = sync.push_now(sync.PROVISIONING, keys)
    assert results[bad_key] == SyncStatus.FAILED and results[keys[0]] == SyncStatus.SYNCED
    assert all(s.status == SyncStatus.SYNCED for d in good for s in sync.object_status(d)
               if s.target == sync.PROVISIONING)


@pytest.mark.django_db
def test_the_sync_records_of_deleted_objects_are_forgotten_and_the_others_kept(nothing_queued, org, settings,
                                                                               monkeypatch):
    """A deleted person keeps no sync record, nor does their line (deleted with them, without an event of its
    own); an existing person's records and records of no known model stay."""
    monkeypatch.setattr(sync, "FORGET_CHUNK", 2)  # several chunks per type
    assert "controlhub.sync.tasks.forget_deleted" in {e["task"] for e in settings.CELERY_BEAT_SCHEDULE.values()}
    kept, leaving = make_person(org, "6101"), make_person(org, "6102")
    gone = {("person", str(leaving.pk)), ("line", str(leaving.line.pk))}
    delete_person(SYSTEM, leaving)
    records = ObjectSync.objects.values_list("object_type", "object_id")
    assert gone <= set(records.all())
    ObjectSync.objects.create(object_type="nosuchmodel", object_id="1",
                              sync_target=ObjectSync.objects.first().sync_target, version=1)
    before = set(records.all())
    assert sync.forget_deleted_objects() >= 2
    left = set(records.all())
    assert before - left >= gone
    kept_records = {obj for obj in before if obj[1] in (str(kept.pk), str(kept.line.pk))}
    assert ("line", str(kept.line.pk)) in kept_records and kept_records | {("nosuchmodel", "1")} <= left
    # Every record left names an object that exists: a second sweep finds nothing more.
    assert sync.forget_deleted_objects() == 0
