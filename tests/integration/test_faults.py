"""Fault tests of the push pipeline on real processes (issue 3, "Done when"): the provisioning server stopped
during a burst of changes, and a worker killed mid-batch followed by a Redis restart. Kamailio's own outage test
is in test_push_pipeline.py. Every test stops what it started."""
import time

import pytest
import requests
from django.db.models import F
from lxml import etree

from controlhub import sync
from controlhub.actions import update_location
from controlhub.models import SyncStatus, SyncTarget
from devices.actions import create_device
from devices.models import Device
from devices.provisioning import client
from tests.conftest import SYSTEM, org_location
from tests.integration.test_push_pipeline import make_person, wait_until

pytest_plugins = ["tests.integration.engine_fixtures", "tests.integration.provisioning_fixtures",
                  "tests.integration.pipeline_fixtures"]
pytestmark = pytest.mark.django_db(transaction=True)


def provisioning_state(device) -> str | None:
    return next((s.status for s in sync.object_status(device) if s.target == sync.PROVISIONING), None)


def fetched_time_zone(device) -> str:
    response = requests.get(client.device_url(device), timeout=5,
                            headers={"User-Agent": f"Cisco-CP-{device.model.product_code}-3PCC/12.0.1 ({device.mac})"},
                            auth=(device.provisioning_user, device.provisioning_password))
    assert response.status_code == 200, (device.mac, response.status_code)
    return etree.fromstring(response.content).findtext("Time_Zone")


def lagging(org) -> int:
    return SyncTarget.objects.filter(organization=org, pushed_version__lt=F("desired_version")).count()


def test_provisioning_server_down_shows_retrying_then_everything_converges(stack, org, provisioning_server):
    people = [make_person(org, str(3100 + i)) for i in range(100)]
    provisioning_server.stop()
    try:
        # created and changed while the server is down: every phone file is pending, then retrying
        devices = [create_device(SYSTEM, org, mac=f"00562bdd{i:04x}", model="DMS Cisco 8851", owner=person)
                   for i, person in enumerate(people)]
        update_location(SYSTEM, org_location(org, "HQ"), time_zone="America/Chicago")
        wait_until(lambda: provisioning_state(devices[-1]) == SyncStatus.RETRYING, timeout=30,
                   what="retrying while the provisioning server is down")
        [state] = [s for s in sync.object_status(devices[0]) if s.target == sync.PROVISIONING]
        assert state.status == SyncStatus.RETRYING and "unreachable" in state.error
        assert state.sync_target.attempts >= 1
    finally:
        provisioning_server.start()
    wait_until(lambda: all(provisioning_state(d) == SyncStatus.SYNCED for d in devices), timeout=90,
               what="all 100 phone files synced after the server came back")
    # nothing lost: every phone gets a file with the change made during the outage
    assert {fetched_time_zone(Device.objects.select_related("organization", "model").get(pk=d.pk))
            for d in devices} == {"GMT-06:00"}


def test_worker_killed_mid_batch_and_redis_restarted_the_reconciler_converges(
        kamailio, engine, provisioning, provisioning_server, private_redis, org, settings, tmp_path):
    # imported here: pytest registers the fixture modules as plugins only after this module is imported
    from tests.integration.pipeline_fixtures import PrivateWorker, push_worker_env, use_broker

    queue = f"faults-{org.pk.hex[:8]}"
    worker_env = push_worker_env(kamailio, provisioning_server, queue)
    settings.SYNC_TASK_QUEUE = queue
    people = [make_person(org, str(3300 + i)) for i in range(120)]
    with use_broker(private_redis.url, settings):
        first = PrivateWorker(private_redis.url, queue, tmp_path, worker_env)
        second = None
        try:
            devices = [create_device(SYSTEM, org, mac=f"00562bee{i:04x}", model="DMS Cisco 8851", owner=person)
                       for i, person in enumerate(people)]
            wait_until(lambda: lagging(org) == 0, timeout=60, what="the first push of everything")
            # one location-wide change: one batch of 120 phone files and the organisation's engine key
            mark = first.log_size()
            update_location(SYSTEM, org_location(org, "HQ"), time_zone="America/Denver")
            # killed as soon as it has taken the batch (rendering and pushing 120 files takes it ~1 s)
            first.wait_for_log("] received", timeout=30, after=mark)
            first.kill()
            assert lagging(org) > 0, "the worker finished before it was killed: nothing to recover"
            # Redis restarted without persistence: queued messages, the killed task's unacked one and every
            # de-duplication claim are gone
            private_redis.restart()
            assert sync._claim_many([(sync.PROVISIONING, "probe")]) == [True]
            sync.release_claims(sync.PROVISIONING, ["probe"])
            second = PrivateWorker(private_redis.url, queue, tmp_path, worker_env)
            time.sleep(1.0)
            assert lagging(org) > 0, "something re-queued the lost pushes before the reconciler ran"
            # the beat task's body, every couple of seconds as beat would run it
            deadline = time.monotonic() + 90
            while lagging(org):
                assert time.monotonic() < deadline, f"not converged: {lagging(org)} keys lag"
                sync.reconcile(grace_seconds=0)
                time.sleep(2.0)
        finally:
            first.stop()
            if second is not None:
                second.stop()
    rows = SyncTarget.objects.filter(organization=org)
    assert all(row.pushed_version == row.desired_version and row.status == SyncStatus.SYNCED for row in rows)
    assert rows.filter(target=sync.ENGINE).exists() and rows.filter(target=sync.PROVISIONING).count() == 120
    assert {fetched_time_zone(Device.objects.select_related("organization", "model").get(pk=d.pk))
            for d in devices} == {"GMT-07:00"}
    lines = {u for (u,) in kamailio.query("SELECT line_user FROM ch_line WHERE org_key = %s", (str(org.pk),))}
    assert {p.line.sip_user for p in people} <= lines
