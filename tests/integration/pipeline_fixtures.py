"""A real Celery worker whose pushes reach the session's real Kamailio and provisioning server.

Use with ``pytest_plugins = ["tests.integration.engine_fixtures", "tests.integration.provisioning_fixtures",
"tests.integration.pipeline_fixtures"]`` and the `stack` fixture (routes this test's pushes to that worker).

Fault tests that must restart Redis use `private_redis` (a redis-server of their own on a free port, never the
machine's shared one), `PrivateWorker` (a Celery worker whose broker and claim store is that Redis) and
`use_broker` (the test process sends its pushes there too).
"""
import os
import signal
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

import pytest
import redis
from django.conf import settings as django_settings

from tests.conftest import start_celery_worker, stop_celery_worker
from tests.integration.engine_fixtures import free_port

ROOT = Path(__file__).resolve().parents[2]


def push_worker_env(kamailio, provisioning_server, queue: str) -> dict:
    """Environment of a worker pushing to the session's Kamailio and provisioning server."""
    return {
        **{k: v for k, v in kamailio.env.items() if k.startswith("ENGINE_")},
        "CALL_ENGINE": "kamailio", "ENGINE_RELOAD_INTERVAL": "0.5",
        "PROVISIONING_URL": provisioning_server.url, "PROVISIONING_PUSH_URL": provisioning_server.url,
        "PROVISIONING_PUSH_TOKEN": provisioning_server.token, "PROVISIONING_HTTP_AUTH": "true",
        # short backoff so fault tests stay quick; many attempts so an outage of a few seconds never fails
        "SYNC_BACKOFF_BASE": "0.3", "SYNC_BACKOFF_MAX": "1.5", "SYNC_MAX_ATTEMPTS": "60",
        "SYNC_TASK_QUEUE": queue,
    }


@pytest.fixture(scope="session")
def stack_worker(kamailio, provisioning_server, django_db_setup, celery_test_queue, tmp_path_factory):
    queue = f"{celery_test_queue}-push"
    handle = start_celery_worker(queue, tmp_path_factory.mktemp("push-worker"),
                                 push_worker_env(kamailio, provisioning_server, queue))
    yield handle
    stop_celery_worker(handle)
    redis.Redis.from_url(django_settings.CELERY_BROKER_URL).delete(queue)


def pipeline_report(objects, worker: dict | None = None, log_lines: int = 40) -> str:
    """What a test that timed out waiting for a push needs to tell why: each object's keys (desired and pushed
    versions, status, attempts, last change), whether a "push waiting" claim holds the key in Redis and for how
    long, and the end of the worker's log."""
    from controlhub import sync
    from controlhub.models import ObjectSync

    lines = []
    client = redis.Redis.from_url(django_settings.REDIS_URL, socket_timeout=2)
    for obj in objects:
        for row in (ObjectSync.objects.filter(object_type=obj._meta.model_name, object_id=str(obj.pk))
                    .select_related("sync_target")):
            target = row.sync_target
            claim = f"sync:queued:{target.target}:{target.key}"
            try:
                ttl = client.ttl(claim)
            except redis.RedisError as exc:
                ttl = f"unknown ({exc})"
            lines.append(f"{obj._meta.model_name} {obj.pk} v{row.version} -> {target.target}:{target.key} "
                         f"desired {target.desired_version} pushed {target.pushed_version} {target.status} "
                         f"attempts {target.attempts} updated {target.updated:%H:%M:%S.%f} "
                         f"claim ttl {ttl} error {target.last_error!r}")
    lines.append(f"queue {sync._queue()!r}")
    if worker is not None:
        worker["log"].flush()
        alive = worker["process"].poll() is None
        tail = Path(worker["log"].name).read_text(errors="replace").splitlines()[-log_lines:]
        lines += [f"worker {worker['name']} {'running' if alive else 'exited'}; its log ends:", *tail]
    return "\n".join(lines)


