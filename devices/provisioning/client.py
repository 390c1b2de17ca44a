"""The push adapter: what Celery workers call to put phone files on the provisioning server (DESIGN section 5).

    push_device(device)          -> PushResult   the device file `<mac>.xml` (+ its model's bootstrap file)
    push_devices(devices, removed) -> BatchResult  a batch of device files, their models' bootstrap files and
                                                  removals in one bulk request (a push task's batch)
    remove_device(org_key, mac)  -> bool         the device file is gone (True if it existed)
    remove_organization(org_key) -> int          all files of a deleted organisation are gone
    push_bootstrap(org, model)   -> PushResult   `<model>-3PCC.xml` of one organisation

Every call is idempotent (the server answers `changed: false` for identical content) and short: connect and read
timeouts are `PROVISIONING_TIMEOUT` seconds; a refused connection, a timeout or a 5xx raises
`ProvisioningUnavailable` (the pipeline retries with backoff), a missing URL/token `ProvisioningNotConfigured`.

Without `PROVISIONING_PUSH_URL` the adapter writes the store (`PROVISIONING_STORE`) directly — for embedded mode
and single-host setups where the server runs beside the workers; the server sees such writes at once.
"""
from __future__ import annotations

import http.client
import json
import threading
from dataclasses import dataclass, field
from urllib.parse import quote, urlsplit

from django.conf import settings

from devices.models import Device, SupportedDevice

from . import render_bootstrap, render_device_config, renderer_for


class ProvisioningError(Exception):
    pass


class ProvisioningUnavailable(ProvisioningError):
    """The server could not be reached or failed; retry later."""


class ProvisioningNotConfigured(ProvisioningError):
    """No push URL or token is set: provisioning is switched off here."""


class ProvisioningRejected(ProvisioningUnavailable):
    """The server refused the request (wrong token, bad name): a configuration error, shown like an outage."""


@dataclass(frozen=True)
class PushResult:
    url: str        # where the phone fetches the file
    etag: str
    changed: bool


def organization_base_url(org) -> str:
    """`<PROVISIONING_URL>/<org key>`: what phones get via DHCP option 66/150/160 or their web page."""
    return f"{settings.PROVISIONING_URL}/{org.provisioning_key}"


def bootstrap_url(org, model: SupportedDevice) -> str:
    return f"{organization_base_url(org)}/{renderer_for(model).bootstrap_filename(model)}"


def device_url(device: Device) -> str:
    return f"{organization_base_url(device.organization)}/{renderer_for(device.model).device_filename(device)}"


def http_credentials(device: Device) -> tuple[str, str] | None:
    """(user, password) the phone must present for its device file, or None when per-device auth is off."""
    if not getattr(settings, "PROVISIONING_HTTP_AUTH", True):
        return None
    return device.provisioning_user, device.provisioning_password


def profile_rule(device: Device) -> str | None:
    """The rule written into the device file so the phone fetches it with its credentials on every resync
    (`[--uid … --pwd …]<base>/$MA.xml`, reference/mpp-provisioning.md §4); None when per-device auth is off."""
    credentials = http_credentials(device)
    if credentials is None:
        return None
    return f"[--uid {credentials[0]} --pwd {credentials[1]}]{organization_base_url(device.organization)}/$MA.xml"


def first_contact_open(device: Device) -> bool:
    """Whether the device's next fetch may come without HTTP auth (trust on first fetch): per-device auth is on
    and the device has never been seen (or an administrator reset its first contact)."""
    return http_credentials(device) is not None and device.first_seen is None


# --------------------------------------------------------------------------------------------- transport

_local = threading.local()


def _connection() -> tuple[http.client.HTTPConnection, str]:
    base = getattr(settings, "PROVISIONING_PUSH_URL", "") or ""
    token = getattr(settings, "PROVISIONING_PUSH_TOKEN", "") or ""
    if not base or not token:
        raise ProvisioningNotConfigured("No provisioning push token configured (PROVISIONING_PUSH_TOKEN).")
    timeout = float(getattr(settings, "PROVISIONING_TIMEOUT", 5))
    cached = getattr(_local, "connection", None)
    if cached is not None and cached[0] == (base, timeout):
        return cached[1], cached[2]
    parts = urlsplit(base)
    cls = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    connection = cls(parts.hostname, parts.port, timeout=timeout)
    prefix = parts.path.rstrip("/")
    _local.connection = ((base, timeout), connection, prefix)
    return connection, prefix


