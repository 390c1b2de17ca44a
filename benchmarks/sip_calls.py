"""SIP call rate: our routing script (deploy/kamailio.cfg) vs a bare stateful proxy, with sipp, in one run.

    .venv/bin/python benchmarks/sip_calls.py [--lines 100] [--step-seconds 5] [--no-gateway]
    .venv/bin/python benchmarks/sip_calls.py --rate 400 --calls 4000     # one fixed-rate run per variant

1. Creates a private engine database and starts Kamailios through deploy/kamailio.sh on free ports of 127.0.0.1,
   one per variant: the real deploy/kamailio.cfg (twice: on-net and off-net calls), and
   benchmarks/kamailio-bare.cfg (record-route + t_relay to the Request-URI: no auth, no database). Same start
   script, process options, shared memory and worker count.
2. Renders an organisation with `calling.engine.render.render()` (one US location with routing prefix and outside
   dial digit 9; N caller and N callee lines, one device appearance each; a registering trunk as the location's
   PSTN connection) and pushes it with the Kamailio adapter, as the push pipeline does. One sipp UAS registers all
   N callee lines (deploy/sipp/register_bench.xml), another registers as the trunk (the gateway).
3. A sipp UAC calls, caller i -> callee i: INVITE (ours: -> 407 -> ACK -> INVITE with digest) -> 180 -> 200 ->
   ACK -> `--hold-ms` -> BYE -> 200, at a fixed rate (-r; -m = rate x --step-seconds). Variants:
     ours       dials the callee's extension: digest auth, caller and route lookups (SQL), location lookup
     bare       the same call to a UAS through the bare proxy
     ours-gw    dials a national number in local format (9 + 10 digits): dial plan, off-net, the registered
                trunk's contact (a sipp UAS as the gateway);  --no-gateway skips it
4. Ramp (default): each variant's rate doubles from --start-rate until a step fails, then is bisected down to
   --resolution; the variants alternate step by step so a busy neighbour on a shared host hurts all alike. A step
   passes when all its calls succeeded (0 failed: sipp's FailedCall plus calls unfinished at the end) and were
   placed at >= 95 % of the target rate (sipp holds new calls back while too many are open), with
   retransmissions for at most 1 % of them (a lost or late message: overload). A failing step is stopped early
   (first failed call, or too many retransmissions), and its Kamailio and UAS are restarted (registrations
   survive: usrloc writes through to the database), because the transactions it leaves behind hold Kamailio's
   shared memory for up to 30 s (fr_inv_timer). Each step starts once its Kamailio holds no transaction: tm
   keeps each one 5 s after it ends, so a step must last about that long (default 5 s) to reach its steady
   state. With --rate, each variant runs once at that rate (--calls calls) and the figures are printed as they are.
5. Prints per step: calls attempted, succeeded, failed, calls/s (succeeded per second of placing them),
   retransmissions, mean setup time (call start to 200 OK, whole ms), Kamailio CPU ms per call (plus the engine
   database backends' for ours) and the most of Kamailio's shared memory in use (the pool is kamailio.sh's -m;
   transactions live there); then the maximum sustained rates, CPU per call, the shared-memory peaks, and the
   ratio ours/bare against the goal (>= 0.7x, 0 failed calls).

sipp, the Kamailios and PostgreSQL share the host's cores, so on a small or busy host the ratio of rates says
less than the CPU per call. Everything listens on 127.0.0.1 only; Kamailios and sipps are stopped and the private
database dropped at the end, also on Ctrl-C or an error. Needs kamailio, kamailio-postgres-modules, sipp
(sip-tester), psql, curl: bash deploy/system-deps.sh.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402

from calling.engine.kamailio import KamailioEngine  # noqa: E402
from calling.engine.render import (  # noqa: E402
    AppearanceInfo,
    DesiredState,
    LineInfo,
    LocationInfo,
    TrunkInfo,
    dialplan_rules,
    render,
    translate,
)

KAMAILIO_SH = ROOT / "deploy" / "kamailio.sh"
OURS_CFG = ROOT / "deploy" / "kamailio.cfg"
BARE_CFG = ROOT / "benchmarks" / "kamailio-bare.cfg"
SIPP_DIR = ROOT / "deploy" / "sipp"
HOST = "127.0.0.1"
PG = os.environ.get("BENCH_POSTGRES", "postgres://postgres@127.0.0.1:5432")
GOAL = 0.7
CLK_TCK = os.sysconf("SC_CLK_TCK")

_taken: set[int] = set()


def free_port(span: int = 1) -> int:
    """A port p where p .. p+span-1 are free for UDP and TCP on 127.0.0.1 (sipp's RTP takes -mp and -mp+2)."""
    def bindable(port: int, kind: int) -> bool:
        with socket.socket(socket.AF_INET, kind) as s:
            try:
                s.bind((HOST, port))
            except OSError:
                return False
        return True

    for _ in range(500):
        port = random.randrange(20000, 32760, 4)   # below the kernel's ephemeral range
        ports = range(port, port + span)
        if not _taken.intersection(ports) and all(bindable(p, k) for p in ports
                                                  for k in (socket.SOCK_DGRAM, socket.SOCK_STREAM)):
            _taken.update(ports)
            return port
    raise RuntimeError("no free port on 127.0.0.1")


def udp_listening(port: int) -> bool:
    wanted = f"0100007F:{port:04X}"
    with open("/proc/net/udp") as table:
        return any(line.split()[1] == wanted for line in table.readlines()[1:])


def _stat(pid: int) -> tuple[int, int] | None:
    """(utime + stime ticks, process group) of a process, None when it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return int(fields[11]) + int(fields[12]), int(fields[2])


def cpu_seconds(pids: list[int]) -> float:
    return sum((_stat(pid) or (0, 0))[0] for pid in pids) / CLK_TCK


# --------------------------------------------------------------------------------------------- processes


class Kamailio:
    """One Kamailio started by deploy/kamailio.sh (its cfg, ports and run dir), with what the benchmark reads."""

    def __init__(self, name: str, cfg: Path, database_url: str, workdir: Path):
        self.name, self.sip_port, self.rpc_port = name, free_port(), free_port()
        self.db_name = database_url.rsplit("/", 1)[1]
        self.run_dir = workdir / f"kamailio-{name}"
        self.env = dict(os.environ, ENGINE_DATABASE_URL=database_url, ENGINE_SIP_ADDRESS=f"{HOST}:{self.sip_port}",
                        ENGINE_RPC_URL=self.rpc_url, KAMAILIO_RUN_DIR=str(self.run_dir), KAMAILIO_CFG=str(cfg))
        self.started = False
        self.shm_peak = self.shm_total = 0.0
        self.restarts = 0

    @property
    def rpc_url(self) -> str:
        return f"http://{HOST}:{self.rpc_port}/RPC"

    def _script(self, action: str) -> None:
        done = subprocess.run(["bash", str(KAMAILIO_SH), action], env=self.env, capture_output=True, text=True,
                              timeout=90)
        if done.returncode != 0:
            raise RuntimeError(f"kamailio.sh {action} ({self.name}) failed:\n{done.stdout}{done.stderr}")

    def start(self) -> None:
        self.started = True
        self._script("start")

    def stop(self) -> None:
        if self.started:
            self.note_shm()
            self._script("stop")
            self.started = False

    def restart(self) -> None:
        self.stop()
        self.start()
        self.restarts += 1

    def rpc(self, method: str, *params):
        body = json.dumps({"jsonrpc": "2.0", "method": method, "params": list(params), "id": 1}).encode()
        request = urllib.request.Request(self.rpc_url, data=body, headers={"Content-Type": "application/json"})
        with urllib.request.build_opener(urllib.request.ProxyHandler({})).open(request, timeout=5) as response:
            return json.loads(response.read())["result"]

    def note_shm(self) -> float:
        """Shared memory in use now, MB; keeps the pool's peak (transactions, usrloc, dial plans) across restarts."""
        try:
            result = self.rpc("core.shmmem", "m")
        except OSError:
            return 0.0
        self.shm_peak = max(self.shm_peak, float(result["max_used"]))
        self.shm_total = float(result["total"])
        return float(result["real_used"])

    def drain(self, timeout: float = 10) -> None:
        """Wait until tm holds no transaction (each is kept 5 s after it ends), so the next step starts clean."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and int(self.rpc("tm.stats").get("current", 0)) > 0:
            time.sleep(0.2)

    def pids(self) -> list[int]:
        """The main process and its children (kamailio.sh starts it with setsid: its own process group)."""
        try:
            main = int((self.run_dir / "kamailio.pid").read_text())
        except (OSError, ValueError):
            return []
        return [pid for pid in map(int, filter(str.isdigit, os.listdir("/proc"))) if (_stat(pid) or (0, 0))[1] == main]

    def db_backends(self) -> list[int]:
        """PostgreSQL backends of the engine database: auth_db, sqlops and usrloc connections of both Kamailios
        running our cfg (only the one under test has traffic during a step)."""
        with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
            return [pid for (pid,) in conn.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s",
                                                   (self.db_name,))]

    def log_tail(self, lines: int = 20) -> str:
        path = self.run_dir / "kamailio.log"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""


def read_stats(path: Path) -> dict[str, str] | None:
    """The last complete row of a sipp statistics CSV (-trace_stat: one row per -fd period and one at exit)."""
    try:
        lines = path.read_text(errors="replace").splitlines()
    except OSError:
        return None
    if len(lines) < 2:
        return None
    header = lines[0].split(";")
    for line in reversed(lines[1:]):
        values = line.split(";")
        if len(values) >= len(header) - 1:
            return dict(zip(header, values, strict=False))
    return None


def placing_time(path: Path, created: int) -> float | None:
    """Seconds from the start of a sipp run until its statistics first show all `created` calls placed."""
    try:
        lines = path.read_text(errors="replace").splitlines()
    except OSError:
        return None
    header = lines[0].split(";") if lines else []
    if "TotalCallCreated" not in header:
        return None
    column, start, now = header.index("TotalCallCreated"), header.index("StartTime"), header.index("CurrentTime")
    for line in lines[1:]:
        values = line.split(";")
        if len(values) > column and values[column].isdigit() and int(values[column]) >= created:
            return epoch(values[now]) - epoch(values[start])
    return None


def epoch(value: str) -> float:
    """sipp's "date<TAB>time<TAB>epoch" timestamp -> epoch seconds."""
    return float(value.split("\t")[-1])


def duration(value: str) -> float:
    """sipp's HH:MM:SS:uuuuuu (averages, filled in whole milliseconds) or HH:MM:SS -> seconds."""
    parts = value.strip().split(":")
    if len(parts) == 4:
        h, m, s, us = (int(p) for p in parts)
        return h * 3600 + m * 60 + s + us / 1e6
    h, m, s = parts
    return int(h) * 3600 + int(m) * 60 + float(s)


class Uas:
    """A background sipp UAS answering every call it gets (uas_bench.xml) on a fixed port."""

    def __init__(self, name: str, workdir: Path):
        self.name, self.workdir, self.port = name, workdir, free_port()
        self.process: subprocess.Popen | None = None
        self.start()

    def start(self) -> None:
        cmd = ["sipp", "-sf", str(SIPP_DIR / "uas_bench.xml"), "-i", HOST, "-p", str(self.port),
               "-mp", str(free_port(4)), "-nostdin", "-recv_timeout", "10000",
               "-max_recv_loops", "10000", "-max_sched_loops", "10000",
               "-trace_err", "-error_file", str(self.workdir / f"uas-{self.name}-errors.log")]
        # its own session: Ctrl-C reaches only us, and we stop it ourselves
        self.process = subprocess.Popen(cmd, cwd=self.workdir, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + 5
        while not udp_listening(self.port):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"sipp UAS ({self.name}) on port {self.port} did not start")
            time.sleep(0.02)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        deadline = time.monotonic() + 5
        while udp_listening(self.port) and time.monotonic() < deadline:
            time.sleep(0.02)

    def restart(self) -> None:
        """A fresh UAS on the same port (the registered contacts stay valid), without the last step's calls."""
        self.stop()
        self.start()


# --------------------------------------------------------------------------------------------- engine data


class StateEngine(KamailioEngine):
    """The Kamailio adapter pushing a state rendered here (render() is pure) instead of controlhub's database."""

    def __init__(self, state: DesiredState, database_url: str, rpc_url: str):
        super().__init__(database_url, rpc_url, reload_interval=1.0)
        self.state = state

    def desired_state(self, organization_id) -> DesiredState:
        return self.state


@dataclass
class Org:
    state: DesiredState
    callers: list[tuple[str, str, str]]            # (line sip_user, auth ID, password)
    callees: list[tuple[str, str, str, str]]       # (line sip_user, auth ID, password, extension)
    trunk: tuple[str, str]                         # (SIP user = auth ID, password)
    offnet: list[str]                              # national numbers in local format, off-net


def build_org(lines: int) -> Org:
    """An organisation's desired engine state through render(), with keyword arguments only (new render()
    parameters have defaults, so this keeps working as the dial plan grows)."""
    tag = secrets.token_hex(3)
    loc = "bench-loc"
    location = LocationInfo(key=loc, country="US", routing_prefix="81", outside_dial_digit="9")
    callers = [(f"c{i:05d}{tag}", f"ca{i:05d}{tag}", secrets.token_hex(8)) for i in range(lines)]
    callees = [(f"d{i:05d}{tag}", f"da{i:05d}{tag}", secrets.token_hex(8), str(20000 + i)) for i in range(lines)]
    line_infos = [LineInfo(sip_user=u, location_key=loc, extension=str(10000 + i))
                  for i, (u, _, _) in enumerate(callers)]
    line_infos += [LineInfo(sip_user=u, location_key=loc, extension=ext, e164=f"+1408556{i % 10000:04d}")
                   for i, (u, _, _, ext) in enumerate(callees)]
    appearances = [AppearanceInfo(auth_id=a, password=p, line_user=u) for u, a, p in callers]
    appearances += [AppearanceInfo(auth_id=a, password=p, line_user=u) for u, a, p, _ in callees]
    trunk = (f"gw_{tag}", secrets.token_hex(8))
    trunks = [TrunkInfo(key="bench-trunk", location_key=loc, registering=True, sip_username=trunk[0],
                        password=trunk[1])]
    state = render(org_key=f"bench-{tag}", domain=f"bench-{tag}.calls.test", locations=[location],
                   lines=line_infos, appearances=appearances, trunks=trunks, connections={loc: ["bench-trunk"]})
    offnet = [f"9408555{i % 10000:04d}" for i in range(lines)]
    if translate(dialplan_rules("US", "9"), offnet[0]) != "+14085550000":
        raise RuntimeError("the US dial plan no longer reads 9 + 10 digits as a national number")
    return Org(state, callers, callees, trunk, offnet)


def auth(auth_id: str, password: str) -> str:
    """An injection field with a call's digest credentials: sipp 3.6 takes per-call credentials only as a whole
    injected [authentication] keyword (a [fieldN] inside the keyword is not expanded)."""
    return f"[authentication username={auth_id} password={password}]"


def inject(path: Path, rows: list[tuple]) -> Path:
    path.write_text("SEQUENTIAL\n" + "".join(";".join(map(str, row)) + "\n" for row in rows))
    return path


# --------------------------------------------------------------------------------------------- sipp runs


@dataclass
class Step:
    variant: str
    rate: int
    requested: int
    created: int = 0
    successful: int = 0
    failed: int = 0
    retransmissions: int = 0
    placing: float = 0.0            # seconds from the first call placed to the last (0.1 s statistics rows)
    setup_ms: float = 0.0
    kamailio_cpu: float = 0.0       # seconds
    db_cpu: float = 0.0             # seconds, engine database backends
    shm_mb: float = 0.0             # the most of Kamailio's shared memory in use during the step
    aborted: bool = False           # stopped early (ramp)
    open_calls: int = 0             # calls still open when it was stopped early
    errors: str = ""

    @property
    def cps(self) -> float:
        """Successful calls per second of placing them: below the target rate when sipp had to hold calls back
        (it caps open calls) or lost some."""
        return self.successful / self.placing if self.placing > 0 else 0.0

    @property
    def passed(self) -> bool:
        # a retransmission is a message lost or answered after 500 ms: a few are noise on a shared host, more
        # mean the step only got through by retrying (seconds of setup time), which is not a sustained rate
        return (self.created == self.requested and self.failed == 0 and self.cps >= 0.95 * self.rate
                and self.retransmissions <= 0.01 * self.requested)

    def row(self) -> str:
        per_call = 1000 / max(1, self.successful)
        db = f"{self.db_cpu * per_call:7.2f}" if self.variant != "bare" else "      -"
        verdict = "ok" if self.passed else "FAIL"
        if self.aborted:
            verdict += f" (stopped early, {self.open_calls} calls open then)"
        return (f"{self.variant:<8} {self.rate:>6} {self.created:>9} {self.successful:>9} {self.failed:>7} "
                f"{self.cps:>8.0f} {self.retransmissions:>8} {self.setup_ms:>8.0f} "
                f"{self.kamailio_cpu * per_call:>8.2f} {db} {self.shm_mb:>6.0f}  {verdict}")


HEADER = (f"{'variant':<8} {'rate':>6} {'attempted':>9} {'succeeded':>9} {'failed':>7} {'calls/s':>8} "
          f"{'retrans':>8} {'setup ms':>8} {'kam ms/c':>8} {'db ms/c':>7} {'shm MB':>6}  step")


@dataclass
class Variant:
    name: str
    scenario: str
    kamailio: Kamailio
    uas: Uas
    keys: dict[str, str]
    inject: Path
    steps: list[Step] = field(default_factory=list)

    def cpu_per_call(self) -> tuple[float, float]:
        """Kamailio and engine database CPU milliseconds per call over the steps that passed."""
        steps = [s for s in self.steps if s.passed]
        calls = sum(s.successful for s in steps) or 1
        return (1000 * sum(s.kamailio_cpu for s in steps) / calls, 1000 * sum(s.db_cpu for s in steps) / calls)

    def recover(self) -> None:
        """After a failed step: a fresh Kamailio and UAS rather than waiting out the leftover transactions."""
        self.kamailio.restart()
        self.uas.restart()


def run_step(variant: Variant, rate: int, calls: int, hold_ms: int, workdir: Path, *, trace: bool = False,
             stop_at_failure: bool = False) -> Step:
    """One sipp UAC run: `calls` calls at `rate` calls/s through the variant's Kamailio; its statistics.
    `stop_at_failure` ends the run at its first failed call, or once retransmissions rule out a pass (an
    overloaded step only gets worse)."""
    variant.kamailio.drain()
    stem = workdir / f"{variant.name}-r{rate}-{time.monotonic_ns()}"
    stats = stem.with_suffix(".csv")
    cmd = ["sipp", f"{HOST}:{variant.kamailio.sip_port}", "-sf", str(SIPP_DIR / variant.scenario),
           "-inf", str(variant.inject), "-i", HOST, "-p", str(free_port()), "-mp", str(free_port(4)),
           "-r", str(rate), "-m", str(calls), "-d", str(hold_ms), "-nostdin", "-recv_timeout", "8000",
           "-trace_stat", "-stf", str(stats), "-fd", "100ms", "-trace_err", "-error_file", f"{stem}-errors.log",
           "-max_recv_loops", "10000", "-max_sched_loops", "10000",
           # Kamailio's workers relay the callee's 180 and 200 in parallel, so now and then a 180 arrives after
           # the 200 (both proxies, ~1 in 1000 calls): a phone ignores it, sipp would abort the call. With this,
           # an unexpected message is skipped instead - a call still only succeeds when it runs to its end.
           "-default_behaviors", "all,-abortunexp"]
    for key, value in variant.keys.items():
        cmd += ["-key", key, value]
    if trace:
        cmd += ["-trace_msg", "-message_file", f"{stem}-messages.log"]
    kam_pids = variant.kamailio.pids()
    db_pids = variant.kamailio.db_backends() if variant.name != "bare" else []
    before = cpu_seconds(kam_pids), cpu_seconds(db_pids)
    step = Step(variant.name, rate, calls)
    stderr = Path(f"{stem}-stderr.log")
    with stderr.open("w") as err:   # a file, not a pipe: nobody reads while it runs
        process = subprocess.Popen(cmd, cwd=workdir, stdout=subprocess.DEVNULL, stderr=err, start_new_session=True)
    try:
        deadline = time.monotonic() + calls / rate * 3 + 30
        while process.poll() is None:
            time.sleep(0.25)
            step.shm_mb = max(step.shm_mb, variant.kamailio.note_shm())
            row = read_stats(stats) or {}
            if stop_at_failure and (int(row.get("FailedCall(C)") or 0)
                                    or int(row.get("Retransmissions(C)") or 0) > 0.01 * calls):
                step.aborted = True
                break
            if time.monotonic() > deadline:
                break
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
    step.kamailio_cpu = cpu_seconds(kam_pids) - before[0]
    step.db_cpu = cpu_seconds(db_pids) - before[1]
    variant.steps.append(step)
    last = read_stats(stats)
    if not last:
        step.failed = calls
        step.errors = stderr.read_text(errors="replace")[-2000:] or "sipp wrote no statistics"
        return step
    step.created = int(last["TotalCallCreated"])
    step.successful = int(last["SuccessfulCall(C)"])
    # failed: sipp's failed calls, plus calls still open at the end unless the ramp stopped the step early
    step.failed = int(last["FailedCall(C)"])
    if step.aborted:
        step.open_calls = step.created - step.successful - step.failed
    else:
        step.failed = step.created - step.successful
    step.retransmissions = int(last["Retransmissions(C)"])
    step.placing = placing_time(stats, step.created) or (epoch(last["CurrentTime"]) - epoch(last["StartTime"]))
    step.setup_ms = duration(last["ResponseTime1(C)"]) * 1000
    if step.failed:
        for suffix in ("-errors.log", "-messages.log"):
            path = Path(f"{stem}{suffix}")
            if path.exists() and path.stat().st_size:
                step.errors += f"--- {path.name}\n" + path.read_text(errors="replace")[-3000:]
    return step


def ramp(variants: list[Variant], args, workdir: Path) -> dict[str, Step | None]:
    """Per variant: double the rate until a step fails, then bisect to --resolution. Variants alternate."""
    best: dict[str, Step | None] = {v.name: None for v in variants}
    failed_at: dict[str, int | None] = {v.name: None for v in variants}
    done: set[str] = set()
    while len(done) < len(variants):
        for variant in variants:
            name = variant.name
            if name in done:
                continue
            low = best[name].rate if best[name] else 0
            high = failed_at[name]
            if high is None:
                rate = args.start_rate if low == 0 else min(low * 2, args.max_rate)
            else:
                rate = max(5, round((low + high) / 2 / 5) * 5)
            step = run_step(variant, rate, max(1, round(rate * args.step_seconds)), args.hold_ms, workdir,
                            stop_at_failure=True)
            print(step.row(), flush=True)
            if step.passed:
                best[name] = step
                low = rate
            else:
                failed_at[name] = high = rate
                variant.recover()
            if (high is None and low >= args.max_rate) or \
                    (high is not None and (high - low <= max(5, args.resolution * low) or high <= 5)):
                done.add(name)
    return best


# --------------------------------------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lines", type=int, default=100, help="caller lines and callee lines (each)")
    parser.add_argument("--rate", type=int, help="one fixed-rate run per variant at this many calls/s (no ramp)")
    parser.add_argument("--calls", type=int, help="calls in the fixed-rate run (default: rate x step seconds)")
    parser.add_argument("--start-rate", type=int, default=200, help="ramp: first rate, calls/s")
    parser.add_argument("--max-rate", type=int, default=3200, help="ramp: stop doubling here")
    parser.add_argument("--step-seconds", type=float, default=5, help="seconds of calls per step")
    parser.add_argument("--resolution", type=float, default=0.25,
                        help="ramp: stop bisecting when the failing rate is within this fraction of the passing one")
    parser.add_argument("--hold-ms", type=int, default=100, help="talk time between ACK and BYE")
    parser.add_argument("--no-gateway", action="store_true", help="skip the off-net variant (ours-gw)")
    parser.add_argument("--ours-cfg", type=Path, default=OURS_CFG,
                        help="routing script for 'ours' (to measure a changed copy; default deploy/kamailio.cfg)")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (sipp logs, statistics, Kamailio logs)")
    args = parser.parse_args()
    for tool in ("kamailio", "sipp", "psql", "curl"):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} is not installed (bash deploy/system-deps.sh)")

    # SIGTERM unwinds like Ctrl-C, so the finally below stops everything either way
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    workdir = Path(tempfile.mkdtemp(prefix="sip-calls-"))
    db_name = f"ch_engine_bench_{os.getpid()}_{secrets.token_hex(3)}"
    database_url = f"{PG}/{db_name}"
    ours = Kamailio("ours", args.ours_cfg.resolve(), database_url, workdir)
    bare = Kamailio("bare", BARE_CFG, database_url, workdir)
    # the off-net variant gets a Kamailio of its own (same cfg and database), so the variants never share
    # transactions or shared memory, and each one's restart after a failed step leaves the others alone
    ours_gw = Kamailio("ours-gw", args.ours_cfg.resolve(), database_url, workdir)
    kamailios = [ours, bare, ours_gw]
    uases: list[Uas] = []
    started = time.monotonic()
    try:
        ours.start()
        bare.start()
        org = build_org(args.lines)
        push = StateEngine(org.state, database_url, ours.rpc_url).push_organization(org.state.org_key)
        if not push.ok:
            raise RuntimeError(f"push failed: {push.message}")

        # one answering sipp per variant, so one variant's backlog never delays another's calls
        for name in ("callees", "gateway", "bare"):
            uases.append(Uas(name, workdir))
        callees, gateway, bare_uas = uases
        register = inject(workdir / "register.csv", [(u, auth(a, p), callees.port) for u, a, p, _ in org.callees]
                          + [(org.trunk[0], auth(*org.trunk), gateway.port)])
        t0 = time.monotonic()
        registered = subprocess.run(
            ["sipp", f"{HOST}:{ours.sip_port}", "-sf", str(SIPP_DIR / "register_bench.xml"), "-inf", str(register),
             "-i", HOST, "-p", str(free_port()), "-mp", str(free_port(4)), "-r", "200", "-m",
             str(len(org.callees) + 1), "-nostdin", "-timeout", "60s", "-timeout_error", "-key", "domain",
             org.state.domain, "-trace_err", "-error_file", str(workdir / "register-errors.log")],
            cwd=workdir, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, timeout=90)
        with psycopg.connect(database_url, autocommit=True) as conn:
            bindings = conn.execute("SELECT count(*) FROM location").fetchone()[0]
        if registered.returncode != 0 or bindings != len(org.callees) + 1:
            raise RuntimeError(f"registration failed (sipp exit {registered.returncode}, {bindings} bindings): "
                               f"{registered.stderr[-1000:]}")
        print(f"sip calls: {args.lines} caller + {args.lines} callee lines, {len(org.state.routes)} routes; "
              f"push {push.changed} rows (reload: {push.reload}); {bindings} registrations in "
              f"{time.monotonic() - t0:.1f}s; talk time {args.hold_ms} ms; {os.cpu_count()} cores shared by "
              f"sipp, the Kamailios and PostgreSQL (and whatever else runs on this host)")
        if args.ours_cfg.resolve() != OURS_CFG.resolve():
            print(f"NB: ours runs {args.ours_cfg}, not deploy/kamailio.cfg")

        rows = [(u, auth(a, p), callee[3]) for (u, a, p), callee in zip(org.callers, org.callees, strict=True)]
        callers = inject(workdir / "callers.csv", rows)
        offnet = inject(workdir / "callers-offnet.csv",
                        [(u, auth(a, p), number) for (u, a, p), number in zip(org.callers, org.offnet, strict=True)])
        domain = {"domain": org.state.domain}
        variants = [Variant("ours", "uac_bench.xml", ours, callees, domain, callers),
                    Variant("bare", "uac_bench_bare.xml", bare, bare_uas,
                            {**domain, "target": f"{HOST}:{bare_uas.port}"}, callers)]
        if not args.no_gateway:
            ours_gw.start()   # after the push and the registrations: it loads both from the database
            variants.append(Variant("ours-gw", "uac_bench.xml", ours_gw, gateway, domain, offnet))

        # smoke: a few calls each, traced; a failure here is a setup problem, not a capacity limit
        for variant in variants:
            step = run_step(variant, 5, 5, args.hold_ms, workdir, trace=True)
            variant.steps.clear()
            if step.failed:
                raise RuntimeError(f"{variant.name}: calls fail at 5 calls/s\n{step.errors}\n"
                                   f"{variant.kamailio.log_tail()}")

        print(HEADER)
        if args.rate:
            calls = args.calls or round(args.rate * args.step_seconds)
            results = {}
            for variant in variants:
                results[variant.name] = step = run_step(variant, args.rate, calls, args.hold_ms, workdir)
                print(step.row(), flush=True)
                if step.failed:
                    variant.recover()
            figure = {name: s.cps for name, s in results.items()}
            clean = all(s.failed == 0 for s in results.values())
            summary = f"calls/s at a {args.rate} calls/s target, {calls} calls each"
        else:
            best = ramp(variants, args, workdir)
            print()
            for name, step in best.items():
                if step is None:
                    print(f"{name:<8} no step passed (lowest tried: {args.start_rate} calls/s and below)")
                else:
                    print(f"{name:<8} max sustained: {step.rate} calls/s with 0 failed calls ({step.successful} "
                          f"calls placed in {step.placing:.1f}s, setup {step.setup_ms:.0f} ms)")
            figure = {name: (s.rate if s else 0) for name, s in best.items()}
            clean = True   # a sustained rate is one without failed calls
            summary = "max sustained call rate with 0 failed calls"
        cpu = {v.name: v.cpu_per_call() for v in variants}
        for name, (kam, db) in cpu.items():
            extra = f" + engine database {db:.2f} ms" if name != "bare" else ""
            print(f"{name:<8} CPU per call (steps that passed): Kamailio {kam:.2f} ms{extra}")
        running = [v.kamailio for v in variants]
        for kamailio in running:
            kamailio.note_shm()
        print(f"Kamailio shared memory peak (pool: kamailio.sh -m {ours.shm_total:.0f} MB): "
              + ", ".join(f"{k.name} {k.shm_peak:.0f} MB" for k in running)
              + "; restarts after a failed step: " + ", ".join(f"{k.name} {k.restarts}" for k in running))
        for name in [v.name for v in variants if v.name != "bare"]:
            ratio = figure[name] / figure["bare"] if figure["bare"] else 0.0
            met = ratio >= GOAL and clean
            cpu_ratio = cpu["bare"][0] / sum(cpu[name]) if sum(cpu[name]) else 0.0
            print(f"ratio {name}/bare ({summary}): {ratio:.2f}  (goal >= {GOAL}x with 0 failed calls: "
                  f"{'met' if met else 'NOT met'});  CPU per call bare/{name}: {cpu_ratio:.2f}")
        print(f"total {time.monotonic() - started:.0f}s")
    finally:
        for uas in uases:
            uas.stop()
        for kamailio in kamailios:
            try:
                kamailio.stop()
            except (RuntimeError, subprocess.TimeoutExpired) as exc:
                print(f"could not stop kamailio ({kamailio.name}): {exc}", file=sys.stderr)
        try:
            with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')
        except psycopg.Error as exc:
            print(f"could not drop {db_name}: {exc}", file=sys.stderr)
        if args.keep:
            print(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
