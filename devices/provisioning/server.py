"""The phone-facing provisioning server: its own process, never the portal's request path (DESIGN section 2).

    python -m devices.provisioning.server --host 127.0.0.1 --port 8480 --store var/provisioning [--workers 2]

Phones (reference/mpp-provisioning.md):
  GET/HEAD /<org key>/<model>-3PCC.xml   public bootstrap file (no secrets in it)
  GET/HEAD /<org key>/<mac>.xml          device file: the MAC in `User-Agent: Cisco-CP-<model>-3PCC/<fw> (<mac>)`
                                         must be the path's (and the model the device's) -> else 403, logged;
                                         HTTP Basic/Digest when the device has credentials -> else 401 challenge,
                                         except once for a device in first contact (trust on first fetch: the
                                         file carries the credentials for every later fetch)
  Unknown key or file -> 404. `ETag` on every file, `If-None-Match` -> 304. Successful device fetches are recorded
  (first/last seen per MAC, flushed to the store in batches).
Workers (bearer token `PROVISIONING_PUSH_TOKEN`, env or --push-token):
  PUT    /_push/<org key>/<file name>   JSON {"content", "mac"?, "model"?, "httpUser"?, "httpPasswords"?: [...],
                                        "firstContact"?} -> {"etag", "changed"}; idempotent
  POST   /_bulk                         JSON {"put": [{"orgKey", "name", <the PUT fields>}, ...],
                                        "delete": [{"orgKey", "name"}, ...]} -> {"put": [{"etag", "changed"} or
                                        {"error"}, ...], "delete": [{"deleted"} or {"error"}, ...]} in order;
                                        one bad item is reported alone, the others are applied
  DELETE /_push/<org key>/<file name>   -> {"deleted": bool}
  DELETE /_push/<org key>               -> {"deleted": <number of files>} (organisation deleted)
  GET    /_seen?since=<unix time>       -> {"now", "seen": [{"mac", "orgKey", "firstSeen", "lastSeen", …}]}
  GET    /_health                       -> "ok" (no token)

It reads only its store (`devices.provisioning.store`), never the portal database, and imports no Django.
Stack: `devices.provisioning.http` (asyncio protocol + httptools parser) on uvloop, one process per core sharing
the port through SO_REUSEPORT; see pyproject.toml and that module for why.
"""
from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import logging
import os
import signal
import socket
import sys
import time
from pathlib import Path

from .http import HttpProtocol, Request, Response, file_heads, sweep_idle, text
from .httpauth import Authenticator
from .store import SeenLog, Store, device_mac_of, parse_user_agent, valid_key, valid_name

log = logging.getLogger("devices.provisioning.server")

XML_TYPE = "application/xml; charset=utf-8"
SEEN_FLUSH_INTERVAL = 1.0


def _json(status: int, data) -> Response:
    return Response(status, json.dumps(data).encode(), content_type="application/json")


def _etag_matches(header: str | None, etag: str) -> bool:
    if not header:
        return False
    if header.strip() == "*":
        return True
    return etag in (tag.strip().removeprefix("W/") for tag in header.split(","))


NOT_FOUND = text(404, "Not found")
OWN_PATHS = frozenset({"_push", "_bulk", "_seen", "_health"})  # first path segments that are not organisation keys
FORBIDDEN = text(403, "Forbidden")