def _drop_connection() -> None:
    cached = getattr(_local, "connection", None)
    _local.connection = None
    if cached is not None:
        cached[1].close()


def _request(method: str, path: str, body: dict | None = None) -> dict:
    """One request on this thread's kept-alive connection; one retry on a connection the server had closed."""
    token = settings.PROVISIONING_PUSH_TOKEN
    payload = json.dumps(body).encode() if body is not None else None
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    for attempt in (1, 2):
        connection, prefix = _connection()
        try:
            connection.request(method, prefix + path, body=payload, headers=headers)
            response = connection.getresponse()
            data = response.read()
            break
        except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError) as exc:
            _drop_connection()
            if attempt == 2:
                raise ProvisioningUnavailable(f"Provisioning server closed the connection: {exc}") from exc
        except (OSError, http.client.HTTPException) as exc:
            _drop_connection()
            raise ProvisioningUnavailable(f"Provisioning server unreachable: {exc}") from exc
    if response.status >= 500:
        _drop_connection()
        raise ProvisioningUnavailable(f"Provisioning server error {response.status}")
    if response.status >= 400:
        raise ProvisioningRejected(f"Provisioning server refused {method} {path}: {response.status} {data[:200]!r}")
    try:
        return json.loads(data) if data else {}
    except ValueError as exc:
        raise ProvisioningUnavailable("Provisioning server answered something that is not JSON") from exc


def _local_store():
    """Without a push URL, workers on the server's host write its store directly (embedded mode, DESIGN §2)."""
    if getattr(settings, "PROVISIONING_PUSH_URL", ""):
        return None
    root = getattr(settings, "PROVISIONING_STORE", "")
    if not root:
        raise ProvisioningNotConfigured("No provisioning server configured (PROVISIONING_PUSH_URL or _STORE).")
    from .store import Store

    try:
        return Store(root)
    except OSError as exc:
        raise ProvisioningUnavailable(f"Provisioning store {root} not writable: {exc}") from exc


def _push_path(org_key: str, name: str) -> str:
    return f"/_push/{quote(org_key, safe='')}/{quote(name, safe='')}"


# --------------------------------------------------------------------------------------------- operations


def push_file(org_key: str, name: str, content: str, *, mac: str | None = None, model: str | None = None,
              http_user: str = "", http_passwords: list[str] | tuple[str, ...] = (), first_contact: str = "") -> dict:
    """Low-level: put one file (and its metadata) into the server's store; {"etag", "changed"}."""
    if (store := _local_store()) is not None:
        try:
            entry, changed = store.put(org_key, name, content.encode("utf-8"), mac=mac, model=model,
                                       http_user=http_user, http_passwords=tuple(http_passwords),
                                       first_contact=first_contact)
        except ValueError as exc:
            raise ProvisioningRejected(str(exc)) from exc
        except OSError as exc:
            raise ProvisioningUnavailable(f"Provisioning store not writable: {exc}") from exc
        return {"etag": entry.etag, "changed": changed}
    return _request("PUT", _push_path(org_key, name), {
        "content": content, "mac": mac, "model": model, "httpUser": http_user,
        "httpPasswords": list(http_passwords), "firstContact": first_contact})


def push_bootstrap(org, model: SupportedDevice) -> PushResult:
    """The organisation's public model file (`8851-3PCC.xml`), pointing phones on to `<base>/$MA.xml`."""
    renderer = renderer_for(model)
    name = renderer.bootstrap_filename(model)
    body = push_file(org.provisioning_key, name, render_bootstrap(model, organization_base_url(org)))
    return PushResult(f"{organization_base_url(org)}/{name}", body.get("etag", ""), bool(body.get("changed")))


