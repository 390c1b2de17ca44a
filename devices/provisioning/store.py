"""The provisioning server's store: the files phones fetch, their metadata, and when each phone was last seen.

Plain files, no Django, no portal database (DESIGN section 2: a boot storm never touches the portal):

    <root>/files/<org key>/<file name>       the body exactly as served (nginx could serve this tree as is)
    <root>/meta/<org key>/<file name>.json   {"mac", "model", "httpUser", "httpPasswords", "firstContact"}
    <root>/meta/<org key>/<file name>.first-<token>   the first-contact fetch under that token was served
    <root>/generation                        replaced on every write: "something changed" for all readers
    <root>/seen.sqlite3                      first/last fetch per (org key, MAC), written in batches by the server

Writers (the push API) replace files atomically (`os.replace`); readers in any number of server processes keep a
parsed copy in memory and revalidate it with `stat` calls (see `Store.get`), so a push is visible to every process
at once without any messaging between them.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import sqlite3
import tempfile
import threading
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

# reference/mpp-provisioning.md §3: `Cisco-CP-<model>-3PCC/<firmware> (<mac>)`; Wazo's pattern, separators allowed.
USER_AGENT = re.compile(r"^Cisco-CP-(?P<model>[0-9]{4})-3PCC/(?P<firmware>\S+) \((?P<mac>[0-9A-Fa-f:.\-]{12,17})\)$")
KEY = re.compile(r"^[A-Za-z0-9_-]{8,256}$")                   # Organization.provisioning_key (token_urlsafe)
FIRST_CONTACT = re.compile(r"^[A-Za-z0-9_-]{8,64}$")          # Device.first_contact_token (token_urlsafe)
DEVICE_FILE = re.compile(r"^(?P<mac>[0-9a-fA-F]{12})\.xml$")   # `$MA.xml`
FILE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}(?:\.[A-Za-z0-9]{1,8})?$")  # no dot-dot, no slash
_MAC_SEPARATORS = re.compile(r"[:.\-]")
_HEX12 = re.compile(r"^[0-9a-f]{12}$")


def normalize_mac(value: str | None) -> str | None:
    """12 lowercase hex digits, separators (`:`, `-`, `.`) removed; None when it is not a MAC."""
    if not value:
        return None
    mac = _MAC_SEPARATORS.sub("", value.strip()).lower()
    return mac if _HEX12.match(mac) else None


@dataclass(frozen=True)
class PhoneAgent:
    model: str      # product code, "8851"
    firmware: str   # "12.0.1"
    mac: str        # normalised


@lru_cache(maxsize=65536)  # a phone sends the same User-Agent on every fetch
def parse_user_agent(value: str | None) -> PhoneAgent | None:
    """Model, firmware and MAC of a Cisco MPP phone's User-Agent; None for anything else."""
    match = USER_AGENT.match((value or "").strip())
    if not match:
        return None
    mac = normalize_mac(match["mac"])
    return PhoneAgent(match["model"], match["firmware"], mac) if mac else None


def valid_key(key: str) -> bool:
    return bool(KEY.match(key))


def valid_name(name: str) -> bool:
    return bool(FILE_NAME.match(name))


def device_mac_of(name: str) -> str | None:
    """The MAC a device file name (`<mac>.xml`) is for; None for other files."""
    match = DEVICE_FILE.match(name)
    return match["mac"].lower() if match else None


def etag_of(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


@dataclass(frozen=True)
class Entry:
    """One servable file. `mac` is set for device files (User-Agent must match); `http_user` for per-device auth.

    `first_contact`: a token under which a phone that has never fetched its file may fetch it once without HTTP
    auth (trust on first fetch: the file carries the credentials for every later fetch); empty = never.
    """

    body: bytes
    etag: str
    mac: str | None = None
    model: str | None = None
    http_user: str = ""
    http_passwords: tuple[str, ...] = ()
    first_contact: str = ""

    def meta(self) -> dict:
        return {"mac": self.mac, "model": self.model, "httpUser": self.http_user,
                "httpPasswords": list(self.http_passwords), "firstContact": self.first_contact,
                "etag": self.etag}


def _signature(path: str):
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return st.st_ino, st.st_mtime_ns, st.st_size


def _write_atomically(path: str, data: bytes) -> None:
    directory = os.path.dirname(path)
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o640)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


