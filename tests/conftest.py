"""Shared fixtures: organisations with locations, numbers and licences; accounts for every admin role."""
import itertools

import pytest

from calling.actions import add_number_range, assign_calling
from calling.models import NumberState
from controlhub.actions import Actor, create_location
from controlhub.models import Account, AdminRole, Organization, Partner
from controlhub.roles import Role
from users.actions import create_person
from users.models import License, LicenseKind

_seq = itertools.count(1)
SYSTEM = Actor.system()


@pytest.fixture(autouse=True)
def mpp_catalogue(request):
    """Transactional tests (live server, Celery worker) flush every table afterwards, data-migration rows
    included: put the MPP catalogue back for the tests that come after."""
    marker = request.node.get_closest_marker("django_db")
    transactional = (marker is not None and marker.kwargs.get("transaction")) or any(
        name in request.fixturenames for name in ("transactional_db", "live_server"))
    if transactional:
        import importlib

        from devices.models import SupportedDevice

        request.getfixturevalue("transactional_db")
        if not SupportedDevice.objects.exists():
            migration = importlib.import_module("devices.migrations.0002_supported_mpp_models")
            for code, (family, ports, keys, kems, touch) in migration.MPP_MODELS.items():
                SupportedDevice.objects.create(model=f"DMS Cisco {code}", display_name=f"Cisco {code}",
                                               product_code=code, family=family, line_ports=ports,
                                               line_key_buttons=keys, kem_module_count=kems, touch_screen=touch)


@pytest.fixture
def system_actor() -> Actor:
    return SYSTEM


@pytest.fixture
def partner(db) -> Partner:
    return Partner.objects.create(name=f"Partner {next(_seq)}")


@pytest.fixture
def make_org(db, partner):
    """make_org(name) -> an organisation with all licences and two locations (HQ, Branch) with numbers."""

    def make(name: str | None = None, country: str = "US", partner_=partner) -> Organization:
        n = next(_seq)
        org = Organization.objects.create(partner=partner_, display_name=name or f"Org {n}", country=country,
                                          sip_domain=f"org{n}.calls.test")
        for kind in LicenseKind:
            License.objects.create(organization=org, kind=kind, total_units=1000)
        hq = create_location(SYSTEM, org, name="HQ", time_zone="America/Los_Angeles", address1="1 Main St",
                             city="San Jose", state="CA", country="US", routing_prefix="81")
        branch = create_location(SYSTEM, org, name="Branch", time_zone="America/New_York", address1="2 Side St",
                                 city="New York", state="NY", country="US", routing_prefix="82")
        # Each org gets its own number block so tests can make several orgs.
        base = 4085550000 + n * 20 if n < 400 else 2125550000 + (n - 400) * 20
        add_number_range(SYSTEM, hq, f"+1{base}", f"+1{base + 9}", NumberState.ACTIVE)
        add_number_range(SYSTEM, branch, f"+1{base + 10}", f"+1{base + 19}", NumberState.ACTIVE)
        return org

    return make


@pytest.fixture
def org(make_org) -> Organization:
    return make_org("Acme")


@pytest.fixture
def other_org(make_org) -> Organization:
    return make_org("Globex")


def licence(org: Organization, kind: str = LicenseKind.CALLING_PROFESSIONAL) -> License:
    return License.objects.get(organization=org, kind=kind)


def org_location(org: Organization, name: str):
    from controlhub.models import Location

    return Location.objects.get(organization=org, name=name)


def free_number(location) -> str:
    return location.numbers.filter(line__isnull=True, is_main=False).order_by("e164").first().e164


@pytest.fixture
def make_calling_person(db):
    """make_calling_person(org, extension, with_number=False, location_name="HQ") -> Person with a line."""

    def make(org: Organization, extension: str, with_number: bool = False, location_name: str = "HQ", email=None):
        location = org_location(org, location_name)
        person = create_person(SYSTEM, org, email=email or f"p{next(_seq)}@{org.sip_domain}", first_name="Pat",
                               last_name=f"Person{extension}", location=location, licenses=[licence(org)])
        assign_calling(SYSTEM, person, location=location, extension=extension,
                       phone_number=free_number(location) if with_number else None)
        return person

    return make


@pytest.fixture
def make_admin(db):
    """make_admin(role, org=None, partner=None, locations=()) -> Account with that single admin role."""

    def make(role: str, org: Organization | None = None, partner: Partner | None = None, locations=()) -> Account:
        account = Account.objects.create_user(f"admin{next(_seq)}@admins.test", "correct-horse-battery")
        grant = AdminRole.objects.create(account=account, role=role, organization=org, partner=partner)
        if locations:
            grant.locations.set(locations)
        return Account.objects.get(pk=account.pk)  # fresh object: `grants` is cached per instance

    return make


@pytest.fixture
def full_admin(make_admin, org) -> Account:
    return make_admin(Role.FULL_ADMIN, org=org)


# --------------------------------------------------------------------------------------------- real Celery worker


