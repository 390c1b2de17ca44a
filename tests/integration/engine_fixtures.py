"""A real Kamailio (deploy/kamailio.sh) per test session, and sipp phones/gateways, all on 127.0.0.1.

Use in a test module with ``pytest_plugins = ["tests.integration.engine_fixtures"]``.

- ``kamailio`` (session): starts Kamailio on free ports against a private engine database
  (``ch_engine_test_<pid>_<random>``), stops it and drops the database at the end. Skips when kamailio or sipp
  is not installed (deploy/system-deps.sh installs them).
- ``engine``: settings pointed at that Kamailio, ``get_engine()``'s adapter; at teardown every organisation
  in the engine database is removed again, so each test starts from an empty engine.
- ``sipp``: runs deploy/sipp scenarios (`run`) and background UAS phones/gateways (`uas`), each on free ports;
  every process it started is stopped at teardown.
"""
from __future__ import annotations

import os
import random
import shutil
import socket
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

ROOT = Path(__file__).resolve().parents[2]
KAMAILIO_SH = ROOT / "deploy" / "kamailio.sh"
SIPP_DIR = ROOT / "deploy" / "sipp"
HOST = "127.0.0.1"

_taken: set[int] = set()


def _bindable(port: int, kind: int) -> bool:
    with socket.socket(socket.AF_INET, kind) as s:
        try:
            s.bind((HOST, port))
        except OSError:
            return False
    return True


def free_port(span: int = 1) -> int:
    """A port p where p .. p+span-1 are free for UDP and TCP on 127.0.0.1 (and not handed out before)."""
    for _ in range(500):
        port = random.randrange(20000, 32760, 4)   # below the kernel's ephemeral range
        ports = range(port, port + span)
        if any(p in _taken for p in ports):
            continue
        if all(_bindable(p, socket.SOCK_DGRAM) and _bindable(p, socket.SOCK_STREAM) for p in ports):
            _taken.update(ports)
            return port
    raise RuntimeError("no free port found on 127.0.0.1")


@dataclass
class KamailioInstance:
    database_url: str
    rpc_url: str
    sip_port: int
    run_dir: Path
    env: dict

    @property
    def sip_address(self) -> str:
        return f"{HOST}:{self.sip_port}"

    def query(self, statement: str, params=()) -> list[tuple]:
        with psycopg.connect(self.database_url, autocommit=True) as conn:
            return conn.execute(statement, params).fetchall()

    def log(self) -> str:
        path = self.run_dir / "kamailio.log"
        return path.read_text(errors="replace") if path.exists() else ""


