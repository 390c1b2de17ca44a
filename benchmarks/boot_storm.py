"""Boot storm: N MPP phones fetch their device files at once, from our provisioning server and from nginx.

    .venv/bin/python benchmarks/boot_storm.py [--phones 10000] [--connections 1000] [--duration 10]

1. Starts `python -m devices.provisioning.server` on a fresh store (temp dir) and pushes N device files (each
   ~3 KB, its own MAC, credentials and User-Agent model) through its push API, as the workers do.
2. Starts nginx (a non-daemon child, config in the temp dir) on another port, serving the store's `files/`
   directory statically: the same bytes at the same paths, with `open_file_cache` so it runs at its best.
3. Drives both with wrk (one thread, Lua script cycling through the N phones: each request has that phone's path,
   `User-Agent: Cisco-CP-<model>-3PCC/<fw> (<mac>)` and Basic credentials), `--connections` concurrent
   connections for `--duration` seconds; once with keep-alive and once with a new TCP connection per fetch
   (`Connection: close`, as a booting phone does). Our server checks UA, path and credentials on every request;
   nginx checks nothing.
4. Prints req/s, p50, p99 and errors for both (median of `--rounds` alternating runs, so a busy neighbour on a
   shared host hurts both alike), and our/nginx ratio (goal >= 0.5).

Both servers get the same number of worker processes (`--server-workers`, default: cores - 1, leaving one core
for wrk on the same host). Needs `nginx` and `wrk` (installed with apt-get when missing and running as root).
Everything listens on 127.0.0.1 only; all child processes are stopped at the end.
"""
from __future__ import annotations

import argparse
import base64
import json
import os
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from http.client import HTTPConnection
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MODELS = ["6841", "6851", "7811", "7821", "7841", "7861", "8811", "8841", "8851", "8861"]

LUA = r"""
local phones = {}
local counter = 0
local close = %(close)s

function init(args)
  for line in io.lines("%(phones)s") do
    local path, agent, auth = line:match("^(%%S+)\t([^\t]+)\t(.+)$")
    phones[#phones + 1] = {path, agent, auth}
  end
  counter = math.random(#phones)
end

function request()
  counter = counter %% #phones + 1
  local p = phones[counter]
  local headers = {["User-Agent"] = p[2], ["Authorization"] = p[3]}
  if close then headers["Connection"] = "close" end
  return wrk.format("GET", p[1], headers)
end

function done(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format("RESULT {\"requests\": %%d, \"duration_us\": %%d, \"p50_us\": %%d, \"p99_us\": %%d, " ..
    "\"connect_errors\": %%d, \"read_errors\": %%d, \"status_errors\": %%d, \"timeouts\": %%d}\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    errors.connect, errors.read, errors.status, errors.timeout))
end
"""

