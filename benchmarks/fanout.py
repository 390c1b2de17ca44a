"""One location-wide change touching N phones: time until everything is pushed, and engine reloads.

Runs against the stack of `make up` (its worker, Kamailio and provisioning server; settings from var/stack.env).
For each size (default 1,000 and 10,000 phones) it creates an organisation whose HQ holds N calling people with
a phone each (inserted in bulk: seeding is not what is measured), pushes it once, then changes the location's
time zone and outside dial digit through the domain action — which touches every phone's file and the engine's
dial plan — and prints the time until every key is synced, pushes per second, engine reloads and push tasks.
Goal: time linear in N, at most one reload per batch. The organisations are deleted at the end.

    make up && .venv/bin/python benchmarks/fanout.py [--sizes 1000,10000]
"""
import argparse
import os
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
for line in (ROOT / "var" / "stack.env").read_text().splitlines() if (ROOT / "var" / "stack.env").exists() else []:
    if "=" in line:
        key, value = line.split("=", 1)
        os.environ.setdefault(key, value)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "controlhub.settings")

import django  # noqa: E402

django.setup()

import psycopg  # noqa: E402
from django.conf import settings  # noqa: E402
from django.db.models import F  # noqa: E402

from calling.models import Line  # noqa: E402
from controlhub.actions import Actor, create_location, update_location  # noqa: E402
from controlhub.models import Organization, SyncTarget  # noqa: E402
from devices.models import Device, DeviceLine, SupportedDevice  # noqa: E402
from users.models import Person  # noqa: E402

SYSTEM = Actor.system()


def seed(size: int) -> tuple[Organization, object]:
    tag = uuid.uuid4().hex[:6]
    org = Organization.objects.create(display_name=f"Fan-out {size} {tag}", country="US",
                                      sip_domain=f"fanout{size}-{tag}.calls.test")
    hq = create_location(SYSTEM, org, name="HQ", time_zone="America/Los_Angeles", address1="1 Main St",
                         city="San Jose", country="US", routing_prefix="81", outside_dial_digit="9")
    model = SupportedDevice.objects.get(model="DMS Cisco 8851")
    batch = 2000
    for start in range(0, size, batch):
        people = Person.objects.bulk_create([
            Person(organization=org, email=f"u{i}@fanout-{tag}.test", display_name=f"User {i}", location=hq,
                   status="active") for i in range(start, min(size, start + batch))])
        lines = Line.objects.bulk_create([Line(organization=org, location=hq, person=p, extension=str(10000 + i))
                                          for i, p in enumerate(people, start)])
        devices = Device.objects.bulk_create([
            Device(organization=org, mac=f"{0x0a0000000000 + size * 100000 + i:012x}", model=model, person=p,
                   location=hq) for i, p in enumerate(people, start)])
        DeviceLine.objects.bulk_create([DeviceLine(device=d, line=line, port=1)
                                        for d, line in zip(devices, lines, strict=True)])
    return org, hq


def cleanup(org) -> None:
    """Remove the benchmark organisation from our database and from the engine (phone files stay in the store)."""
    from calling.engine import get_engine
    from controlhub.models import Location

    Device.objects.filter(organization=org).delete()
    Line.objects.filter(organization=org).delete()
    Person.objects.filter(organization=org).delete()
    Location.objects.filter(organization=org).delete()
    SyncTarget.objects.filter(organization=org).delete()
    org_id = org.pk
    org.delete()
    get_engine().remove_organization(org_id)


def lagging(org) -> int:
    return SyncTarget.objects.filter(organization=org, pushed_version__lt=F("desired_version")).count()


def wait_converged(org, timeout: float) -> float:
    started = time.perf_counter()
    while lagging(org):
        if time.perf_counter() - started > timeout:
            raise SystemExit(f"not converged after {timeout:.0f} s: {lagging(org)} keys lag")
        time.sleep(0.25)
    return time.perf_counter() - started


def engine_reloads() -> int:
    with psycopg.connect(settings.ENGINE_DATABASE_URL) as conn:
        return conn.execute("SELECT reloads FROM ch_reload WHERE id = 1").fetchone()[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="1000,10000")
    parser.add_argument("--timeout", type=float, default=1800)
    args = parser.parse_args()
    if settings.CALL_ENGINE != "kamailio":
        raise SystemExit("run `make up` first: this measures the real worker, Kamailio and provisioning server")
    rows = []
    for size in [int(s) for s in args.sizes.split(",")]:
        org, hq = seed(size)
        try:
            # First push of everything (what a bulk import costs), then the change we measure.
            from controlhub.sync import bump

            bump(Device.objects.filter(organization=org).select_related("organization"))
            initial = wait_converged(org, args.timeout)
            reloads_before = engine_reloads()
            t0 = time.perf_counter()
            update_location(SYSTEM, hq, time_zone="America/New_York", outside_dial_digit="8")
            changed = SyncTarget.objects.filter(organization=org, pushed_version__lt=F("desired_version")).count()
            wait_converged(org, args.timeout)
            elapsed = time.perf_counter() - t0   # from the administrator's click to the last phone file
            rows.append((size, initial, changed, elapsed, engine_reloads() - reloads_before))
        finally:
            cleanup(org)
    print(f"\n{'phones':>7} {'first push s':>13} {'keys changed':>13} {'converged s':>12} {'pushes/s':>9} "
          f"{'reloads':>8}")
    for size, initial, changed, elapsed, reloads in rows:
        print(f"{size:>7} {initial:>13.1f} {changed:>13} {elapsed:>12.1f} {changed / elapsed:>9.0f} {reloads:>8}")
    if len(rows) > 1:
        (s1, _, _, e1, _), (s2, _, _, e2, _) = rows[0], rows[-1]
        print(f"time ratio {e2 / e1:.2f} for size ratio {s2 / s1:.0f} (linear = {s2 / s1:.0f})")


if __name__ == "__main__":
    main()
