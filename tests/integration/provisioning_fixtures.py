"""The real provisioning server process (devices/provisioning/server.py) for a test session, on 127.0.0.1.

Use in a test module with ``pytest_plugins = ["tests.integration.provisioning_fixtures"]``.

- ``provisioning_server`` (session): starts `python -m devices.provisioning.server` with two worker processes
  (so a push to one process and a fetch from the other is exercised) on a free port with a private store under
  tmp; stops it at the end. Yields a `ProvisioningProcess` (url, token, store path; `stop()`/`start()` for fault
  tests: same port, store and token).
- ``provisioning``: settings pointed at that server (PROVISIONING_URL/_PUSH_URL/_PUSH_TOKEN); the store's files
  are emptied after each test, so every test starts from an empty server.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class ProvisioningProcess:
    url: str
    token: str
    store: Path
    process: subprocess.Popen
    log: Path

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    def stop(self) -> None:
        """Stop the server (SIGTERM, as `make down` does); the store stays."""
        _terminate(self.process)

    def start(self) -> None:
        """Start it again on the same port with the same store and token (after `stop`)."""
        if self.process.poll() is None:
            return
        self.process = _launch(self.store, self.token, self.port, self.log, self.store.parent / "port")
        _wait_healthy(self.url, self.process, self.log)


def _launch(store: Path, token: str, port: int, log: Path, ready: Path) -> subprocess.Popen:
    ready.unlink(missing_ok=True)
    env = dict(os.environ, PROVISIONING_PUSH_TOKEN=token, LOG_LEVEL="INFO")
    with open(log, "a") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "devices.provisioning.server", "--host", "127.0.0.1", "--port", str(port),
             "--workers", "2", "--store", str(store), "--ready-file", str(ready)],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 20
    while not ready.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            _terminate(process)
            raise RuntimeError(f"provisioning server did not start; see {log}")
        time.sleep(0.05)
    return process


def _terminate(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _wait_healthy(url: str, process: subprocess.Popen, log: Path, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"provisioning server exited ({process.returncode}); see {log}")
        try:
            with urllib.request.urlopen(f"{url}/_health", timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"provisioning server did not answer within {timeout}s; see {log}")


@pytest.fixture(scope="session")
def provisioning_server(tmp_path_factory):
    base = tmp_path_factory.mktemp("provisioning")
    store, ready, log = base / "store", base / "port", base / "server.log"
    token = uuid.uuid4().hex
    process = _launch(store, token, 0, log, ready)
    server = ProvisioningProcess(url=f"http://127.0.0.1:{int(ready.read_text())}", token=token, store=store,
                                 process=process, log=log)
    try:
        _wait_healthy(server.url, process, log)
        yield server
    finally:
        _terminate(server.process)   # the current process: a fault test may have restarted it


@pytest.fixture
def provisioning(provisioning_server, settings):
    settings.PROVISIONING_URL = provisioning_server.url
    settings.PROVISIONING_PUSH_URL = provisioning_server.url
    settings.PROVISIONING_PUSH_TOKEN = provisioning_server.token
    settings.PROVISIONING_HTTP_AUTH = True
    yield provisioning_server
    for sub in ("files", "meta"):
        for child in (provisioning_server.store / sub).iterdir():
            shutil.rmtree(child, ignore_errors=True)
    # a new generation, as every write makes: the server processes drop what they cached of the removed files
    generation = provisioning_server.store / "generation"
    tmp = generation.with_name(".generation-reset")
    tmp.write_text(str(time.time_ns()))
    os.replace(tmp, generation)
