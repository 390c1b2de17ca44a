"""One location-wide change touching N phones: time until everything is pushed, and engine reloads.

Runs against the stack of `make up` (its worker, Kamailio and provisioning server; settings from var/stack.env),
or with `--own-stack` against processes it starts itself on free ports and stops at the end (a Kamailio with its
own engine database, a provisioning server with a store under /tmp, one Celery worker like `make up`'s: prefork,
one process per core, on a queue of its own), using the database in DATABASE_URL (migrated first).
For each size (default 1,000 and 10,000 phones) it creates an organisation whose HQ holds N calling people with
a phone each (inserted in bulk: seeding is not what is measured), pushes it once, then changes the location's
time zone and outside dial digit through the domain action — which touches every phone's file and the engine's
dial plan — and prints the time until every key is synced, pushes per second, engine reloads and push tasks.
Goal: time linear in N, at most one reload per batch. The organisations are deleted at the end.

    make up && .venv/bin/python benchmarks/fanout.py [--sizes 1000,10000]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/ch_bench .venv/bin/python benchmarks/fanout.py --own-stack
"""
import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="1000,10000")
    parser.add_argument("--timeout", type=float, default=1800)
    parser.add_argument("--own-stack", action="store_true",
                        help="start Kamailio, the provisioning server and a worker on free ports (stopped at the end)")
    return parser.parse_args()


def _free_port() -> int:
    """A port free for TCP and UDP on 127.0.0.1 (Kamailio listens on both)."""
    for _ in range(200):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            try:
                udp.bind(("127.0.0.1", port))
            except OSError:
                continue
        return port
    raise SystemExit("no free port on 127.0.0.1")


class OwnStack:
    """Kamailio, provisioning server and a Celery worker of this run; `env` is what every process shares."""

    def __init__(self):
        self.dir = Path(tempfile.mkdtemp(prefix="fanout-"))
        self.processes: list[subprocess.Popen] = []
        tag = uuid.uuid4().hex[:8]
        admin = os.environ["DATABASE_URL"].rsplit("/", 1)[0]
        prov_port = _free_port()
        self.env = dict(
            os.environ, CALL_ENGINE="kamailio", CELERY_TASK_ALWAYS_EAGER="false",
            ENGINE_DATABASE_URL=f"{admin}/ch_engine_fanout_{tag}",
            ENGINE_SIP_ADDRESS=f"127.0.0.1:{_free_port()}", ENGINE_RPC_URL=f"http://127.0.0.1:{_free_port()}/RPC",
            KAMAILIO_RUN_DIR=str(self.dir / "kamailio"),
            PROVISIONING_URL=f"http://127.0.0.1:{prov_port}", PROVISIONING_PUSH_URL=f"http://127.0.0.1:{prov_port}",
            PROVISIONING_PUSH_TOKEN=uuid.uuid4().hex, PROVISIONING_HTTP_AUTH="true",
            SYNC_TASK_QUEUE=f"fanout-{tag}")
        self.prov_port = prov_port

    def start(self) -> None:
        subprocess.run([sys.executable, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=self.env, check=True)
        done = subprocess.run(["bash", "deploy/kamailio.sh", "start"], cwd=ROOT, env=self.env, capture_output=True,
                              text=True, timeout=60)
        if done.returncode:
            raise SystemExit(f"kamailio did not start: {done.stdout}{done.stderr}")
        log = open(self.dir / "provisioning.log", "w")
        self.processes.append(subprocess.Popen(
            [sys.executable, "-m", "devices.provisioning.server", "--host", "127.0.0.1", "--port",
             str(self.prov_port), "--store", str(self.dir / "store"), "--workers", "1"],
            cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT))
        self.worker_log = self.dir / "worker.log"
        self.processes.append(subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "controlhub", "worker", "-Q", self.env["SYNC_TASK_QUEUE"],
             "-n", f"fanout-{uuid.uuid4().hex[:6]}@%h", "--without-gossip", "--without-mingle",
             "--logfile", str(self.worker_log), "-l", "info"],
            cwd=ROOT, env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, start_new_session=True))
        deadline = time.monotonic() + 60
        while not (self.worker_log.exists() and " ready." in self.worker_log.read_text(errors="replace")):
            if time.monotonic() > deadline or any(p.poll() is not None for p in self.processes):
                raise SystemExit(f"own stack did not start; see {self.dir}")
            time.sleep(0.2)

    def stop(self) -> None:
        for process in reversed(self.processes):
            if process.poll() is None:
                # the worker runs in its own session: its prefork children go with it
                try:
                    os.killpg(process.pid, signal.SIGTERM) if process.args[2] == "celery" else process.terminate()
                except ProcessLookupError:
                    pass
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()
        subprocess.run(["bash", "deploy/kamailio.sh", "stop"], cwd=ROOT, env=self.env, capture_output=True)
        subprocess.run(["psql", os.environ["DATABASE_URL"].rsplit("/", 1)[0] + "/postgres", "-Xqc",
                        f'DROP DATABASE IF EXISTS "{self.env["ENGINE_DATABASE_URL"].rsplit("/", 1)[1]}" WITH (FORCE)'],
                       capture_output=True)
        shutil.rmtree(self.dir, ignore_errors=True)

    def push_tasks(self) -> int:
        return self.worker_log.read_text(errors="replace").count("push_keys[") // 2  # received + succeeded


