"""A small HTTP/1.1 front end for the provisioning server: asyncio protocol + httptools (llhttp) parser, uvloop.

Why not a framework: a phone request is a dictionary lookup, two `stat` calls and a few header comparisons; the
per-request cost of aiohttp's web layer was 3x that of the work itself, and the boot-storm goal is half of nginx's
rate (benchmarks/boot_storm.py). httptools and uvloop are the parser and event loop under uvicorn, maintained by
MagicStack; this module only turns parsed requests into `Request` objects and `Response`s into bytes.

Supported: keep-alive, pipelining (requests are answered in order: handlers are synchronous), HEAD, bodies up to
`MAX_BODY` (push API), limits on URL and header size, idle and slow-request timeouts. Not supported (not needed by
phones or workers): chunked responses, upgrades, `Expect: 100-continue` beyond ignoring it.
"""
from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import formatdate
from http import HTTPStatus
from urllib.parse import parse_qs, unquote

import httptools

MAX_URL = 4096
MAX_HEADER_BYTES = 16 * 1024
MAX_HEADERS = 100
MAX_BODY = 2 * 1024 * 1024
IDLE_TIMEOUT = 75.0      # keep-alive connection without a request
REQUEST_TIMEOUT = 30.0   # a request that has started but is not complete (slowloris)

_REASONS = {s.value: s.phrase.encode() for s in HTTPStatus}
# The only request headers the server reads; others are counted against the limits and dropped.
_WANTED = {spelling.encode(): name for name in ("user-agent", "authorization", "if-none-match", "content-type")
           for spelling in (name, name.title())}


@dataclass(slots=True)
class Request:
    method: str
    path: str            # percent-decoded
    path_qs: str         # as sent, for Digest's `uri`
    query: dict[str, str]
    headers: dict[str, str]  # lowercase names, only those in `_WANTED`; a repeated header keeps the last value
    body: bytes
    remote: str


@dataclass(slots=True)
class Response:
    status: int
    body: bytes = b""
    content_type: str | None = "text/plain; charset=utf-8"
    headers: list[tuple[str, str]] = field(default_factory=list)
    head: bytes | None = None  # prebuilt header lines (incl. Content-Length) replacing content_type + headers


def file_heads(etag: str, content_type: str, length: int) -> tuple[bytes, bytes]:
    """Prebuilt header lines of a file's 200 and 304 answers (`Response.head`)."""
    common = f"ETag: {etag}\r\nCache-Control: no-cache\r\n".encode("latin-1")
    return (b"Content-Type: %s\r\n%sContent-Length: %d\r\n" % (content_type.encode("latin-1"), common, length),
            common)


def text(status: int, message: str, headers: list[tuple[str, str]] | None = None) -> Response:
    return Response(status, message.encode(), headers=headers or [])


class _Clock:
    """`Date` header value, formatted at most once per second."""

    def __init__(self):
        self.second = 0
        self.value = b""

    def date(self) -> bytes:
        now = int(time.time())
        if now != self.second:
            self.second = now
            self.value = formatdate(now, usegmt=True).encode()
        return self.value


_clock = _Clock()


class _BadRequest(Exception):
    def __init__(self, status: int):
        self.status = status


