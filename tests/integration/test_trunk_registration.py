"""A trunk's registration state comes from a beat task (calling.gateways.refresh_trunk_registrations), never from
a call to the engine inside the page's request. The registered/unregistered answers against a real Kamailio are
in test_trunks_engine.py."""
import socket
import threading

import pytest

from calling.actions import create_trunk
from calling.gateways import OFFLINE, UNKNOWN, refresh_trunk_registrations, trunk_status
from tests.conftest import SYSTEM, org_location
from tests.integration.portal_support import client_for

pytestmark = pytest.mark.django_db


class CountingListener:
    """A TCP port that counts connections: where the page would reach the engine's JSON-RPC if it asked."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self.running = True
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self):
        while self.running:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.connections += 1
            conn.close()

    def close(self):
        self.running = False
        self.thread.join()
        self.sock.close()


@pytest.fixture
def rpc_listener():
    listener = CountingListener()
    yield listener
    listener.close()


def test_the_trunk_page_reads_the_last_check_and_never_asks_the_engine(org, full_admin, settings, rpc_listener):
    settings.CALL_ENGINE = "kamailio"
    settings.ENGINE_RPC_URL = f"http://127.0.0.1:{rpc_listener.port}/RPC"
    settings.ENGINE_TIMEOUT = 0.5
    trunk = create_trunk(SYSTEM, org, name="LGW", location=org_location(org, "HQ"), password="Secret123x")
    admin = client_for(full_admin)
    page = admin.get(f"/pstn/trunks/{trunk.pk}/").content.decode()
    assert rpc_listener.connections == 0
    assert "Not checked yet" in page and trunk_status(trunk) == UNKNOWN
    # the beat task asks (here the "engine" hangs up: unknown, but checked)
    counts = refresh_trunk_registrations()
    assert rpc_listener.connections >= 1 and counts[UNKNOWN] >= 1
    status = trunk_status(trunk)
    assert status == UNKNOWN and status.checked_seconds_ago is not None and status.checked_seconds_ago <= 5
    seen = rpc_listener.connections
    page = admin.get(f"/pstn/trunks/{trunk.pk}/").content.decode()
    assert rpc_listener.connections == seen
    assert 'id="trunk-status-checked"' in page and "last checked" in page


def test_without_an_engine_a_checked_trunk_shows_unknown_with_its_check_time(org, settings):
    settings.CALL_ENGINE = "none"
    trunk = create_trunk(SYSTEM, org, name="LGW", location=org_location(org, "HQ"), password="Secret123x")
    refresh_trunk_registrations()
    status = trunk_status(trunk)
    assert status == UNKNOWN and status.checked_at is not None and status != OFFLINE
