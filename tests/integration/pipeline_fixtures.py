"""A real Celery worker whose pushes reach the session's real Kamailio and provisioning server.

Use with ``pytest_plugins = ["tests.integration.engine_fixtures", "tests.integration.provisioning_fixtures",
"tests.integration.pipeline_fixtures"]`` and the `stack` fixture (routes this test's pushes to that worker).
"""
import pytest
import redis
from django.conf import settings as django_settings

from tests.conftest import start_celery_worker, stop_celery_worker


@pytest.fixture(scope="session")
def stack_worker(kamailio, provisioning_server, django_db_setup, celery_test_queue, tmp_path_factory):
    queue = f"{celery_test_queue}-push"
    handle = start_celery_worker(queue, tmp_path_factory.mktemp("push-worker"), {
        **{k: v for k, v in kamailio.env.items() if k.startswith("ENGINE_")},
        "CALL_ENGINE": "kamailio", "ENGINE_RELOAD_INTERVAL": "0.5",
        "PROVISIONING_URL": provisioning_server.url, "PROVISIONING_PUSH_URL": provisioning_server.url,
        "PROVISIONING_PUSH_TOKEN": provisioning_server.token, "PROVISIONING_HTTP_AUTH": "true",
        # short backoff so fault tests stay quick; many attempts so an outage of a few seconds never fails
        "SYNC_BACKOFF_BASE": "0.3", "SYNC_BACKOFF_MAX": "1.5", "SYNC_MAX_ATTEMPTS": "60",
        "SYNC_TASK_QUEUE": queue,
    })
    yield handle
    stop_celery_worker(handle)
    redis.Redis.from_url(django_settings.CELERY_BROKER_URL).delete(queue)


@pytest.fixture
def stack(stack_worker, engine, provisioning, settings):
    """This test's pushes go to the stack worker; the test process itself sees the same engine and server."""
    settings.SYNC_TASK_QUEUE = stack_worker["queue"]
    return {"worker": stack_worker, "engine": engine, "provisioning": provisioning}