class ProvisioningServer:
    """The request handler: `handle(Request) -> Response`, synchronous (so pipelined requests stay in order)."""

    def __init__(self, store: Store, seen: SeenLog, push_token: str):
        if not push_token:
            raise ValueError("a push token is required (PROVISIONING_PUSH_TOKEN or --push-token)")
        self.store = store
        self.seen = seen
        self.push_token = push_token.encode()
        self.auth = Authenticator(hmac.new(self.push_token, b"digest-nonce", hashlib.sha256).digest())
        self._heads: dict[str, tuple[bytes, bytes]] = {}  # etag -> prebuilt header lines of 200 / 304

    # ------------------------------------------------------------------------------------------- dispatch

    def handle(self, request: Request) -> Response:
        parts = request.path.split("/")
        # "/<key>/<name>" -> ["", key, name]. The server's own paths are named exactly: an organisation key may
        # begin with "_" too (token_urlsafe, one key in 64), and its phones must still get their files.
        if len(parts) == 3 and parts[1] not in OWN_PATHS:
            if request.method not in ("GET", "HEAD"):
                return text(405, "Method not allowed", [("Allow", "GET, HEAD")])
            return self.phone(request, parts[1], parts[2])
        if len(parts) == 4 and parts[1] == "_push":
            return self.push(request, parts[2], parts[3])
        if len(parts) == 3 and parts[1] == "_push":
            return self.push_organization(request, parts[2])
        if request.path == "/_bulk":
            return self.bulk(request)
        if request.path == "/_seen":
            return self.seen_list(request)
        if request.path == "/_health":
            return text(200, "ok")
        return NOT_FOUND

    # ------------------------------------------------------------------------------------------- phones

    def phone(self, request: Request, key: str, name: str) -> Response:
        entry = self.store.get(key, name)
        if entry is None:
            if name == name.lower() or not device_mac_of(name):
                return NOT_FOUND
            entry = self.store.get(key, name.lower())  # `$MA` is lowercase, but accept an uppercase MAC
            if entry is None:
                return NOT_FOUND
        headers = request.headers
        user_agent = headers.get("user-agent", "")
        if entry.mac:
            agent = parse_user_agent(user_agent)
            if agent is None or agent.mac != entry.mac or (entry.model and agent.model != entry.model):
                log.warning("403 %s…/%s: User-Agent %r from %s does not match the device", key[:6], name,
                            user_agent, request.remote)
                return FORBIDDEN
        if entry.http_user:
            result = self.auth.check(headers.get("authorization"), request.method, request.path_qs,
                                     entry.http_user, entry.http_passwords)
            if result != "ok" and entry.first_contact and entry.mac and request.method == "GET" \
                    and self.store.claim_first_contact(key, entry.mac + ".xml", entry.first_contact):
                # Trust on first fetch: a factory-fresh phone (right User-Agent MAC and model, checked above)
                # cannot know its credentials yet; this one answer gives them to it. Once only per token.
                log.warning("first contact %s…/%s from %s: served without HTTP auth", key[:6], name, request.remote)
                result = "ok"
            if result != "ok":
                log.info("401 %s…/%s from %s (%s)", key[:6], name, request.remote, result)
                return text(401, "Unauthorized", [("WWW-Authenticate", challenge)
                                                  for challenge in self.auth.challenges(stale=result == "stale")])
        if entry.mac:
            self.seen.record(entry.mac, key, user_agent, request.remote)
        heads = self._heads.get(entry.etag)
        if heads is None:
            if len(self._heads) > 200_000:
                self._heads.clear()
            heads = self._heads[entry.etag] = file_heads(entry.etag, XML_TYPE, len(entry.body))
        if _etag_matches(headers.get("if-none-match"), entry.etag):
            return Response(304, head=heads[1])
        return Response(200, entry.body, head=heads[0])

    # ------------------------------------------------------------------------------------------- workers

    def _authorised(self, request: Request) -> bool:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(token.strip().encode(), self.push_token)

    def push(self, request: Request, key: str, name: str) -> Response:
        """File writes happen inline: a few hundred microseconds each, and pipelined requests stay ordered."""
        if not self._authorised(request):
            return text(401, "Unauthorized", [("WWW-Authenticate", 'Bearer realm="provisioning push"')])
        if not (valid_key(key) and valid_name(name)):
            return _json(400, {"message": "invalid organisation key or file name"})
        if device_mac_of(name):
            name = name.lower()
        if request.method == "DELETE":
            deleted = self.store.delete(key, name)
            log.info("push: deleted %s…/%s (%s)", key[:6], name, deleted)
            return _json(200, {"deleted": deleted})
        if request.method != "PUT":
            return text(405, "Method not allowed", [("Allow", "PUT, DELETE")])
        try:
            entry = self._entry(key, name, json.loads(request.body))
        except ValueError as exc:
            return _json(400, {"message": str(exc)})
        [changed] = self.store.put_many([(key, name, entry)])
        log.info("push: %s…/%s etag %s changed %s", key[:6], name, entry.etag, changed)
        return _json(200, {"etag": entry.etag, "changed": changed})

    def _entry(self, key: str, name: str, data):
        """A store entry from a pushed item (ValueError with the reason when it is not one)."""
        try:
            content = data["content"]
            passwords = data.get("httpPasswords") or ([data["httpPassword"]] if data.get("httpPassword") else [])
            first_contact = data.get("firstContact") or ""
            if not isinstance(content, str) or not isinstance(first_contact, str) \
                    or not all(isinstance(p, str) for p in passwords):
                raise TypeError
        except (KeyError, TypeError, AttributeError):
            raise ValueError("expected JSON {content, mac?, model?, httpUser?, httpPasswords?, firstContact?}"
                             ) from None
        return self.store._entry(key, name, content.encode("utf-8"), mac=data.get("mac"), model=data.get("model"),
                                 http_user=data.get("httpUser") or "", http_passwords=passwords,
                                 first_contact=first_contact)

    def bulk(self, request: Request) -> Response:
        """Many files in one request (a worker's batch): written with one generation bump, results in order."""
        if not self._authorised(request):
            return text(401, "Unauthorized", [("WWW-Authenticate", 'Bearer realm="provisioning push"')])
        if request.method != "POST":
            return text(405, "Method not allowed", [("Allow", "POST")])
        try:
            data = json.loads(request.body)
            puts, deletes = data.get("put") or [], data.get("delete") or []
            if not isinstance(puts, list) or not isinstance(deletes, list):
                raise TypeError
        except (ValueError, TypeError, AttributeError):
            return _json(400, {"message": "expected JSON {put: [...], delete: [...]}"})
        put_results: list[dict] = []
        ready: list[tuple[int, str, str, object]] = []
        for index, item in enumerate(puts):
            try:
                key, name = self._item_name(item)
                ready.append((index, key, name, self._entry(key, name, item)))
                put_results.append({})
            except ValueError as exc:
                put_results.append({"error": str(exc)})
        changed = self.store.put_many([(key, name, entry) for _, key, name, entry in ready])
        for (index, _, _, entry), was_changed in zip(ready, changed, strict=True):
            put_results[index] = {"etag": entry.etag, "changed": was_changed}
        delete_results: list[dict] = []
        for item in deletes:
            try:
                key, name = self._item_name(item)
                delete_results.append({"deleted": self.store.delete(key, name)})
            except ValueError as exc:
                delete_results.append({"error": str(exc)})
        log.info("push: bulk of %d files (%d changed), %d removals", len(puts), sum(changed), len(deletes))
        return _json(200, {"put": put_results, "delete": delete_results})

    @staticmethod
    def _item_name(item) -> tuple[str, str]:
        try:
            key, name = item["orgKey"], item["name"]
        except (KeyError, TypeError):
            raise ValueError("each item needs orgKey and name") from None
        if not (isinstance(key, str) and isinstance(name, str) and valid_key(key) and valid_name(name)):
            raise ValueError("invalid organisation key or file name")
        return key, name.lower() if device_mac_of(name) else name

    def push_organization(self, request: Request, key: str) -> Response:
        if not self._authorised(request):
            return text(401, "Unauthorized", [("WWW-Authenticate", 'Bearer realm="provisioning push"')])
        if request.method != "DELETE":
            return text(405, "Method not allowed", [("Allow", "DELETE")])
        if not valid_key(key):
            return _json(400, {"message": "invalid organisation key"})
        removed = self.store.delete_organization(key)
        log.info("push: removed organisation %s… (%d files)", key[:6], removed)
        return _json(200, {"deleted": removed})

    def seen_list(self, request: Request) -> Response:
        if not self._authorised(request):
            return text(401, "Unauthorized", [("WWW-Authenticate", 'Bearer realm="provisioning push"')])
        try:
            since = float(request.query.get("since") or 0)
        except ValueError:
            return _json(400, {"message": "since must be a Unix time"})
        now = time.time()
        self.seen.flush()
        return _json(200, {"now": now, "seen": self.seen.since(since)})

    # ------------------------------------------------------------------------------------------- lifecycle

    async def flush_forever(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(SEEN_FLUSH_INTERVAL)
            rows = self.seen.take()  # on the loop thread, which is the one recording
            try:
                await loop.run_in_executor(None, self.seen.write, rows)
            except Exception:  # a locked/full disk must not stop serving phones
                log.exception("flushing the seen log failed")
                self.seen.restore(rows)


def _listen_socket(host: str, port: int, reuse_port: bool) -> socket.socket:
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if reuse_port:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    return sock


async def _serve(sock: socket.socket, store_root: str, push_token: str) -> None:
    store = Store(store_root)
    seen = SeenLog(Path(store_root) / "seen.sqlite3")
    app = ProvisioningServer(store, seen, push_token)
    loop = asyncio.get_running_loop()
    connections: set = set()
    sock.listen(4096)
    sock.setblocking(False)
    listener = await loop.create_server(lambda: HttpProtocol(app.handle, connections), sock=sock, backlog=4096)
    background = [asyncio.create_task(app.flush_forever()), asyncio.create_task(sweep_idle(connections))]
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    listener.close()
    for connection in list(connections):
        connection.close()
    for task in background:
        task.cancel()
    seen.flush()


def _run_worker(sock: socket.socket, store_root: str, push_token: str) -> None:
    try:
        import uvloop
    except ImportError:
        asyncio.run(_serve(sock, store_root, push_token))
    else:
        uvloop.run(_serve(sock, store_root, push_token))


def serve(host: str, port: int, store_root: str, push_token: str, workers: int = 1,
          ready=None) -> None:
    """Run the server until SIGTERM/SIGINT. With workers > 1, one forked process per worker shares the port."""
    Store(store_root)  # create the layout (and fail early on a bad path)
    SeenLog(Path(store_root) / "seen.sqlite3")
    if workers <= 1:
        sock = _listen_socket(host, port, reuse_port=False)
        log.warning("provisioning server on http://%s:%s (store %s)", host, sock.getsockname()[1], store_root)
        if ready:
            ready(sock.getsockname()[1])
        _run_worker(sock, store_root, push_token)
        return
    # The parent binds without listening (reserves the port, resolves port 0); each worker binds its own
    # listening socket to the same port with SO_REUSEPORT, so the kernel spreads connections evenly.
    reserve = _listen_socket(host, port, reuse_port=True)
    port = reserve.getsockname()[1]
    log.warning("provisioning server on http://%s:%s (store %s, %d workers)", host, port, store_root, workers)
    children: dict[int, int] = {}
    stopping = False

    def spawn(slot: int) -> None:
        pid = os.fork()
        if pid == 0:
            try:
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
                signal.signal(signal.SIGINT, signal.SIG_DFL)
                reserve.close()
                _run_worker(_listen_socket(host, port, reuse_port=True), store_root, push_token)
            except BaseException:
                log.exception("provisioning worker failed")
                os._exit(1)
            os._exit(0)
        children[pid] = slot

    def stop(signum, frame) -> None:
        nonlocal stopping
        stopping = True
        for pid in list(children):
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for slot in range(workers):
        spawn(slot)
    if ready:
        ready(port)
    while children:
        try:
            pid, status = os.wait()
        except ChildProcessError:
            break
        except InterruptedError:
            continue
        slot = children.pop(pid, None)
        if slot is not None and not stopping:
            log.error("provisioning worker %s exited (%s); restarting it", pid, status)
            time.sleep(0.5)
            spawn(slot)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m devices.provisioning.server", description=__doc__.split("\n")[0])
    parser.add_argument("--host", default=os.environ.get("PROVISIONING_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("PROVISIONING_PORT", "8480")))
    parser.add_argument("--store", default=os.environ.get("PROVISIONING_STORE", "var/provisioning"))
    parser.add_argument("--workers", type=int, default=int(os.environ.get("PROVISIONING_WORKERS", "0")),
                        help="server processes (default: one per CPU core)")
    parser.add_argument("--push-token", default=os.environ.get("PROVISIONING_PUSH_TOKEN", ""),
                        help="bearer token of the push API (default: $PROVISIONING_PUSH_TOKEN)")
    parser.add_argument("--ready-file", help="write the listening port to this file once serving (for tests)")
    parser.add_argument("--log-level", default=os.environ.get("LOG_LEVEL", "WARNING"))
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), stream=sys.stderr,
                        format="%(asctime)s %(process)d %(levelname)s %(name)s: %(message)s")
    if not args.push_token:
        parser.error("set PROVISIONING_PUSH_TOKEN (or --push-token): the push API is never open")

    def ready(port: int) -> None:
        if args.ready_file:
            tmp = f"{args.ready_file}.tmp"
            Path(tmp).write_text(str(port))
            os.replace(tmp, args.ready_file)

    serve(args.host, args.port, args.store, args.push_token, workers=args.workers or (os.cpu_count() or 1),
          ready=ready)


if __name__ == "__main__":
    main()