@pytest.fixture(scope="session", autouse=True)
def flush_outlasts_a_deadlock():
    """A transactional test ends with a flush (TRUNCATE of every table) while this process's Celery worker may
    still run a task the test queued (a push, a mail): the two can deadlock, and PostgreSQL may pick the flush
    as the victim (seen once). The worker's transaction goes on; flushing again a moment later succeeds."""
    import time

    from django.core.management.base import CommandError
    from django.db import OperationalError
    from django.test.testcases import TransactionTestCase

    original = TransactionTestCase._fixture_teardown

    def teardown(self):
        for attempt in range(3):
            try:
                return original(self)
            except CommandError as exc:
                if attempt == 2 or not isinstance(exc.__cause__, OperationalError) \
                        or "deadlock" not in str(exc.__cause__):
                    raise
                time.sleep(0.5)

    TransactionTestCase._fixture_teardown = teardown
    yield
    TransactionTestCase._fixture_teardown = original


@pytest.fixture(scope="session", autouse=True)
def celery_test_queue():
    """Give this test process its own queue, so parallel test processes (and stale runs) never take each other's
    tasks, and drop whatever is left in it at the end. Set before anything is sent (amqp caches the queue)."""
    import uuid

    import redis
    from django.conf import settings

    from controlhub.celery import app

    queue = f"test-{uuid.uuid4().hex[:12]}"
    app.conf.task_default_queue = queue
    yield queue
    try:
        redis.Redis.from_url(settings.CELERY_BROKER_URL).delete(queue)
    except redis.RedisError:
        pass


def start_celery_worker(queue: str, log_dir, extra_env: dict | None = None) -> dict:
    """Start a real `celery worker` on `queue` against the test database; returns a handle for stop_celery_worker.

    Mail it sends lands as files in handle["mail_dir"] (filebased backend). Use with `transactional_db`.
    """
    import os
    import subprocess
    import sys
    import time
    import uuid
    from pathlib import Path

    from django.conf import settings

    from controlhub.celery import app

    db = settings.DATABASES["default"]
    if db["ENGINE"].endswith("sqlite3"):
        pytest.skip("the Celery worker tests need PostgreSQL (make test sets DATABASE_URL)")
    mail_dir = Path(log_dir) / "mail"
    mail_dir.mkdir(parents=True, exist_ok=True)
    name = f"testworker-{uuid.uuid4().hex[:8]}@localhost"
    env = dict(os.environ)
    env.update(
        DATABASE_URL=f"postgres://{db['USER']}:{db.get('PASSWORD') or ''}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        CELERY_TASK_ALWAYS_EAGER="false",
        EMAIL_BACKEND="django.core.mail.backends.filebased.EmailBackend",
        EMAIL_FILE_PATH=str(mail_dir),
        # no provisioning server unless the test brings one: files go to a local store, never to :8480
        PROVISIONING_PUSH_URL="", PROVISIONING_STORE=str(Path(log_dir) / "provisioning-store"),
        # What the worker's own tasks queue (an import's pushes and welcome mails, a push's follow-up) stays on
        # this test run's queue, as the test process's does (celery_test_queue); otherwise it would go to the
        # deployment's default queue, which no test worker consumes: lost, and left in Redis for a later `make up`.
        CELERY_TASK_DEFAULT_QUEUE=queue,
        PGAPPNAME=name,  # its connections, told apart in pg_stat_activity (stop_celery_worker waits for them)
    )
    env.update(extra_env or {})
    log = open(Path(log_dir) / f"{name}.log", "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "controlhub", "worker", "-P", "solo", "-Q", queue,
         "-n", name, "--without-gossip", "--without-mingle", "-l", "info"],
        env=env, cwd=Path(settings.BASE_DIR), stdout=log, stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 30
    while not app.control.ping(destination=[name], timeout=0.5):
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError(f"Celery worker did not start; see {log.name}")
    return {"process": proc, "mail_dir": mail_dir, "name": name, "log": log, "queue": queue}


def stop_celery_worker(handle: dict) -> None:
    """Stop the worker, then wait until PostgreSQL has let go of its connections: a server process outlives its
    client by a moment, and the test database's teardown refused to drop a database still in use (seen)."""
    import subprocess
    import time

    import psycopg
    from django.conf import settings

    proc = handle["process"]
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    handle["log"].close()
    db = settings.DATABASES["default"]
    with psycopg.connect(host=db["HOST"], port=db["PORT"], user=db["USER"], password=db.get("PASSWORD") or None,
                         dbname="postgres", autocommit=True) as conn:
        deadline = time.monotonic() + 10
        while conn.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name = %s",
                           [handle["name"]]).fetchone()[0] and time.monotonic() < deadline:
            time.sleep(0.05)


@pytest.fixture(scope="session")
def celery_worker_process(django_db_setup, django_db_blocker, celery_test_queue, tmp_path_factory):
    """A real Celery worker consuming this test process's default queue (see start_celery_worker)."""
    handle = start_celery_worker(celery_test_queue, tmp_path_factory.mktemp("worker"))
    yield handle
    stop_celery_worker(handle)
