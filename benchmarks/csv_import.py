"""Users CSV import and export at 20k and 100k rows on PostgreSQL, next to a raw `COPY` of the same rows.

For each size: generates a Control Hub users CSV (every row a calling user with an extension, a quarter with a
phone number, two services), imports it with `manage.py import_users` (validation + batched apply + audit, in a
child process), COPYs the same rows into a table with the same unique constraints (lower(email), extension,
number), and exports the organisation with `manage.py export_users`. Prints wall time, rows/s and the child's
peak RSS. Goals: import ≤ 10× COPY at 100k rows, RSS ≤ 512 MB. COPY and import run in BENCH_ROUNDS rounds
(3), a COPY then the import each; the figures are the medians (peak RSS: the highest).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/controlhub_csvbench .venv/bin/python benchmarks/csv_import.py

Uses its own database (dropped and re-created): never point it at real data. BENCH_SIZES=20000,100000.
"""
import csv
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/controlhub_csvbench")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "controlhub.settings")
os.environ.setdefault("CELERY_TASK_ALWAYS_EAGER", "true")

import django  # noqa: E402
import psycopg  # noqa: E402

SIZES = [int(s) for s in os.environ.get("BENCH_SIZES", "20000,100000").split(",")]
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
URL = os.environ["DATABASE_URL"]