NGINX_CONF = """
%(user)s
worker_processes %(workers)d;
worker_rlimit_nofile 65535;
daemon off;
master_process on;
pid %(tmp)s/nginx.pid;
error_log %(tmp)s/nginx-error.log warn;
events { worker_connections 16384; multi_accept on; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 1000000;
  etag on;
  open_file_cache max=%(files)d inactive=60s;
  open_file_cache_valid 60s;
  types { application/xml xml; }
  default_type application/octet-stream;
  client_body_temp_path %(tmp)s/body;
  proxy_temp_path %(tmp)s/proxy;
  fastcgi_temp_path %(tmp)s/fastcgi;
  uwsgi_temp_path %(tmp)s/uwsgi;
  scgi_temp_path %(tmp)s/scgi;
  server {
    listen 127.0.0.1:%(port)d reuseport backlog=4096;
    root %(root)s;
  }
}
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ensure_tools() -> None:
    missing = [pkg for tool, pkg in (("nginx", "nginx-light"), ("wrk", "wrk")) if not shutil.which(tool)]
    if not missing:
        return
    if os.geteuid() != 0:
        sys.exit(f"missing: {' '.join(missing)} (apt-get install {' '.join(missing)})")
    print(f"installing {' '.join(missing)} …", flush=True)
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", *missing], check=True, env=env,
                   stdout=subprocess.DEVNULL)


def device_file(mac: str, model: str, n: int) -> str:
    """A device file the size and shape of a rendered one (devices/provisioning/mpp.py), unique per phone."""
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', "<flat-profile>"]
    common = {"Provision_Enable": "Yes", "Resync_On_Reset": "Yes", "Resync_Periodic": "3600",
              "Resync_Random_Delay": "600", "Resync_From_SIP": "Yes", "Station_Display_Name": f"Phone {n}",
              "Time_Zone": "GMT-08:00", "Daylight_Saving_Time_Enable": "Yes",
              "Daylight_Saving_Time_Rule": "start=3/8/7/02:00:00;end=11/1/7/02:00:00;save=1:00:00",
              "Primary_NTP_Server": "0.pool.ntp.org", "Secondary_NTP_Server": "1.pool.ntp.org"}
    for name, value in common.items():
        lines.append(f'  <{name} ua="na">{value}</{name}>')
    for port in range(1, 5):
        active = port == 1
        for name, value in (("Line_Enable", "Yes" if active else "No"), ("Share_Ext", "private"),
                            ("Proxy", "org1.calls.test" if active else ""), ("Register", "Yes" if active else "No"),
                            ("Display_Name", f"Phone {n}" if active else ""),
                            ("User_ID", uuid.uuid4().hex[:16] if active else ""),
                            ("Auth_ID", uuid.uuid4().hex[:16] if active else ""),
                            ("Use_Auth_ID", "Yes" if active else "No"),
                            ("Password", uuid.uuid4().hex if active else ""), ("DTMF_Tx_Method", "Auto")):
            lines.append(f'  <{name}_{port}_ ua="na">{value}</{name}_{port}_>')
        lines.append(f'  <Extension_{port}_ ua="na">{port if active else "Disabled"}</Extension_{port}_>')
    lines.append(f"  <!-- {mac} -->")
    lines.append("</flat-profile>")
    return "\n".join(lines) + "\n"


def wait_for(url: str, process: subprocess.Popen, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url}: process exited with {process.returncode}")
        try:
            urllib.request.urlopen(url, timeout=1).close()
            return
        except urllib.error.HTTPError:
            return  # it answers
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within {timeout}s")


def stop(process: subprocess.Popen | None) -> None:
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def run_wrk(url: str, script: Path, connections: int, duration: int) -> dict:
    command = ["wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--timeout", "10s", "-s", str(script), url]
    output = subprocess.run(command, capture_output=True, text=True, timeout=duration + 60).stdout
    line = next((ln for ln in output.splitlines() if ln.startswith("RESULT ")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no result:\n{output}")
    result = json.loads(line[len("RESULT "):])
    result["rps"] = result["requests"] / (result["duration_us"] / 1e6)
    result["errors"] = sum(result[k] for k in ("connect_errors", "read_errors", "status_errors", "timeouts"))
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--phones", type=int, default=10_000)
    parser.add_argument("--connections", type=int, default=1000, help="concurrent connections (capped at --phones)")
    parser.add_argument("--duration", type=int, default=10, help="seconds per run")
    parser.add_argument("--server-workers", type=int, default=max(1, (os.cpu_count() or 2) - 1))
    parser.add_argument("--rounds", type=int, default=3, help="alternating runs per server; the median is shown")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (store, logs)")
    args = parser.parse_args()
    connections = max(1, min(args.connections, args.phones))

    ensure_tools()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = min(hard, max(soft, 4 * connections + 1024))
    resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))

    tmp = Path(tempfile.mkdtemp(prefix="boot-storm-"))
    store = tmp / "store"
    token = uuid.uuid4().hex
    ours = nginx = None
    try:
        # ---- our server, and the push of N device files through its API
        our_port, nginx_port = free_port(), free_port()
        ours = subprocess.Popen(
            [sys.executable, "-m", "devices.provisioning.server", "--host", "127.0.0.1", "--port", str(our_port),
             "--store", str(store), "--workers", str(args.server_workers)],
            cwd=ROOT, env=dict(os.environ, PROVISIONING_PUSH_TOKEN=token),
            stdout=open(tmp / "server.log", "w"), stderr=subprocess.STDOUT)
        wait_for(f"http://127.0.0.1:{our_port}/_health", ours)
        key = base64.urlsafe_b64encode(os.urandom(18)).decode().rstrip("=")
        phones_file = tmp / "phones.tsv"
        push = HTTPConnection("127.0.0.1", our_port, timeout=10)
        started = time.perf_counter()
        with open(phones_file, "w") as out:
            for n in range(args.phones):
                mac = f"00562b{n:06x}"
                model = MODELS[n % len(MODELS)]
                user, password = uuid.uuid4().hex[:12], uuid.uuid4().hex
                body = json.dumps({"content": device_file(mac, model, n), "mac": mac, "model": model,
                                   "httpUser": user, "httpPasswords": [password]})
                push.request("PUT", f"/_push/{key}/{mac}.xml", body=body,
                             headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
                response = push.getresponse()
                response.read()
                if response.status != 200:
                    raise RuntimeError(f"push failed: {response.status}")
                auth = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
                out.write(f"/{key}/{mac}.xml\tCisco-CP-{model}-3PCC/12.0.1 ({mac})\t{auth}\n")
        push_seconds = time.perf_counter() - started
        push.close()

        # ---- nginx on the same files
        conf = tmp / "nginx.conf"
        conf.write_text(NGINX_CONF % {
            "user": "user root root;" if os.geteuid() == 0 else "", "workers": args.server_workers,
            "tmp": tmp, "files": max(1000, args.phones * 2), "port": nginx_port, "root": store / "files"})
        nginx = subprocess.Popen(["nginx", "-c", str(conf), "-p", str(tmp)], stdout=open(tmp / "nginx.log", "w"),
                                 stderr=subprocess.STDOUT)
        wait_for(f"http://127.0.0.1:{nginx_port}/", nginx)
        # sanity: both serve the same bytes for a phone
        sample = phones_file.read_text().split("\n", 1)[0].split("\t")
        bodies = []
        for port in (our_port, nginx_port):
            request = urllib.request.Request(f"http://127.0.0.1:{port}{sample[0]}",
                                             headers={"User-Agent": sample[1], "Authorization": sample[2]})
            with urllib.request.urlopen(request, timeout=5) as response:
                bodies.append(response.read())
        assert bodies[0] == bodies[1], "our server and nginx serve different bytes"

        print(f"boot storm: {args.phones} phones, {connections} concurrent connections, {args.duration}s per run, "
              f"{args.server_workers} server worker process(es) each, {os.cpu_count()} cores (wrk on the same host)")
        print(f"push: {args.phones} device files through the push API in {push_seconds:.1f}s "
              f"({args.phones / push_seconds:.0f}/s)")
        print(f"{'mode':<12} {'server':<8} {'req/s':>10} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7}")
        ratios = {}
        for mode, close in (("keep-alive", "false"), ("new-conn", "true")):
            script = tmp / f"storm-{mode}.lua"
            script.write_text(LUA % {"phones": phones_file, "close": close})
            runs = {"ours": [], "nginx": []}
            for _ in range(args.rounds):  # alternate, so a noisy neighbour hurts both alike
                for name, port in (("ours", our_port), ("nginx", nginx_port)):
                    runs[name].append(run_wrk(f"http://127.0.0.1:{port}", script, connections, args.duration))
            results = {}
            for name, rs in runs.items():
                results[name] = r = sorted(rs, key=lambda x: x["rps"])[len(rs) // 2]  # the median run
                spread = "/".join(f"{x['rps'] / 1000:.1f}k" for x in rs)
                print(f"{mode:<12} {name:<8} {r['rps']:>10.0f} {r['p50_us'] / 1000:>8.2f} {r['p99_us'] / 1000:>8.2f} "
                      f"{r['errors']:>7}   runs: {spread}", flush=True)
            ratios[mode] = results["ours"]["rps"] / results["nginx"]["rps"]
        for mode, ratio in ratios.items():
            print(f"ratio ours/nginx ({mode}): {ratio:.2f}  (goal >= 0.5: {'met' if ratio >= 0.5 else 'NOT met'})")
    finally:
        stop(nginx)
        stop(ours)
        if args.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