class Store:
    """Files + metadata under `root`; safe for several processes (atomic replace, stat-validated caches)."""

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)
        self.files = self.root / "files"
        self.meta_dir = self.root / "meta"
        self.files.mkdir(parents=True, exist_ok=True)
        self.meta_dir.mkdir(parents=True, exist_ok=True)
        self._files, self._meta = str(self.files), str(self.meta_dir)
        self._generation = str(self.root / "generation")
        if not os.path.exists(self._generation):
            self._bump_generation()
        # (key, name) -> (body stat, meta stat, entry, generation stat when last validated)
        self._cache: dict[tuple[str, str], tuple[object, object, Entry, object]] = {}
        self._lock = threading.Lock()

    def _paths(self, key: str, name: str) -> tuple[str, str]:
        # plain strings, not pathlib: this runs on every phone request
        if not (KEY.match(key) and FILE_NAME.match(name)):
            raise ValueError("invalid organisation key or file name")
        return f"{self._files}/{key}/{name}", f"{self._meta}/{key}/{name}.json"

    # ---------------------------------------------------------------------------------------------- reading

    def get(self, key: str, name: str) -> Entry | None:
        """The file as it is now, or None.

        Steady state costs one `stat` (of the store's generation file, replaced by every write); only after a
        write anywhere in the store are the file's own two `stat`s compared with the cached copy's.
        """
        generation = _signature(self._generation)
        cached = self._cache.get((key, name))
        if cached is not None and cached[3] == generation and generation is not None:
            return cached[2]
        try:
            body_path, meta_path = self._paths(key, name)
        except ValueError:
            return None
        body_sig = _signature(body_path)
        if body_sig is None:
            self._cache.pop((key, name), None)
            return None
        meta_sig = _signature(meta_path)
        if cached is not None and cached[0] == body_sig and cached[1] == meta_sig:
            self._cache[(key, name)] = (body_sig, meta_sig, cached[2], generation)
            return cached[2]
        try:
            with open(body_path, "rb") as f:
                body = f.read()
            meta = {}
            if meta_sig is not None:
                with open(meta_path, "rb") as f:
                    meta = json.loads(f.read())
        except (FileNotFoundError, ValueError):
            return None
        entry = Entry(body=body, etag=etag_of(body), mac=device_mac_of(name) or normalize_mac(meta.get("mac")),
                      model=meta.get("model") or None, http_user=meta.get("httpUser") or "",
                      http_passwords=tuple(p for p in meta.get("httpPasswords") or () if p),
                      first_contact=meta.get("firstContact") or "")
        # Signatures taken before reading: a write racing this read makes a later request reload.
        self._cache[(key, name)] = (body_sig, meta_sig, entry, generation)
        return entry

    def _bump_generation(self) -> None:
        _write_atomically(self._generation, str(time.time_ns()).encode())  # a new inode every time

    # ---------------------------------------------------------------------------------------------- writing

    def _entry(self, key: str, name: str, body: bytes, *, mac: str | None = None, model: str | None = None,
               http_user: str = "", http_passwords: tuple[str, ...] | list[str] = (),
               first_contact: str = "") -> Entry:
        self._paths(key, name)  # validates key and name
        file_mac = device_mac_of(name)
        if file_mac and mac and normalize_mac(mac) != file_mac:
            raise ValueError("the MAC does not match the file name")
        if first_contact and not FIRST_CONTACT.match(first_contact):
            raise ValueError("invalid first-contact token")
        return Entry(body=body, etag=etag_of(body), mac=file_mac or normalize_mac(mac), model=model or None,
                     http_user=http_user or "", http_passwords=tuple(p for p in http_passwords if p),
                     first_contact=first_contact or "")

    def put(self, key: str, name: str, body: bytes, *, mac: str | None = None, model: str | None = None,
            http_user: str = "", http_passwords: tuple[str, ...] | list[str] = (),
            first_contact: str = "") -> tuple[Entry, bool]:
        """Store a file (idempotent). Returns (entry, changed). Device files always carry the MAC of their name."""
        entry = self._entry(key, name, body, mac=mac, model=model, http_user=http_user,
                            http_passwords=http_passwords, first_contact=first_contact)
        return entry, self.put_many([(key, name, entry)])[0]

    def put_many(self, items: list[tuple[str, str, Entry]]) -> list[bool]:
        """Store several prepared entries (`_entry`), bumping the generation once; returns `changed` for each."""
        changed: list[bool] = []
        with self._lock:
            for key, name, entry in items:
                if self.get(key, name) == entry:
                    changed.append(False)
                    continue
                body_path, meta_path = self._paths(key, name)
                # metadata first: for a moment the old body may be served with the new credentials, never the
                # reverse
                _write_atomically(meta_path, json.dumps(entry.meta(), sort_keys=True).encode())
                _write_atomically(body_path, entry.body)
                changed.append(True)
            if any(changed):
                self._bump_generation()
        return changed

    def claim_first_contact(self, key: str, name: str, token: str) -> bool:
        """True exactly once per (file, token) across all server processes: an exclusive create of a marker."""
        if not FIRST_CONTACT.match(token or ""):
            return False
        _, meta_path = self._paths(key, name)
        marker = f"{meta_path.removesuffix('.json')}.first-{token}"
        try:
            fd = os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o640)
        except FileExistsError:
            return False
        except FileNotFoundError:  # the file was removed meanwhile
            return False
        os.close(fd)
        return True

    def delete(self, key: str, name: str) -> bool:
        body_path, meta_path = self._paths(key, name)
        current = self.get(key, name)
        if current is not None and current.first_contact:  # a re-added device starts afresh
            try:
                os.unlink(f"{meta_path.removesuffix('.json')}.first-{current.first_contact}")
            except FileNotFoundError:
                pass
        existed = False
        for path in (body_path, meta_path):  # body first: once it is gone nothing is served
            try:
                os.unlink(path)
                existed = True
            except FileNotFoundError:
                pass
        if existed:
            self._bump_generation()
        self._cache.pop((key, name), None)
        return existed

    def delete_organization(self, key: str) -> int:
        """Remove every file of one organisation (it was deleted); returns how many files there were."""
        if not valid_key(key):
            raise ValueError("invalid organisation key")
        removed = 0
        for directory in (f"{self._files}/{key}", f"{self._meta}/{key}"):
            try:
                names = os.listdir(directory)
            except FileNotFoundError:
                continue
            for name in names:
                try:
                    os.unlink(f"{directory}/{name}")
                except FileNotFoundError:
                    continue
                if directory.startswith(self._files) and not name.startswith(".tmp-"):
                    removed += 1
            try:
                os.rmdir(directory)
            except OSError:  # a push raced in: its file stays until the next removal
                pass
        for cached in [k for k in self._cache if k[0] == key]:
            del self._cache[cached]
        if removed:
            self._bump_generation()
        return removed