def _device_item(device: Device, proxy: str | None = None, outbound_proxy: str | None = None) -> dict:
    """The device file as a push item: rendered whole from the database, with its HTTP credentials and, while
    the device is in first contact, the token under which the server may serve it once without them."""
    if proxy is None:
        proxy = getattr(settings, "PROVISIONING_SIP_PROXY", "") or None
    if outbound_proxy is None:
        outbound_proxy = getattr(settings, "PROVISIONING_OUTBOUND_PROXY", "") or None
    credentials = http_credentials(device)
    return {
        "orgKey": device.organization.provisioning_key,
        "name": renderer_for(device.model).device_filename(device),
        "content": render_device_config(device, proxy=proxy, outbound_proxy=outbound_proxy,
                                        profile_rule=profile_rule(device)),
        "mac": device.mac, "model": device.model.product_code,
        "httpUser": credentials[0] if credentials else "",
        "httpPasswords": [credentials[1]] if credentials else [],
        "firstContact": device.first_contact_token if first_contact_open(device) else "",
    }


def push_device(device: Device, *, proxy: str | None = None, outbound_proxy: str | None = None,
                with_bootstrap: bool = True) -> PushResult:
    """Render the device's whole file from the database and push it with its HTTP credentials (idempotent).

    The model's bootstrap file of the organisation is pushed too (unchanged files cost one small request), so a
    factory-fresh phone of a new model finds its way. `proxy`/`outbound_proxy` default to the settings
    `PROVISIONING_SIP_PROXY` (empty: the organisation's SIP domain) and `PROVISIONING_OUTBOUND_PROXY` (the engine).
    """
    item = _device_item(device, proxy, outbound_proxy)
    org = device.organization
    if with_bootstrap:
        push_bootstrap(org, device.model)
    body = push_file(item["orgKey"], item["name"], item["content"], mac=item["mac"], model=item["model"],
                     http_user=item["httpUser"], http_passwords=item["httpPasswords"],
                     first_contact=item["firstContact"])
    return PushResult(f"{organization_base_url(org)}/{item['name']}", body.get("etag", ""),
                      bool(body.get("changed")))


@dataclass
class BatchResult:
    """Outcome of `push_devices`: per device id a PushResult or the exception it failed with alone (a render
    bug, a file the server refused); per removed (org key, MAC) whether the server had the file."""

    devices: dict = field(default_factory=dict)
    removed: dict = field(default_factory=dict)


BULK_BYTES = 1_500_000  # per request; the server accepts bodies up to 2 MB (devices.provisioning.http.MAX_BODY)


def push_devices(devices: list[Device], removed: list[tuple[str, str]] = ()) -> BatchResult:
    """A batch of device files, one bootstrap file per (organisation, model) among them, and removals, in as few
    bulk requests as fit `BULK_BYTES` (usually one). Render with constant queries by passing devices from
    `with_render_relations`. Raises ProvisioningUnavailable/NotConfigured when the server cannot take the batch
    at all; a device that fails on its own is reported in the result and does not hold the others back.
    """
    result = BatchResult()
    items: list[dict] = []
    owners: list[Device | None] = []
    bootstraps: dict[tuple, dict] = {}
    for device in devices:
        try:
            item = _device_item(device)
            model = device.model
            org = device.organization
            if (org.pk, model.pk) not in bootstraps:
                bootstraps[(org.pk, model.pk)] = {
                    "orgKey": org.provisioning_key, "name": renderer_for(model).bootstrap_filename(model),
                    "content": render_bootstrap(model, organization_base_url(org))}
        except Exception as exc:  # noqa: BLE001 - one device's broken render must not stop the batch
            result.devices[device.pk] = exc
            continue
        items.append(item)
        owners.append(device)
    for item in bootstraps.values():
        items.append(item)
        owners.append(None)
    put_results, delete_results = push_files(items, [{"orgKey": k, "name": f"{mac.lower()}.xml"}
                                                     for k, mac in removed])
    for item, owner, answer in zip(items, owners, put_results, strict=True):
        if owner is None:
            continue
        if "error" in answer:
            result.devices[owner.pk] = ProvisioningRejected(f"Provisioning server refused {item['name']}: "
                                                            f"{answer['error']}")
        else:
            result.devices[owner.pk] = PushResult(f"{organization_base_url(owner.organization)}/{item['name']}",
                                                  answer.get("etag", ""), bool(answer.get("changed")))
    for (org_key, mac), answer in zip(removed, delete_results, strict=True):
        result.removed[(org_key, mac)] = (ProvisioningRejected(answer["error"]) if "error" in answer
                                          else bool(answer.get("deleted")))
    return result