@pytest.fixture(scope="session")
def kamailio(tmp_path_factory):
    for tool in ("kamailio", "sipp", "psql", "curl"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed (bash deploy/system-deps.sh installs the call engine's packages)")
    db_name = f"ch_engine_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin_url = f"postgres://postgres@{HOST}:5432/postgres"
    sip_port, rpc_port = free_port(), free_port()
    run_dir = tmp_path_factory.mktemp("kamailio")
    env = dict(os.environ,
               ENGINE_DATABASE_URL=f"postgres://postgres@{HOST}:5432/{db_name}",
               ENGINE_SIP_ADDRESS=f"{HOST}:{sip_port}",
               ENGINE_RPC_URL=f"http://{HOST}:{rpc_port}/RPC",
               KAMAILIO_RUN_DIR=str(run_dir))
    instance = KamailioInstance(env["ENGINE_DATABASE_URL"], env["ENGINE_RPC_URL"], sip_port, run_dir, env)
    started = subprocess.run(["bash", str(KAMAILIO_SH), "start"], env=env, capture_output=True, text=True,
                             timeout=60)
    try:
        if started.returncode != 0:
            pytest.fail(f"deploy/kamailio.sh start failed:\n{started.stdout}\n{started.stderr}\n{instance.log()}")
        yield instance
    finally:
        subprocess.run(["bash", str(KAMAILIO_SH), "stop"], env=env, capture_output=True, timeout=60)
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')


@pytest.fixture
def engine(kamailio, settings):
    """The Kamailio adapter as the push pipeline gets it (settings -> get_engine())."""
    from calling.engine import get_engine

    settings.CALL_ENGINE = "kamailio"
    settings.ENGINE_DATABASE_URL = kamailio.database_url
    settings.ENGINE_RPC_URL = kamailio.rpc_url
    settings.ENGINE_SIP_ADDRESS = kamailio.sip_address
    settings.ENGINE_RELOAD_INTERVAL = 1.2
    adapter = get_engine()
    yield adapter
    org_keys = kamailio.query("SELECT org_key FROM ch_location UNION SELECT org_key FROM ch_line "
                              "UNION SELECT org_key FROM subscriber UNION SELECT org_key FROM dispatcher")
    for (org_key,) in org_keys:
        adapter.remove_organization(org_key)


@dataclass
class SippRun:
    returncode: int
    output: str
    messages: str

    def __str__(self) -> str:
        return f"sipp exit {self.returncode}\n{self.output[-2000:]}\n--- messages ---\n{self.messages[-6000:]}"


class Uas:
    """A background sipp UAS (a phone's or a gateway's SIP port) that answers one call."""

    def __init__(self, process: subprocess.Popen, port: int, log_file: Path, msg_file: Path):
        self.process, self.port, self.log_file, self.msg_file = process, port, log_file, msg_file

    def wait(self, timeout: float = 20) -> SippRun:
        try:
            out, _ = self.process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            out, _ = self.process.communicate()
        return SippRun(self.process.returncode, out or "", _read(self.msg_file))

    @property
    def received(self) -> list[str]:
        """Request-URIs of the INVITEs it got ("INVITE sip:..."), from its -trace_logs log."""
        return [line.split("GOT ", 1)[1].strip() for line in _read(self.log_file).splitlines() if "GOT " in line]


def _udp_listening(port: int) -> bool:
    """Whether something is bound to UDP 127.0.0.1:port (read from /proc: probing by binding would race)."""
    wanted = f"0100007F:{port:04X}"
    with open("/proc/net/udp") as table:
        return any(line.split()[1] == wanted for line in table.readlines()[1:])


def _read(path: Path) -> str:
    return path.read_text(errors="replace") if path.exists() else ""


class Sipp:
    def __init__(self, target: str, workdir: Path):
        self.target, self.workdir = target, workdir
        self.processes: list[subprocess.Popen] = []
        self._n = 0

    def _files(self, name: str) -> tuple[Path, Path]:
        self._n += 1
        stem = self.workdir / f"{self._n:02d}-{name}"
        return stem.with_suffix(".log"), stem.with_suffix(".msg")

    def _base(self, scenario: str, port: int, msg_file: Path) -> list[str]:
        return ["-sf", str(SIPP_DIR / scenario), "-i", HOST, "-p", str(port), "-mp", str(free_port(4)),
                "-m", "1", "-nostdin", "-trace_msg", "-message_file", str(msg_file)]

    def run(self, scenario: str, *, service: str, domain: str | None = None, auth: tuple[str, str] | None = None,
            port: int | None = None, timeout: float = 10, **keys) -> SippRun:
        """Run a UAC scenario against Kamailio and wait for it (exit 0 = it went exactly as written)."""
        log_file, msg_file = self._files(scenario.removesuffix(".xml"))
        cmd = ["sipp", self.target, *self._base(scenario, port or free_port(), msg_file), "-s", service,
               "-timeout", str(int(timeout)), "-timeout_error"]
        if domain:
            keys["domain"] = domain
        for key, value in keys.items():
            cmd += ["-key", key, str(value)]
        if auth:
            cmd += ["-au", auth[0], "-ap", auth[1]]
        done = subprocess.run(cmd, cwd=self.workdir, capture_output=True, text=True, timeout=timeout + 10)
        return SippRun(done.returncode, done.stdout + done.stderr, _read(msg_file))

    free_port = staticmethod(free_port)

    def uas(self, scenario: str = "uas.xml", port: int | None = None, timeout: float = 20) -> Uas:
        """Start a UAS on `port` (free if omitted); returns once it listens."""
        port = port or free_port()
        log_file, msg_file = self._files(f"{scenario.removesuffix('.xml')}-{port}")
        cmd = ["sipp", *self._base(scenario, port, msg_file), "-timeout", str(int(timeout)), "-trace_logs",
               "-log_file", str(log_file)]
        process = subprocess.Popen(cmd, cwd=self.workdir, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.processes.append(process)
        deadline = time.monotonic() + 5
        while not _udp_listening(port):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"sipp UAS on {port} did not start: {process.communicate()[0]}")
            time.sleep(0.02)
        return Uas(process, port, log_file, msg_file)

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()


@pytest.fixture
def sipp(kamailio, tmp_path):
    runner = Sipp(kamailio.sip_address, tmp_path)
    yield runner
    runner.stop()