ARGS = _arguments()
STACK = None
if ARGS.own_stack:
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        raise SystemExit("--own-stack needs DATABASE_URL=postgres://… (a database of its own: it is migrated)")
    STACK = OwnStack()
    STACK.start()
    os.environ.update(STACK.env)
else:
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
    args = ARGS
    if settings.CALL_ENGINE != "kamailio":
        raise SystemExit("run `make up` first (or pass --own-stack): this measures a real worker, Kamailio and "
                         "provisioning server")
    rows = []
    for size in [int(s) for s in args.sizes.split(",")]:
        org, hq = seed(size)
        try:
            # First push of everything (what a bulk import costs), then the change we measure.
            from controlhub.sync import bump

            bump(Device.objects.filter(organization=org).select_related("organization"))
            initial = wait_converged(org, args.timeout)
            reloads_before = engine_reloads()
            tasks_before = STACK.push_tasks() if STACK else 0
            t0 = time.perf_counter()
            update_location(SYSTEM, hq, time_zone="America/New_York", outside_dial_digit="8")
            changed = SyncTarget.objects.filter(organization=org, pushed_version__lt=F("desired_version")).count()
            wait_converged(org, args.timeout)
            elapsed = time.perf_counter() - t0   # from the administrator's click to the last phone file
            time.sleep(1.0)  # let the worker log its last task
            tasks = STACK.push_tasks() - tasks_before if STACK else None
            rows.append((size, initial, changed, elapsed, engine_reloads() - reloads_before, tasks))
        finally:
            cleanup(org)
    print(f"\n{'phones':>7} {'first push s':>13} {'keys changed':>13} {'converged s':>12} {'pushes/s':>9} "
          f"{'reloads':>8} {'push tasks':>11}")
    for size, initial, changed, elapsed, reloads, tasks in rows:
        print(f"{size:>7} {initial:>13.1f} {changed:>13} {elapsed:>12.1f} {changed / elapsed:>9.0f} {reloads:>8} "
              f"{'' if tasks is None else tasks:>11}")
    if len(rows) > 1:
        (s1, _, _, e1, _, _), (s2, _, _, e2, _, _) = rows[0], rows[-1]
        print(f"time ratio {e2 / e1:.2f} for size ratio {s2 / s1:.0f} (linear = {s2 / s1:.0f})")


if __name__ == "__main__":
    try:
        main()
    finally:
        if STACK is not None:
            STACK.stop()
