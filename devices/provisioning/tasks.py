"""Worker side of the provisioning server's seen log: copy phones' fetches into `Device` (first/last seen, status).

`import_seen()` asks the server (`GET /_seen?since=…`) which MACs fetched their device file since the last import
and updates the matching devices — matched by MAC *and* organisation key, so a file fetched under one
organisation's key never marks another organisation's device. Devices not seen for `PROVISIONING_OFFLINE_AFTER`
seconds turn OFFLINE. Runs as a Celery task (beat, every minute or so); idempotent, safe to run concurrently.
"""
from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from celery import shared_task
from django.conf import settings
from django.db import transaction
from django.db.models import Max, Q
from django.utils import timezone

from devices.models import Device, DeviceStatus

from . import client

log = logging.getLogger(__name__)
BATCH = 1000
OVERLAP = 120  # seconds re-read on every import: server processes flush their seen log in batches


def _when(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, tz=UTC)


def import_seen(since: float | None = None) -> dict:
    """Copy the server's seen log into devices; returns counts {"seen", "updated", "offline"}.

    `since` defaults to the newest `last_seen` already imported minus a safety overlap (so nothing is lost
    between imports and nothing needs to be remembered elsewhere).
    """
    if since is None:
        newest = Device.objects.aggregate(newest=Max("last_seen"))["newest"]
        since = newest.timestamp() - OVERLAP if newest else 0
    rows = client.fetch_seen(since).get("seen", [])
    updated = 0
    for start in range(0, len(rows), BATCH):
        chunk = {(r["orgKey"], r["mac"]): r for r in rows[start:start + BATCH]}
        with transaction.atomic():
            devices = (Device.objects.select_for_update(of=("self",)).select_related("organization")
                       .filter(mac__in=[mac for _, mac in chunk]))
            changed = []
            for device in devices:
                row = chunk.get((device.organization.provisioning_key, device.mac))
                if row is None:  # same MAC, other organisation's key: not this device's fetch
                    continue
                first, last = _when(row["firstSeen"]), _when(row["lastSeen"])
                new_first = min(device.first_seen, first) if device.first_seen else first
                new_last = max(device.last_seen, last) if device.last_seen else last
                if (new_first, new_last, DeviceStatus.ONLINE) != (device.first_seen, device.last_seen,
                                                                  device.status):
                    device.first_seen, device.last_seen, device.status = new_first, new_last, DeviceStatus.ONLINE
                    changed.append(device)
            Device.objects.bulk_update(changed, ["first_seen", "last_seen", "status"])
            updated += len(changed)
    cutoff = timezone.now() - timedelta(seconds=getattr(settings, "PROVISIONING_OFFLINE_AFTER", 7800))
    offline = Device.objects.filter(Q(last_seen__lt=cutoff), status=DeviceStatus.ONLINE).update(
        status=DeviceStatus.OFFLINE)
    if updated or offline:
        log.info("seen log: %d entries, %d devices updated, %d now offline", len(rows), updated, offline)
    return {"seen": len(rows), "updated": updated, "offline": offline}


@shared_task(name="devices.provisioning.import_seen", autoretry_for=(client.ProvisioningUnavailable,),
             retry_backoff=True, retry_jitter=True, max_retries=3, ignore_result=True)
def import_seen_task() -> dict:
    try:
        return import_seen()
    except client.ProvisioningNotConfigured:
        return {"seen": 0, "updated": 0, "offline": 0}