def recreate_database() -> None:
    name = URL.rsplit("/", 1)[-1]
    with psycopg.connect(URL.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def seed(size: int):
    """An organisation with enough licence units and a location holding the numbers the file will assign."""
    from calling.models import Number, NumberState
    from controlhub.actions import Actor, create_location
    from controlhub.models import Organization
    from users.models import License, LicenseKind

    org = Organization.objects.create(display_name=f"CSV {size}", country="US", sip_domain=f"csv{size}.calls.test")
    for kind in LicenseKind:
        License.objects.create(organization=org, kind=kind, total_units=size)
    hq = create_location(Actor.system(), org, name="HQ", time_zone="America/Los_Angeles", address1="1 Main St",
                         city="San Jose", country="US")
    numbers = [number(size, i) for i in range(0, size, 4)]
    Number.objects.bulk_create([Number(organization=org, location=hq, e164=n, state=NumberState.ACTIVE)
                                for n in numbers], batch_size=5000)
    return org


def number(size: int, i: int) -> str:
    # valid US numbers in assigned area codes, a different area code per size (numbers are globally unique)
    area = {20000: 206, 100000: 312}.get(size, 415)
    return f"+1{area}{200 + (i // 10000) % 700:03d}{i % 10000:04d}"


def write_csv(path: Path, size: int) -> list[tuple]:
    header = ["First Name", "Last Name", "Display Name", "User ID/Email (Required)", "Extension", "Phone Number",
              "Location", "Webex Calling - Professional", "Basic Messaging"]
    rows = []
    with open(path, "w", encoding="utf-8-sig", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        for i in range(size):
            phone = number(size, i) if i % 4 == 0 else ""
            row = (f"Först{i % 997}", f"Ëfternamn{i % 1009}", "", f"user{i}@csv{size}.test", str(100000 + i), phone,
                   "HQ", "TRUE", "TRUE")
            writer.writerow(row)
            rows.append(row)
    return rows


def run_child(args: list[str], without_push: bool = False) -> tuple[float, float, str]:
    """Wall seconds, peak RSS (MB) and output of a management command run in a child process.

    `without_push` leaves out the push pipeline's outbox (`bump` / `bump_bulk`, called by `record_changes` /
    `record_changes_bulk`), to show the import's own cost next to the full one.
    """
    start = time.perf_counter()
    env = os.environ.copy()
    env["BENCH_WITHOUT_PUSH"] = "1" if without_push else ""
    proc = subprocess.Popen([sys.executable, __file__, "--child", *args], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, env=env)
    out = proc.stdout.read().decode()
    status = proc.wait()
    wall = time.perf_counter() - start
    if status != 0:
        raise SystemExit(f"{' '.join(args)} failed:\n{out}")
    # The child reports its own high-water mark (VmHWM): rusage of a child also counts the parent's pages it
    # borrowed before exec, which would charge the benchmark's own memory to the import.
    peak_kb = int(out.rsplit("PEAK_RSS_KB=", 1)[1].split()[0])
    return wall, peak_kb / 1024, out


def copy_baseline(rows: list[tuple], size: int) -> float:
    table = f"bench_copy_{size}"
    with psycopg.connect(URL, autocommit=True) as conn:
        conn.execute(f"DROP TABLE IF EXISTS {table}")
        conn.execute(f"""CREATE TABLE {table} (id uuid PRIMARY KEY, email text NOT NULL, first_name text,
            last_name text, display_name text, extension text, e164 text, location text, calling boolean,
            messaging boolean)""")
        conn.execute(f"CREATE UNIQUE INDEX ON {table} (lower(email))")
        conn.execute(f"CREATE UNIQUE INDEX ON {table} (extension)")
        conn.execute(f"CREATE UNIQUE INDEX ON {table} (e164)")
        start = time.perf_counter()
        with conn.cursor() as cur, cur.copy(f"COPY {table} (id, first_name, last_name, display_name, email, "
                                            "extension, e164, location, calling, messaging) FROM STDIN") as copy:
            for r in rows:
                copy.write_row((uuid.uuid4(), r[0], r[1], r[2] or f"{r[0]} {r[1]}", r[3], r[4], r[5] or None, r[6],
                                True, True))
        return time.perf_counter() - start


def main() -> None:
    recreate_database()
    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    results, phases = [], []
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["JOB_FILES_DIR"] = tmp
        for size in SIZES:
            org = seed(size)
            path = Path(tmp) / f"users-{size}.csv"
            rows = write_csv(path, size)
            # Welcome mails are a worker's job after each batch commits (here tasks would run inline): left out.
            command = ["import_users", str(path), "--org", str(org.pk), "--no-welcome-mail"]
            own, own_rss, out = run_child(command, without_push=True)
            if f"{size} created" not in out:
                raise SystemExit(f"import did not create every row:\n{out}")
            reset(org)
            # Rounds of a COPY then the import, medians of each: on a shared 2-core machine a COPY of 100k rows took
            # 0.64-1.2 s and the same import 7.5-10 s from one minute to the next; a single pair could show any
            # ratio between them. Interleaved, each round's pair meets the machine in the same state.
            rounds = []
            for round_number in range(ROUNDS):
                copy_s = copy_baseline(rows, size)
                wall, rss, out = run_child(command)
                if f"{size} created" not in out:
                    raise SystemExit(f"import did not create every row:\n{out}")
                check_s = float(out.split("Checked ", 1)[1].split(" in ", 1)[1].split(" s", 1)[0])
                apply_s = float(out.split("applied in ", 1)[1].split(" s", 1)[0])
                rounds.append((check_s + apply_s, check_s, apply_s, copy_s, wall, rss))
                if round_number < ROUNDS - 1:
                    reset(org)
            del rows
            copy_seconds = statistics.median(r[3] for r in rounds)
            wall = statistics.median(r[4] for r in rounds)
            rss = max(r[5] for r in rounds)
            _total, check_s, apply_s, _copy, _wall, _rss = sorted(rounds)[len(rounds) // 2]
            phases.append((size, check_s, apply_s, copy_seconds, [r[0] / r[3] for r in rounds]))
            export_path = Path(tmp) / f"export-{size}.csv"
            ewall, erss, _out = run_child(["export_users", "--org", str(org.pk), "-o", str(export_path)])
            rwall, rrss, rout = run_child(["import_users", str(export_path), "--org", str(org.pk), "--dry-run"])
            unchanged = f"unchanged: {size}" in rout
            results.append((size, wall, rss, own, own_rss, copy_seconds, ewall, erss, rwall, rrss, unchanged))
    print(f"{'rows':>7} | {'import s':>8} {'rows/s':>7} {'RSS MB':>6} {'×COPY':>6} | {'no-push s':>9} {'rows/s':>7} "
          f"{'RSS MB':>6} {'×COPY':>6} | {'COPY s':>6} | {'export s':>8} {'rows/s':>7} {'RSS MB':>6} | "
          f"{'re-check s':>10} {'RSS MB':>6} unchanged")
    for size, wall, rss, own, own_rss, copy_s, ewall, erss, rwall, rrss, unchanged in results:
        print(f"{size:>7} | {wall:8.1f} {size / wall:7.0f} {rss:6.0f} {wall / copy_s:6.1f} | {own:9.1f} "
              f"{size / own:7.0f} {own_rss:6.0f} {own / copy_s:6.1f} | {copy_s:6.2f} | {ewall:8.1f} "
              f"{size / ewall:7.0f} {erss:6.0f} | {rwall:10.1f} {rrss:6.0f} {unchanged}")
    for size, check_s, apply_s, copy_s, ratios in phases:
        total = check_s + apply_s
        print(f"{size:>7} rows, import with pushes, inside the process (median of {ROUNDS}): check (parse + "
              f"validate) {check_s:.1f} s + apply {apply_s:.1f} s = {total:.1f} s = {total / copy_s:.1f}x COPY "
              f"(median {copy_s:.2f} s); each round's import / its COPY: "
              f"{', '.join(f'{r:.1f}x' for r in ratios)}")
    print("Times in the table include the child process start (Python + Django setup, ~1-2 s), which the COPY's "
          "does not; the last lines time the import inside the process, as the COPY is timed. re-check: the "
          "export imported again as a dry run (validation only); 'unchanged' says every row was reported unchanged.")


def reset(org) -> None:
    """Remove what an import created, so the same file can be imported again."""
    from calling.models import Line
    from controlhub.models import AuditEvent, Job
    from controlhub.sync import forget_deleted_objects
    from controlhub.sync.models import ObjectSync
    from users.models import Person

    Line.objects.filter(organization=org).delete()
    Person.objects.filter(organization=org).delete()
    Job.objects.filter(organization=org).delete()
    AuditEvent.objects.filter(organization=org).delete()
    # The removed people's and lines' sync records go too, as the hourly sweep removes them: each round imports into
    # the same database, not into one holding another 100k records from the round before (every round was slower).
    forget_deleted_objects()
    # Leave the tables as a settled database would be: without it, the next import shares the two cores with
    # autovacuum cleaning up after these deletes, and walks their dead index entries (same emails, extensions).
    from django.db import connection

    with connection.cursor() as cursor:
        for model in (Line, Person, Job, AuditEvent, ObjectSync):
            cursor.execute(f"VACUUM ANALYZE {connection.ops.quote_name(model._meta.db_table)}")


def child(args: list[str]) -> None:
    django.setup()
    if os.environ.get("BENCH_WITHOUT_PUSH"):
        import controlhub.actions

        controlhub.actions.bump = lambda objects, keys=None: None
        controlhub.actions.bump_bulk = lambda objects, keys=None: None
    from django.core.management import call_command

    try:
        call_command(*args)
    finally:
        with open("/proc/self/status") as status:
            peak = next(line.split()[1] for line in status if line.startswith("VmHWM"))
        print(f"PEAK_RSS_KB={peak}")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        child(sys.argv[2:])
    else:
        main()