def push_files(puts: list[dict], deletes: list[dict] = ()) -> tuple[list[dict], list[dict]]:
    """Low-level bulk: put files (`{"orgKey", "name", "content", …push_file's fields}`) and delete files
    (`{"orgKey", "name"}`); answers in order, `{"etag", "changed"}`/`{"deleted"}` or `{"error"}` per item."""
    if (store := _local_store()) is not None:
        return _store_bulk(store, puts, deletes)
    put_results: list[dict] = []
    delete_results: list[dict] = []
    chunk: list[dict] = []
    size = 0
    for item in puts:
        item_size = len(item["content"]) + 500
        if chunk and size + item_size > BULK_BYTES:
            put_results += _request("POST", "/_bulk", {"put": chunk}).get("put", [])
            chunk, size = [], 0
        chunk.append(item)
        size += item_size
    if chunk or deletes:
        body = _request("POST", "/_bulk", {"put": chunk, "delete": list(deletes)})
        put_results += body.get("put", [])
        delete_results = body.get("delete", [])
    if len(put_results) != len(puts) or len(delete_results) != len(deletes):
        raise ProvisioningUnavailable("Provisioning server answered a bulk push incompletely")
    return put_results, delete_results


def _store_bulk(store, puts: list[dict], deletes: list[dict]) -> tuple[list[dict], list[dict]]:
    prepared, put_results = [], []
    for item in puts:
        try:
            entry = store._entry(item["orgKey"], item["name"], item["content"].encode("utf-8"),
                                 mac=item.get("mac"), model=item.get("model"), http_user=item.get("httpUser", ""),
                                 http_passwords=tuple(item.get("httpPasswords", ())),
                                 first_contact=item.get("firstContact", ""))
        except ValueError as exc:
            put_results.append({"error": str(exc)})
            continue
        prepared.append((len(put_results), item, entry))
        put_results.append({})
    try:
        changed = store.put_many([(item["orgKey"], item["name"], entry) for _, item, entry in prepared])
        deleted = []
        for item in deletes:
            try:
                deleted.append({"deleted": store.delete(item["orgKey"], item["name"])})
            except ValueError as exc:
                deleted.append({"error": str(exc)})
    except OSError as exc:
        raise ProvisioningUnavailable(f"Provisioning store not writable: {exc}") from exc
    for (index, _, entry), was_changed in zip(prepared, changed, strict=True):
        put_results[index] = {"etag": entry.etag, "changed": was_changed}
    return put_results, deleted


def remove_device(org_key: str, mac: str) -> bool:
    """Remove a device's file (device deleted or moved); True if the server had it. Idempotent."""
    if (store := _local_store()) is not None:
        return store.delete(org_key, f"{mac.lower()}.xml")
    body = _request("DELETE", _push_path(org_key, f"{mac.lower()}.xml"))
    return bool(body.get("deleted"))


def remove_organization(org_key: str) -> int:
    """Remove every file of a deleted organisation; returns how many there were. Idempotent."""
    if (store := _local_store()) is not None:
        return store.delete_organization(org_key)
    return int(_request("DELETE", f"/_push/{quote(org_key, safe='')}").get("deleted") or 0)


def fetch_seen(since: float = 0) -> dict:
    """{"now", "seen": [...]}: phones' first/last successful fetch since a Unix time (see tasks.import_seen)."""
    if (store := _local_store()) is not None:
        import time
        from pathlib import Path

        from .store import SeenLog

        return {"now": time.time(), "seen": SeenLog(Path(store.root) / "seen.sqlite3").since(since)}
    return _request("GET", f"/_seen?since={since:.3f}")


__all__ = ["BatchResult", "ProvisioningError", "ProvisioningNotConfigured", "ProvisioningRejected",
           "ProvisioningUnavailable", "PushResult", "bootstrap_url", "device_url", "fetch_seen", "first_contact_open",
           "http_credentials", "organization_base_url", "profile_rule", "push_bootstrap", "push_device",
           "push_devices", "push_file", "push_files", "remove_device", "remove_organization"]