# --------------------------------------------------------------------------------------------- seen log


class SeenLog:
    """First/last successful fetch of a device file per (organisation key, MAC), in memory, then SQLite.

    `record` is a dict update (no I/O on the request path); `flush` upserts what changed since the last flush.
    Several server processes share the database (WAL mode, busy timeout); `first_seen` keeps the minimum and
    `last_seen` the maximum, so the order in which processes flush does not matter.
    """

    # One row per (organisation key, MAC): a phone moved to another organisation is seen under each key apart.
    SCHEMA = """CREATE TABLE IF NOT EXISTS seen_v2 (
        org_key TEXT NOT NULL, mac TEXT NOT NULL, first_seen REAL NOT NULL, last_seen REAL NOT NULL,
        user_agent TEXT NOT NULL DEFAULT '', address TEXT NOT NULL DEFAULT '', PRIMARY KEY (org_key, mac))"""
    UPSERT = """INSERT INTO seen_v2 (org_key, mac, first_seen, last_seen, user_agent, address)
        VALUES (?, ?, ?, ?, ?, ?)
        ON CONFLICT(org_key, mac) DO UPDATE SET
            first_seen = min(seen_v2.first_seen, excluded.first_seen),
            last_seen = max(seen_v2.last_seen, excluded.last_seen),
            user_agent = CASE WHEN excluded.last_seen >= seen_v2.last_seen
                              THEN excluded.user_agent ELSE seen_v2.user_agent END,
            address = CASE WHEN excluded.last_seen >= seen_v2.last_seen
                           THEN excluded.address ELSE seen_v2.address END"""

    def __init__(self, path: str | os.PathLike):
        self.path = str(path)
        self._pending: dict[tuple[str, str], list] = {}
        self._lock = threading.Lock()
        with self._connect() as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute(self.SCHEMA)
            db.execute("CREATE INDEX IF NOT EXISTS seen_v2_last ON seen_v2 (last_seen)")

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=10)

    def record(self, mac: str, org_key: str, user_agent: str, address: str, when: float | None = None) -> None:
        now = time.time() if when is None else when
        row = self._pending.get((org_key, mac))
        if row is None:
            self._pending[(org_key, mac)] = [org_key, mac, now, now, user_agent, address]
        else:
            row[3], row[4], row[5] = now, user_agent, address

    def take(self) -> list[list]:
        """The rows recorded since the last take (call on the thread that records)."""
        pending, self._pending = self._pending, {}
        return list(pending.values())

    def restore(self, rows: list[list]) -> None:
        """Put rows whose write failed back (call on the thread that records)."""
        for row in rows:
            current = self._pending.get((row[0], row[1]))
            if current is None:
                self._pending[(row[0], row[1])] = row
            else:
                current[2] = min(current[2], row[2])

    def write(self, rows: list[list]) -> int:
        """Upsert taken rows (any thread; a blocking SQLite write)."""
        if rows:
            with self._lock, self._connect() as db:
                db.executemany(self.UPSERT, rows)
        return len(rows)

    def flush(self) -> int:
        rows = self.take()
        try:
            return self.write(rows)
        except sqlite3.Error:
            self.restore(rows)
            raise

    def since(self, since: float, limit: int = 100_000) -> list[dict]:
        with self._connect() as db:
            rows = db.execute("SELECT org_key, mac, first_seen, last_seen, user_agent, address FROM seen_v2 "
                              "WHERE last_seen >= ? ORDER BY last_seen LIMIT ?", (since, limit)).fetchall()
        return [{"orgKey": r[0], "mac": r[1], "firstSeen": r[2], "lastSeen": r[3], "userAgent": r[4],
                 "address": r[5]} for r in rows]
