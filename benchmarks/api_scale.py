"""Users at scale: `/v1/people?max=100` and the portal's Users page at 1k and 100k people.

Prints, for each size, the number of SQL queries and the median latency (in-process Django client, so the figure
is the server's own time), and the 100k/1k ratios. Goal: query count constant, latency flat.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/controlhub_bench .venv/bin/python benchmarks/api_scale.py

Uses its own database (dropped and re-created): never point it at real data.
"""
import os
import statistics
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/controlhub_bench")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "controlhub.settings")
os.environ.setdefault("CELERY_TASK_ALWAYS_EAGER", "true")

import django  # noqa: E402
import psycopg  # noqa: E402

SIZES = [int(s) for s in os.environ.get("BENCH_SIZES", "1000,100000").split(",")]
REPEAT = int(os.environ.get("BENCH_REPEAT", "25"))
USERS_PAGE = os.environ.get("BENCH_USERS_PAGE", "/users/")


def recreate_database(url: str) -> None:
    name = url.rsplit("/", 1)[-1]
    admin_url = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def seed(size: int):
    """An organisation with `size` people (half with calling) inserted in bulk: seeding is not what we measure."""
    from calling.models import Line, Number
    from controlhub.actions import Actor, create_location
    from controlhub.models import Account, AdminRole, Organization
    from controlhub.roles import Role
    from users.models import License, LicenseKind, Person

    org = Organization.objects.create(display_name=f"Bench {size}", country="US",
                                      sip_domain=f"bench{size}.calls.test")
    License.objects.create(organization=org, kind=LicenseKind.CALLING_PROFESSIONAL, total_units=size)
    location = create_location(Actor.system(), org, name="HQ", time_zone="America/Los_Angeles",
                               address1="1 Main St", city="San Jose", country="US")
    batch = 5000
    for start in range(0, size, batch):
        people = [Person(id=uuid.uuid4(), organization=org, email=f"user{i}@bench{size}.test",
                         first_name=f"First{i % 997}", last_name=f"Last{i % 1009}",
                         display_name=f"First{i % 997} Last{i % 1009} {i}", location=location, status="active",
                         has_calling_professional=True)
                  for i in range(start, min(size, start + batch))]
        Person.objects.bulk_create(people)
        numbers = Number.objects.bulk_create([
            Number(organization=org, location=location, e164=f"+1{2000000000 + size * 10 + i}", state="ACTIVE")
            for i, p in enumerate(people, start) if i % 2 == 0])
        Line.objects.bulk_create([
            Line(organization=org, location=location, person=p, extension=str(100000 + i),
                 number=numbers[(i - start) // 2] if i % 2 == 0 else None)
            for i, p in enumerate(people, start) if i % 2 == 0 or i % 3 == 0])
    account = Account.objects.create_user(f"admin@bench{size}.test", "bench-password-123")
    AdminRole.objects.create(account=account, role=Role.FULL_ADMIN, organization=org)
    return org, account


def measure(client, url: str, **headers) -> tuple[int, float, int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.get(url, **headers)  # warm caches (templates, connection)
    timings = []
    for _ in range(REPEAT):
        with CaptureQueriesContext(connection) as queries:
            t0 = time.perf_counter()
            response = client.get(url, **headers)
            timings.append(time.perf_counter() - t0)
        assert response.status_code == 200, (url, response.status_code, response.content[:300])
    return len(queries), statistics.median(timings) * 1000, response.status_code


def main() -> None:
    recreate_database(os.environ["DATABASE_URL"])
    django.setup()
    from django.core.management import call_command
    from django.test import Client
    from django.test.utils import setup_test_environment
    from rest_framework.authtoken.models import Token

    setup_test_environment()
    call_command("migrate", verbosity=0)
    results = {}
    for size in SIZES:
        t0 = time.perf_counter()
        org, account = seed(size)
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        print(f"seeded {size:>7} people in {time.perf_counter() - t0:6.1f} s", flush=True)
        token = Token.objects.create(user=account)
        api = Client()
        portal = Client()
        portal.force_login(account)
        results[size] = {
            "/v1/people?max=100": measure(api, "/v1/people?max=100", HTTP_AUTHORIZATION=f"Bearer {token.key}"),
            "/v1/people?max=100&callingData=true": measure(api, "/v1/people?max=100&callingData=true",
                                                           HTTP_AUTHORIZATION=f"Bearer {token.key}"),
            f"Users page {USERS_PAGE}": measure(portal, USERS_PAGE),
            "Users page search q=Last7": measure(portal, USERS_PAGE + "?q=Last7"),
            # worst case for search: nothing matches, so every row of the organisation is examined
            "Users page search q=nobody-matches": measure(portal, USERS_PAGE + "?q=nobody-matches"),
            "Users page sort=-email": measure(portal, USERS_PAGE + "?sort=-email"),
            "/v1/people?email=…": measure(api, f"/v1/people?email=user{size // 2}@bench{size}.test",
                                         HTTP_AUTHORIZATION=f"Bearer {token.key}"),
        }
    small, large = SIZES[0], SIZES[-1]
    print(f"\n{'endpoint':42} {'size':>7} {'queries':>8} {'median ms':>10}")
    for name in results[small]:
        for size in SIZES:
            q, ms, _ = results[size][name]
            print(f"{name:42} {size:>7} {q:>8} {ms:>10.1f}")
        q1, ms1, _ = results[small][name]
        q2, ms2, _ = results[large][name]
        print(f"{'':42} {'ratio':>7} {q2 / q1:>8.2f} {ms2 / ms1:>10.2f}  ({large}/{small})\n")


if __name__ == "__main__":
    main()
