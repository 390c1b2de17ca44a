"""Webex-style IDs: base64 of `ciscospark://us/<TYPE>/<uuid>`, padding stripped (reference/webex-api.md §6)."""
import base64
import binascii
import uuid


def webex_id(kind: str, tail: uuid.UUID | str) -> str:
    return base64.b64encode(f"ciscospark://us/{kind}/{tail}".encode()).decode().rstrip("=")


def webex_tail(value: str) -> str | None:
    """The part after the last `/`, or None for anything that is not a Webex-style ID."""
    try:
        decoded = base64.b64decode(value + "=" * (-len(value) % 4), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    if not decoded.startswith("ciscospark://"):
        return None
    return decoded.rsplit("/", 1)[-1]


def webex_uuid(value: str | None) -> uuid.UUID | None:
    """The UUID inside a Webex-style ID; also accepts a bare UUID. None when neither."""
    if not value:
        return None
    tail = webex_tail(value) or value
    try:
        return uuid.UUID(tail)
    except ValueError:
        return None


def license_id(org_uuid: uuid.UUID, kind: str, licence_uuid: uuid.UUID) -> str:
    # The SDK's own test checks this shape: <orgUuid>:<TYPE without underscore>_<uuid4>
    return webex_id("LICENSE", f"{org_uuid}:{kind}_{licence_uuid}")


def license_tail(value: str) -> tuple[uuid.UUID, str, uuid.UUID] | None:
    tail = webex_tail(value)
    if not tail or ":" not in tail or "_" not in tail:
        return None
    org, rest = tail.split(":", 1)
    kind, _, lic = rest.partition("_")
    try:
        return uuid.UUID(org), kind, uuid.UUID(lic)
    except ValueError:
        return None


def webex_kind_and_tail(value: str) -> tuple[str, str] | None:
    """(TYPE, tail) of a Webex-style ID, e.g. ("PEOPLE", "<uuid>"); None for anything else."""
    try:
        decoded = base64.b64decode(value + "=" * (-len(value) % 4), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    parts = decoded.split("/")
    if not decoded.startswith("ciscospark://") or len(parts) < 5:
        return None
    return parts[-2], parts[-1]