@pytest.fixture
def stack(stack_worker, engine, provisioning, settings):
    """This test's pushes go to the stack worker; the test process itself sees the same engine and server."""
    settings.SYNC_TASK_QUEUE = stack_worker["queue"]
    return {"worker": stack_worker, "engine": engine, "provisioning": provisioning}


# --------------------------------------------------------------------------------------------- private Redis


class PrivateRedis:
    """A redis-server on a free port, without persistence: a restart loses every queued message and claim,
    as a crashed production Redis without AOF would."""

    def __init__(self, workdir: Path):
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.workdir = workdir
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--bind", "127.0.0.1", "--port", str(self.port), "--save", "", "--appendonly", "no",
             "--dir", str(self.workdir), "--logfile", str(self.workdir / "redis.log")],
            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        while True:
            try:
                if redis.Redis.from_url(self.url, socket_timeout=0.5).ping():
                    return
            except redis.RedisError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"private redis-server did not start; see {self.workdir / 'redis.log'}")
            time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def restart(self) -> None:
        self.stop()
        self.start()


@pytest.fixture
def private_redis(tmp_path):
    if not any(os.access(os.path.join(d, "redis-server"), os.X_OK) for d in os.environ["PATH"].split(":")):
        pytest.skip("redis-server is not installed")
    server = PrivateRedis(tmp_path)
    server.start()
    yield server
    server.stop()


class PrivateWorker:
    """A Celery worker (one process, solo pool) on `queue` with its broker and claim store at `redis_url`."""

    def __init__(self, redis_url: str, queue: str, log_dir: Path, extra_env: dict):
        db = django_settings.DATABASES["default"]
        self.name = f"faultworker-{uuid.uuid4().hex[:8]}@localhost"
        self.log_path = Path(log_dir) / f"{self.name}.log"
        env = dict(os.environ)
        env.update(
            DATABASE_URL=f"postgres://{db['USER']}:{db.get('PASSWORD') or ''}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
            CELERY_TASK_ALWAYS_EAGER="false", REDIS_URL=redis_url, CELERY_BROKER_URL=redis_url,
            EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend")
        env.update(extra_env)
        self.log = open(self.log_path, "w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "controlhub", "worker", "-P", "solo", "-Q", queue,
             "-n", self.name, "--without-gossip", "--without-mingle", "--without-heartbeat", "-l", "info"],
            env=env, cwd=ROOT, stdout=self.log, stderr=subprocess.STDOUT)
        self.wait_for_log("ready.", timeout=30)

    def log_size(self) -> int:
        return self.log_path.stat().st_size

    def wait_for_log(self, text: str, timeout: float, after: int = 0) -> None:
        """Wait until `text` is logged (beyond byte `after`: a `log_size()` taken before the awaited event)."""
        deadline = time.monotonic() + timeout
        while text not in self.log_path.read_bytes()[after:].decode(errors="replace"):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"worker: no {text!r} in {self.log_path}")
            time.sleep(0.02)

    def kill(self) -> None:
        """SIGKILL: no shutdown, no acknowledgement, whatever it was doing is cut off."""
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()
        self.log.close()


@contextmanager
def use_broker(redis_url: str, settings):
    """The test process sends tasks to, and de-duplicates claims in, `redis_url` (restored afterwards)."""
    from controlhub import sync
    from controlhub.celery import app

    def switch(url: str) -> None:
        from kombu import pools

        app.conf.broker_url = url
        if app._pool is not None:
            app._pool.force_close_all()
        app._pool = None
        app.amqp._producer_pool = None
        # kombu keeps producer pools per connection in a process-wide registry, and one of them holds the
        # connection pool closed above: without a reset the next send fails with "Acquire on closed pool"
        pools.reset()
        sync._redis_client = None

    previous = app.conf.broker_url
    settings.REDIS_URL = redis_url
    switch(redis_url)
    try:
        yield
    finally:
        switch(previous)