class HttpProtocol(asyncio.Protocol):
    def __init__(self, handler: Callable[[Request], Response], connections: set):
        self.handler = handler
        self.connections = connections
        self.transport = None
        self.parser = httptools.HttpRequestParser(self)
        self.remote = ""
        self.url = b""
        self.headers: dict[str, str] = {}
        self.header_bytes = 0
        self.header_count = 0
        self.body: list[bytes] = []
        self.body_size = 0
        self.last_activity = time.monotonic()
        self.in_request = False
        self.closed = False

    # ------------------------------------------------------------------------------------------- asyncio

    def connection_made(self, transport) -> None:
        self.transport = transport
        peer = transport.get_extra_info("peername")
        self.remote = peer[0] if peer else ""
        self.connections.add(self)

    def connection_lost(self, exc) -> None:
        self.closed = True
        self.connections.discard(self)

    def data_received(self, data: bytes) -> None:
        self.last_activity = time.monotonic()
        try:
            self.parser.feed_data(data)
        except _BadRequest as exc:
            self._fail(exc.status)
        except httptools.HttpParserUpgrade:
            self._fail(400)
        except httptools.HttpParserError as exc:  # httptools wraps what a callback raised
            cause = exc.__context__ or exc.__cause__
            self._fail(cause.status if isinstance(cause, _BadRequest) else 400)

    def timed_out(self, now: float) -> bool:
        limit = REQUEST_TIMEOUT if self.in_request else IDLE_TIMEOUT
        return now - self.last_activity > limit

    def close(self) -> None:
        if not self.closed and self.transport is not None:
            self.transport.close()

    # ------------------------------------------------------------------------------------------- httptools

    def on_message_begin(self) -> None:
        self.in_request = True
        self.url = b""
        self.headers = {}
        self.header_bytes = 0
        self.header_count = 0
        self.body = []
        self.body_size = 0

    def on_url(self, url: bytes) -> None:
        self.url += url
        if len(self.url) > MAX_URL:
            raise _BadRequest(414)

    def on_header(self, name: bytes, value: bytes) -> None:
        self.header_bytes += len(name) + len(value)
        self.header_count += 1
        if self.header_bytes > MAX_HEADER_BYTES or self.header_count > MAX_HEADERS:
            raise _BadRequest(431)
        wanted = _WANTED.get(name) or _WANTED.get(name.lower())
        if wanted:
            self.headers[wanted] = value.decode("latin-1")

    def on_body(self, body: bytes) -> None:
        self.body_size += len(body)
        if self.body_size > MAX_BODY:
            raise _BadRequest(413)
        self.body.append(body)

    def on_message_complete(self) -> None:
        self.in_request = False
        if self.closed:
            return
        raw = self.url.decode("latin-1")
        path_part, _, query_part = raw.partition("?")
        query = {k: v[-1] for k, v in parse_qs(query_part).items()} if query_part else {}
        if "%" in path_part:
            path_part = unquote(path_part)
        method = self.parser.get_method().decode("ascii", "replace")
        request = Request(method=method, path=path_part, path_qs=raw, query=query, headers=self.headers,
                          body=b"".join(self.body), remote=self.remote)
        try:
            response = self.handler(request)
        except Exception:
            import logging

            logging.getLogger(__name__).exception("handler failed for %s %s", method, path_part)
            response = text(500, "Internal server error")
        keep_alive = self.parser.should_keep_alive()
        self._write(response, keep_alive, head=method == "HEAD")
        if not keep_alive:
            self.transport.close()

    # ------------------------------------------------------------------------------------------- output

    def _write(self, response: Response, keep_alive: bool, head: bool = False) -> None:
        status = response.status
        parts = [b"HTTP/1.1 %d %s\r\nDate: %s\r\nServer: controlhub-provisioning\r\n"
                 % (status, _REASONS.get(status, b"Unknown"), _clock.date())]
        if response.head is not None:  # the fast path for phone files: headers built once per file
            parts.append(response.head)
            parts.append(b"Connection: keep-alive\r\n\r\n" if keep_alive else b"Connection: close\r\n\r\n")
            if not head and status != 304:
                parts.append(response.body)
            self.transport.write(b"".join(parts))
            return
        if response.content_type and status != 304:
            parts.append(b"Content-Type: %s\r\n" % response.content_type.encode("latin-1"))
        for name, value in response.headers:
            parts.append(f"{name}: {value}\r\n".encode("latin-1"))
        if status != 304:
            parts.append(b"Content-Length: %d\r\n" % len(response.body))
        parts.append(b"Connection: keep-alive\r\n\r\n" if keep_alive else b"Connection: close\r\n\r\n")
        if not head and status != 304:
            parts.append(response.body)
        self.transport.write(b"".join(parts))

    def _fail(self, status: int) -> None:
        if not self.closed:
            self._write(text(status, _REASONS.get(status, b"Bad request").decode()), keep_alive=False)
            self.transport.close()
            self.closed = True


async def sweep_idle(connections: set, interval: float = 5.0) -> None:
    """Close keep-alive connections idle too long and requests that never complete."""
    while True:
        await asyncio.sleep(interval)
        now = time.monotonic()
        for connection in [c for c in connections if c.timed_out(now)]:
            connection.close()
