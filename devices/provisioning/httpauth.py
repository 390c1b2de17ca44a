"""HTTP Basic and Digest (RFC 7616, MD5, qop=auth) checks for per-device provisioning credentials.

MPP phones send the credentials of their `[--uid … --pwd …]` profile rule with either scheme (the reference's
FusionPBX server accepts both). Nonces are stateless — `<time>.<hmac>` under a secret every server process
shares — so any process can check a nonce another one issued. Several passwords may be valid at once (rotation).
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import time
from functools import lru_cache

REALM = "controlhub provisioning"
NONCE_LIFETIME = 300  # seconds; an older nonce gets a fresh challenge with stale=true
_PARAM = re.compile(r'(\w+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))')


def _md5(text: str) -> str:
    return hashlib.md5(text.encode("utf-8"), usedforsecurity=False).hexdigest()


class Authenticator:
    def __init__(self, secret: bytes, realm: str = REALM):
        self.secret = secret
        self.realm = realm

    # ------------------------------------------------------------------------------------------- challenges

    def new_nonce(self, now: float | None = None) -> str:
        stamp = str(int(now if now is not None else time.time()))
        mac = hmac.new(self.secret, stamp.encode(), hashlib.sha256).hexdigest()[:32]
        return f"{stamp}.{mac}"

    def nonce_state(self, nonce: str) -> str:
        """'ok', 'stale' (genuine but expired) or 'bad'."""
        stamp, _, mac = nonce.partition(".")
        expected = hmac.new(self.secret, stamp.encode(), hashlib.sha256).hexdigest()[:32]
        if not stamp.isdigit() or not hmac.compare_digest(mac, expected):
            return "bad"
        return "ok" if time.time() - int(stamp) <= NONCE_LIFETIME else "stale"

    def challenges(self, stale: bool = False) -> list[str]:
        digest = f'Digest realm="{self.realm}", qop="auth", algorithm=MD5, nonce="{self.new_nonce()}"'
        if stale:
            digest += ", stale=true"
        return [digest, f'Basic realm="{self.realm}", charset="UTF-8"']

    # ------------------------------------------------------------------------------------------- checking

    def check(self, header: str | None, method: str, uri: str, user: str, passwords: tuple[str, ...]) -> str:
        """'ok', 'stale' (Digest with an expired nonce: challenge again with stale=true) or 'denied'."""
        if not header or not user or not passwords:
            return "denied"
        scheme, _, value = header.strip().partition(" ")
        scheme = scheme.lower()
        if scheme == "basic":
            return "ok" if self._basic(value.strip(), user, passwords) else "denied"
        if scheme == "digest":
            return self._digest(value, method, uri, user, passwords)
        return "denied"

    @staticmethod
    @lru_cache(maxsize=4096)
    def _decode_basic(value: str) -> tuple[str, str] | None:
        """Decoded `user:password` (cached: a resyncing phone sends the same header every time)."""
        try:
            given_user, sep, given_password = base64.b64decode(value, validate=True).decode("utf-8").partition(":")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            return None
        return (given_user, given_password) if sep else None

    def _basic(self, value: str, user: str, passwords: tuple[str, ...]) -> bool:
        decoded = self._decode_basic(value)
        if decoded is None:
            return False
        given_user, given_password = decoded
        user_ok = hmac.compare_digest(given_user.encode(), user.encode())
        password_ok = any(hmac.compare_digest(given_password.encode(), p.encode()) for p in passwords)
        return user_ok and password_ok

    def _digest(self, value: str, method: str, uri: str, user: str, passwords: tuple[str, ...]) -> str:
        params = {m[1].lower(): (m[2].replace('\\"', '"').replace("\\\\", "\\") if m[2] is not None else m[3])
                  for m in _PARAM.finditer(value)}
        required = ("username", "realm", "nonce", "uri", "response")
        if any(not params.get(name) for name in required):
            return "denied"
        if params["realm"] != self.realm or params.get("algorithm", "MD5").upper() != "MD5":
            return "denied"
        if not hmac.compare_digest(params["username"].encode(), user.encode()):
            return "denied"
        if params["uri"] != uri:  # the digest covers the URI: it must be this request's
            return "denied"
        state = self.nonce_state(params["nonce"])
        if state != "ok":
            return "stale" if state == "stale" else "denied"
        qop = params.get("qop")
        ha2 = _md5(f"{method}:{params['uri']}")
        for password in passwords:
            ha1 = _md5(f"{user}:{self.realm}:{password}")
            if qop == "auth":
                if not params.get("nc") or not params.get("cnonce"):
                    return "denied"
                expected = _md5(f"{ha1}:{params['nonce']}:{params['nc']}:{params['cnonce']}:auth:{ha2}")
            elif qop is None:
                expected = _md5(f"{ha1}:{params['nonce']}:{ha2}")  # RFC 2069 compatibility
            else:
                return "denied"
            if hmac.compare_digest(expected, params["response"].lower()):
                return "ok"
        return "denied"
