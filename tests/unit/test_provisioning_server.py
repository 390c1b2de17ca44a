"""Pure parts of the provisioning server: User-Agent parsing, HTTP auth, the store and the request handler."""
import base64
import hashlib
import time

import pytest

from devices.provisioning.http import Request
from devices.provisioning.httpauth import REALM, Authenticator
from devices.provisioning.server import ProvisioningServer
from devices.provisioning.store import PhoneAgent, SeenLog, Store, normalize_mac, parse_user_agent


@pytest.mark.parametrize("value,expected", [
    ("Cisco-CP-7832-3PCC/11.0.1 (00562b043615)", PhoneAgent("7832", "11.0.1", "00562b043615")),
    ("Cisco-CP-8851-3PCC/12.0.7MPP0201-66 (00562B043615)", PhoneAgent("8851", "12.0.7MPP0201-66", "00562b043615")),
    ("Cisco-CP-6841-3PCC/11.3.7 (00:56:2b:04:36:15)", PhoneAgent("6841", "11.3.7", "00562b043615")),
    ("  Cisco-CP-7841-3PCC/11.0.1 (00562b043615)  ", PhoneAgent("7841", "11.0.1", "00562b043615")),
])
def test_user_agent_of_mpp_phones(value, expected):
    assert parse_user_agent(value) == expected


@pytest.mark.parametrize("value", [
    None, "", "curl/8.0", "Cisco-CP-7832-3PCC/11.0.1", "Cisco-CP-7832-3PCC/11.0.1 (00562b04361)",
    "Cisco-CP-7832-3PCC/11.0.1 (00562b04361g)", "Cisco-CP-783-3PCC/11.0.1 (00562b043615)",
    "Cisco-CP-7832/11.0.1 (00562b043615)", "Cisco-CP-7832-3PCC/11.0.1 (00562b043615) extra",
    "Cisco/SPA504G-7.6.2 (00562b043615)",
])
def test_user_agent_anything_else_is_none(value):
    assert parse_user_agent(value) is None


def test_normalize_mac():
    assert normalize_mac("00:56:2B:04:36:15") == normalize_mac("0056.2b04.3615") == "00562b043615"
    assert normalize_mac("00-56-2b-04-36-15") == "00562b043615"
    assert normalize_mac("00562b04361") is None and normalize_mac("zz562b043615") is None and normalize_mac("") is None


# --------------------------------------------------------------------------------------------- auth

AUTH = Authenticator(b"secret")


def md5(text):
    return hashlib.md5(text.encode()).hexdigest()


def digest_header(user, password, uri="/k/a.xml", method="GET", nonce=None, realm=REALM, nc="00000001"):
    nonce = nonce or AUTH.new_nonce()
    ha1, ha2 = md5(f"{user}:{realm}:{password}"), md5(f"{method}:{uri}")
    response = md5(f"{ha1}:{nonce}:{nc}:abc:auth:{ha2}")
    return (f'Digest username="{user}", realm="{realm}", nonce="{nonce}", uri="{uri}", qop=auth, nc={nc}, '
            f'cnonce="abc", response="{response}", algorithm=MD5')


def basic(user, password):
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def test_basic_auth_accepts_any_current_password_for_rotation():
    assert AUTH.check(basic("u", "new"), "GET", "/", "u", ("old", "new")) == "ok"
    assert AUTH.check(basic("u", "old"), "GET", "/", "u", ("old", "new")) == "ok"
    assert AUTH.check(basic("u", "bad"), "GET", "/", "u", ("old", "new")) == "denied"
    assert AUTH.check(basic("x", "new"), "GET", "/", "u", ("new",)) == "denied"
    assert AUTH.check("Basic !!!", "GET", "/", "u", ("new",)) == "denied"
    assert AUTH.check(None, "GET", "/", "u", ("new",)) == "denied"


def test_digest_auth():
    assert AUTH.check(digest_header("u", "p"), "GET", "/k/a.xml", "u", ("p",)) == "ok"
    assert AUTH.check(digest_header("u", "bad"), "GET", "/k/a.xml", "u", ("p",)) == "denied"
    # the digest covers the URI: replaying it for another file fails
    assert AUTH.check(digest_header("u", "p"), "GET", "/k/b.xml", "u", ("p",)) == "denied"
    assert AUTH.check(digest_header("u", "p", nonce="123.forged"), "GET", "/k/a.xml", "u", ("p",)) == "denied"
    assert AUTH.check(digest_header("u", "p", realm="other"), "GET", "/k/a.xml", "u", ("p",)) == "denied"
    old = AUTH.new_nonce(now=time.time() - 3600)
    assert AUTH.check(digest_header("u", "p", nonce=old), "GET", "/k/a.xml", "u", ("p",)) == "stale"
    other_server = Authenticator(b"other")
    assert other_server.check(digest_header("u", "p"), "GET", "/k/a.xml", "u", ("p",)) == "denied"


# --------------------------------------------------------------------------------------------- store + handler

KEY, MAC = "orgkey-1234", "00562b043615"


@pytest.fixture
def server(tmp_path):
    return ProvisioningServer(Store(tmp_path), SeenLog(tmp_path / "seen.sqlite3"), "token")


def req(path, ua=f"Cisco-CP-7841-3PCC/12.0.1 ({MAC})", method="GET", **headers):
    return Request(method=method, path=path, path_qs=path, query={}, body=b"", remote="127.0.0.1",
                   headers={"user-agent": ua, **{k.replace("_", "-"): v for k, v in headers.items()}})


def test_store_put_is_idempotent_and_shared_between_instances(tmp_path):
    a, b = Store(tmp_path), Store(tmp_path)
    entry, changed = a.put(KEY, f"{MAC}.xml", b"<x/>", model="7841", http_user="u", http_passwords=["p"])
    assert changed and entry.mac == MAC
    assert a.put(KEY, f"{MAC}.xml", b"<x/>", model="7841", http_user="u", http_passwords=["p"])[1] is False
    assert b.get(KEY, f"{MAC}.xml") == entry
    a.put(KEY, f"{MAC}.xml", b"<y/>", model="7841", http_user="u", http_passwords=["p"])
    assert b.get(KEY, f"{MAC}.xml").body == b"<y/>"  # the other process's cache notices
    assert a.delete(KEY, f"{MAC}.xml") and b.get(KEY, f"{MAC}.xml") is None
    for key, name in (("../etc", "passwd"), (KEY, "../x.xml"), ("short", "a.xml"), (KEY, ".hidden")):
        assert a.get(key, name) is None
        with pytest.raises(ValueError):
            a.put(key, name, b"x")
    with pytest.raises(ValueError):
        a.put(KEY, f"{MAC}.xml", b"x", mac="001122334455")


def test_handler_device_file_checks(server):
    server.store.put(KEY, f"{MAC}.xml", b"<flat-profile/>", model="7841", http_user="u", http_passwords=["p"])
    auth = basic("u", "p")
    assert server.handle(req(f"/{KEY}/{MAC}.xml", authorization=auth)).status == 200
    assert server.handle(req(f"/{KEY}/{MAC.upper()}.xml", authorization=auth)).status == 200
    assert server.handle(req(f"/{KEY}/{MAC}.xml", ua="Cisco-CP-7841-3PCC/1 (00562b043616)",
                             authorization=auth)).status == 403
    assert server.handle(req(f"/{KEY}/{MAC}.xml")).status == 401
    assert server.handle(req(f"/otherkey-99/{MAC}.xml", authorization=auth)).status == 404
    ok = server.handle(req(f"/{KEY}/{MAC}.xml", authorization=auth))
    etag = server.store.get(KEY, f"{MAC}.xml").etag
    assert f"ETag: {etag}".encode() in ok.head
    assert server.handle(req(f"/{KEY}/{MAC}.xml", authorization=auth, if_none_match=etag)).status == 304
    assert server.handle(req(f"/{KEY}/{MAC}.xml", authorization=auth, if_none_match='"other"')).status == 200
    assert server.handle(req(f"/{KEY}/{MAC}.xml", method="POST", authorization=auth)).status == 405
    server.seen.flush()
    [row] = server.seen.since(0)
    assert row["mac"] == MAC and row["orgKey"] == KEY and row["firstSeen"] <= row["lastSeen"]


def test_handler_bootstrap_is_public(server):
    server.store.put(KEY, "7841-3PCC.xml", b"<flat-profile/>")
    assert server.handle(req(f"/{KEY}/7841-3PCC.xml", ua="anything")).status == 200
    assert server.handle(req("/_seen")).status == 401
    assert server.handle(req(f"/_push/{KEY}/7841-3PCC.xml", method="DELETE")).status == 401
    assert server.handle(req(f"/_push/{KEY}/7841-3PCC.xml", method="DELETE", authorization="Bearer token")
                         ).status == 200
    assert server.handle(req(f"/{KEY}/7841-3PCC.xml")).status == 404


def test_seen_log_keeps_each_organisation_key_apart_and_merges_processes(tmp_path):
    a, b = SeenLog(tmp_path / "seen.sqlite3"), SeenLog(tmp_path / "seen.sqlite3")
    b.record(MAC, "old-org-key", "ua-old", "10.0.0.1", when=100.0)
    a.record(MAC, KEY, "ua-1", "10.0.0.2", when=200.0)
    a.record(MAC, KEY, "ua-2", "10.0.0.2", when=300.0)
    a.flush()
    b.flush()  # an older record flushed later by another process
    b.record(MAC, KEY, "ua-0", "10.0.0.9", when=150.0)
    b.flush()
    rows = {r["orgKey"]: r for r in a.since(0)}
    assert set(rows) == {KEY, "old-org-key"}
    assert (rows[KEY]["firstSeen"], rows[KEY]["lastSeen"], rows[KEY]["userAgent"]) == (150.0, 300.0, "ua-2")
    assert [r["orgKey"] for r in a.since(250)] == [KEY]
