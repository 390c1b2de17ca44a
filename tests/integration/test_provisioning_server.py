"""The real provisioning server process, fed through the push adapter and fetched from as an MPP phone would."""
import time
from datetime import timedelta

import pytest
import requests
from django.utils import timezone
from lxml import etree
from requests.auth import HTTPBasicAuth, HTTPDigestAuth

from devices.actions import create_device, reset_first_contact
from devices.models import Device, DeviceStatus
from devices.provisioning import client
from devices.provisioning.server import SEEN_FLUSH_INTERVAL
from devices.provisioning.tasks import import_seen
from tests.conftest import SYSTEM
from tests.integration.api_fixtures import DEVICE, Api, api_fixture, wid  # noqa: F401 (fixtures)

pytest_plugins = ["tests.integration.provisioning_fixtures"]
pytestmark = pytest.mark.django_db

MAC = "00562b043615"


def ua(mac: str = MAC, model: str = "7841") -> dict:
    return {"User-Agent": f"Cisco-CP-{model}-3PCC/12.0.1 ({mac})"}


def params(xml: bytes) -> dict[str, str]:
    root = etree.fromstring(xml)
    assert root.tag == "flat-profile"
    return {el.tag: el.text or "" for el in root}


@pytest.fixture
def phone(org, make_calling_person):
    alice = make_calling_person(org, "1001")
    return create_device(SYSTEM, org, mac="00:56:2B:04:36:15", model="Cisco 7841", owner=alice)


def get(url, **kwargs):
    return requests.get(url, timeout=5, **kwargs)


@pytest.mark.parametrize("key", ["_starts-with-underscore-00000000", "-starts-with-dash-000000000000000"])
def test_an_organisation_key_may_begin_with_any_key_character(provisioning, phone, org, key):
    # token_urlsafe makes such keys now and then; the server's own paths (/_push, /_bulk…) must not shadow them
    type(org).objects.filter(pk=org.pk).update(provisioning_key=key)
    phone.organization.refresh_from_db()
    Device.objects.filter(pk=phone.pk).update(first_seen=timezone.now() - timedelta(days=1))
    phone.refresh_from_db()
    result = client.push_device(phone)
    assert result.url == f"{provisioning.url}/{key}/{MAC}.xml"
    response = get(result.url, headers=ua(), auth=HTTPBasicAuth(phone.provisioning_user, phone.provisioning_password))
    assert response.status_code == 200, response.text


def test_phone_journey_push_fetch_auth_etag_remove_seen(provisioning, phone, org, other_org):
    # a phone that has fetched before (trust on first fetch is tested on its own below)
    Device.objects.filter(pk=phone.pk).update(first_seen=timezone.now() - timedelta(days=1))
    phone.refresh_from_db()
    result = client.push_device(phone)
    assert result.changed and result.url == f"{provisioning.url}/{org.provisioning_key}/{MAC}.xml"
    auth = HTTPBasicAuth(phone.provisioning_user, phone.provisioning_password)

    # the phone, with the right User-Agent and its credentials, gets its own file
    response = get(result.url, headers=ua(), auth=auth)
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"].startswith("application/xml")
    p = params(response.content)
    assert p["Auth_ID_1_"] == phone.lines.get().auth_id
    assert p["Password_1_"] == phone.lines.get().auth_password
    etag = response.headers["ETag"]
    assert etag == result.etag
    # Digest works as well as Basic
    digest = HTTPDigestAuth(phone.provisioning_user, phone.provisioning_password)
    assert get(result.url, headers=ua(), auth=digest).status_code == 200
    assert requests.head(result.url, headers=ua(), auth=auth, timeout=5).status_code == 200

    # another phone's User-Agent (MAC or model) → 403, even with the right credentials
    assert get(result.url, headers=ua("00562b043616"), auth=auth).status_code == 403
    assert get(result.url, headers=ua(model="8851"), auth=auth).status_code == 403
    assert get(result.url, headers={"User-Agent": "curl/8"}, auth=auth).status_code == 403
    # another organisation's key never reaches this phone's file; unknown files and keys are 404
    assert get(f"{provisioning.url}/{other_org.provisioning_key}/{MAC}.xml", headers=ua(), auth=auth
               ).status_code == 404
    assert get(f"{provisioning.url}/{org.provisioning_key}/00562b049999.xml", headers=ua("00562b049999")
               ).status_code == 404
    assert get(f"{provisioning.url}/no-such-key-000/{MAC}.xml", headers=ua()).status_code == 404

    # missing or wrong HTTP credentials → 401 with Digest and Basic challenges
    missing = get(result.url, headers=ua())
    assert missing.status_code == 401 and "Digest" in missing.headers["WWW-Authenticate"]
    assert "Basic" in missing.headers["WWW-Authenticate"]
    assert get(result.url, headers=ua(), auth=HTTPBasicAuth(phone.provisioning_user, "wrong")).status_code == 401
    assert get(result.url, headers=ua(), auth=HTTPDigestAuth(phone.provisioning_user, "wrong")).status_code == 401
    assert get(result.url, headers=ua(), auth=HTTPBasicAuth("someone", phone.provisioning_password)
               ).status_code == 401

    # ETag / If-None-Match → 304 without a body
    not_modified = get(result.url, headers={**ua(), "If-None-Match": etag}, auth=auth)
    assert not_modified.status_code == 304 and not_modified.content == b"" and not_modified.headers["ETag"] == etag
    # an unchanged re-push changes nothing; a changed one changes the ETag, and the old one gets the new file
    assert client.push_device(phone).changed is False
    line = phone.lines.get()
    line.line_label = "Front desk"
    line.save()
    changed = client.push_device(Device.objects.get(pk=phone.pk))
    assert changed.changed and changed.etag != etag
    refreshed = get(result.url, headers={**ua(), "If-None-Match": etag}, auth=auth)
    assert refreshed.status_code == 200 and refreshed.headers["ETag"] == changed.etag
    assert params(refreshed.content)["Short_Name_1_"] == "Front desk"

    # the bootstrap file is public, carries no secret and sends the phone on to its device file
    bootstrap = get(client.bootstrap_url(org, phone.model), headers=ua())
    assert bootstrap.status_code == 200
    b = params(bootstrap.content)
    assert b["Profile_Rule_B"] == f"{provisioning.url}/{org.provisioning_key}/$MA.xml"
    assert phone.provisioning_password not in bootstrap.text and line.auth_password not in bootstrap.text
    assert get(client.bootstrap_url(other_org, phone.model)).status_code == 404

    # the seen log reaches the device: first/last seen, online (each server process flushes it every second)
    assert Device.objects.get(pk=phone.pk).last_seen is None
    time.sleep(SEEN_FLUSH_INTERVAL + 0.5)
    counts = import_seen(since=time.time() - 600)
    assert counts["updated"] == 1
    seen = Device.objects.get(pk=phone.pk)
    assert seen.status == DeviceStatus.ONLINE and seen.first_seen <= seen.last_seen
    assert import_seen(since=time.time() - 600)["updated"] == 0  # idempotent

    # removed → 404; removing again is harmless
    assert client.remove_device(org.provisioning_key, MAC) is True
    assert get(result.url, headers=ua(), auth=auth).status_code == 404
    assert client.remove_device(org.provisioning_key, MAC) is False
    # a deleted organisation's files all go at once
    assert get(client.bootstrap_url(org, phone.model)).status_code == 200
    assert client.remove_organization(org.provisioning_key) == 1
    assert get(client.bootstrap_url(org, phone.model)).status_code == 404
    assert client.remove_organization(org.provisioning_key) == 0


def test_first_contact_serves_a_factory_fresh_phone_once_then_needs_its_credentials(provisioning, phone, org,
                                                                                    other_org):
    assert client.first_contact_open(phone)
    result = client.push_device(phone)
    # wrong User-Agent MAC or model, or another organisation's key: never, first contact or not
    assert get(result.url, headers=ua("00562b043616")).status_code == 403
    assert get(result.url, headers=ua(model="8851")).status_code == 403
    assert get(f"{provisioning.url}/{other_org.provisioning_key}/{MAC}.xml", headers=ua()).status_code == 404
    # a HEAD does not use it up
    assert requests.head(result.url, headers=ua(), timeout=5).status_code == 401
    # the factory-fresh phone: right User-Agent, no credentials -> its file, once
    first = get(result.url, headers=ua())
    assert first.status_code == 200, first.text
    p = params(first.content)
    assert p["Profile_Rule"] == (f"[--uid {phone.provisioning_user} --pwd {phone.provisioning_password}]"
                                 f"{provisioning.url}/{org.provisioning_key}/$MA.xml")
    assert p["Profile_Rule_B"] == "" and p["Auth_ID_1_"] == phone.lines.get().auth_id
    # from now on only with the credentials the file gave it (another process of the server answers too)
    for _ in range(4):
        assert get(result.url, headers=ua()).status_code == 401
        assert get(result.url, headers=ua(), auth=HTTPBasicAuth(phone.provisioning_user, "guess")).status_code == 401
    assert get(result.url, headers=ua(), auth=HTTPDigestAuth(phone.provisioning_user, phone.provisioning_password)
               ).status_code == 200
    # re-pushing the same file (the seen log not imported yet) does not open the door again
    assert client.push_device(Device.objects.get(pk=phone.pk)).changed is False
    assert get(result.url, headers=ua()).status_code == 401

    # once the portal knows the phone was seen, its file no longer offers first contact at all
    time.sleep(SEEN_FLUSH_INTERVAL + 0.5)
    import_seen(since=time.time() - 600)
    seen = Device.objects.get(pk=phone.pk)
    assert seen.first_seen is not None and not client.first_contact_open(seen)
    client.push_device(seen)
    assert get(result.url, headers=ua()).status_code == 401

    # an administrator resets first contact (phone factory reset): once more without credentials, and the file
    # carries a new password; the old one stops working
    old_password = seen.provisioning_password
    reset = reset_first_contact(SYSTEM, seen)
    assert reset.first_seen is None and reset.provisioning_password != old_password
    client.push_device(Device.objects.get(pk=phone.pk))
    again = get(result.url, headers=ua())
    assert again.status_code == 200 and f"--pwd {reset.provisioning_password}]" in again.text
    assert get(result.url, headers=ua()).status_code == 401
    assert get(result.url, headers=ua(), auth=HTTPBasicAuth(phone.provisioning_user, old_password)).status_code == 401
    assert get(result.url, headers=ua(), auth=HTTPBasicAuth(phone.provisioning_user, reset.provisioning_password)
               ).status_code == 200


def test_first_contact_is_off_without_per_device_auth(provisioning, phone, settings):
    settings.PROVISIONING_HTTP_AUTH = False
    assert not client.first_contact_open(phone)
    url = client.push_device(phone).url
    body = get(url, headers=ua())
    assert body.status_code == 200 and "Profile_Rule" not in params(body.content)


def test_reset_first_contact_from_the_portal_and_the_api(api, phone, org, full_admin, make_admin, settings):
    from controlhub.models import AuditEvent
    from controlhub.roles import Role
    from tests.integration.portal_support import client_for

    settings.PROVISIONING_HTTP_AUTH = True
    Device.objects.filter(pk=phone.pk).update(first_seen=timezone.now(), status=DeviceStatus.ONLINE)
    path = f"telephony/config/devices/{wid(DEVICE, phone)}/provisioning"
    assert api.get(path).json()["firstContactOpen"] is False
    admin = client_for(full_admin)
    page = admin.get(f"/devices/{phone.pk}/").content.decode()
    reset_url = f"/devices/{phone.pk}/reset-first-contact/"
    assert reset_url in page and 'id="first-contact"' in page
    # a read-only admin sees the state but may not reset it
    reader = client_for(make_admin(Role.READ_ONLY_ADMIN, org=org))
    reader_page = reader.get(f"/devices/{phone.pk}/").content.decode()
    assert 'id="first-contact"' in reader_page and reset_url not in reader_page
    assert reader.post(reset_url).status_code == 403
    assert Device.objects.get(pk=phone.pk).first_seen is not None
    assert admin.get(reset_url).status_code == 405
    response = admin.post(reset_url)
    assert response.status_code == 302
    device = Device.objects.get(pk=phone.pk)
    assert device.first_seen is None and device.status == DeviceStatus.PENDING
    body = api.get(path).json()
    assert body["firstContactOpen"] is True and body["httpPassword"] == device.provisioning_password
    event = AuditEvent.objects.filter(object_id=str(phone.pk)).latest("created")
    assert event.after == {"first_contact": "reset"} and event.actor == full_admin


def test_seen_from_another_organisations_key_is_not_this_device(provisioning, phone, org, other_org):
    # the same MAC pushed under another organisation's key (e.g. the phone moved) must not mark this device
    client.push_file(other_org.provisioning_key, f"{MAC}.xml", "<flat-profile/>", model="7841")
    assert get(f"{provisioning.url}/{other_org.provisioning_key}/{MAC}.xml", headers=ua()).status_code == 200
    time.sleep(SEEN_FLUSH_INTERVAL + 0.5)
    assert import_seen(since=time.time() - 600)["seen"] >= 1
    import_seen(since=time.time() - 600)
    assert Device.objects.get(pk=phone.pk).status == DeviceStatus.PENDING


def test_without_per_device_auth_the_user_agent_check_still_applies(provisioning, phone, settings):
    settings.PROVISIONING_HTTP_AUTH = False
    url = client.push_device(phone).url
    assert get(url, headers=ua()).status_code == 200
    assert get(url, headers=ua("00562b043616")).status_code == 403


def test_push_api_needs_the_token(provisioning, org):
    url = f"{provisioning.url}/_push/{org.provisioning_key}/{MAC}.xml"
    assert requests.put(url, json={"content": "<flat-profile/>"}, timeout=5).status_code == 401
    assert requests.put(url, json={"content": "x"}, headers={"Authorization": "Bearer wrong"},
                        timeout=5).status_code == 401
    assert requests.get(f"{provisioning.url}/_seen", timeout=5).status_code == 401
    good = {"Authorization": f"Bearer {provisioning.token}"}
    assert requests.put(f"{provisioning.url}/_push/{org.provisioning_key}/..%2Fx.xml", json={"content": "x"},
                        headers=good, timeout=5).status_code in (400, 404)
    assert requests.put(url, data=b"not json", headers=good, timeout=5).status_code == 400
    # a device file's name and its MAC must agree
    assert requests.put(url, json={"content": "x", "mac": "001122334455"}, headers=good, timeout=5
                        ).status_code == 400


def test_bulk_push_applies_good_items_and_reports_bad_ones_alone(provisioning, org, other_org):
    url = f"{provisioning.url}/_bulk"
    body = {"put": [{"orgKey": org.provisioning_key, "name": "7841-3PCC.xml", "content": "<flat-profile/>"},
                    {"orgKey": org.provisioning_key, "name": "../x.xml", "content": "x"},
                    {"orgKey": org.provisioning_key, "name": f"{MAC}.xml", "content": "<flat-profile/>",
                     "mac": "001122334455"},
                    {"orgKey": other_org.provisioning_key, "name": f"{MAC.upper()}.xml", "content": "<a/>",
                     "model": "7841", "httpUser": "u", "httpPasswords": ["p"]}],
            "delete": [{"orgKey": org.provisioning_key, "name": "nothing.xml"}, {"name": "x"}]}
    assert requests.post(url, json=body, timeout=5).status_code == 401
    good = {"Authorization": f"Bearer {provisioning.token}"}
    assert requests.get(url, headers=good, timeout=5).status_code == 405
    assert requests.post(url, data=b"[1]", headers=good, timeout=5).status_code == 400
    answer = requests.post(url, json=body, headers=good, timeout=5).json()
    put = answer["put"]
    assert put[0]["changed"] is True and put[3]["changed"] is True
    assert "error" in put[1] and "MAC does not match" in put[2]["error"]
    assert answer["delete"] == [{"deleted": False}, {"error": "each item needs orgKey and name"}]
    assert requests.post(url, json=body, headers=good, timeout=5).json()["put"][0]["changed"] is False
    assert get(f"{provisioning.url}/{org.provisioning_key}/7841-3PCC.xml").status_code == 200
    # the device file landed under its lowercase name, with its credentials
    fetched = get(f"{provisioning.url}/{other_org.provisioning_key}/{MAC}.xml", headers=ua(), auth=("u", "p"))
    assert fetched.status_code == 200 and fetched.content == b"<a/>"
    assert get(f"{provisioning.url}/{org.provisioning_key}/{MAC}.xml", headers=ua()).status_code == 404


def test_unreachable_server_raises_quickly(settings):
    settings.PROVISIONING_PUSH_URL = "http://127.0.0.1:9"  # discard port: nothing listens
    settings.PROVISIONING_PUSH_TOKEN = "x"
    settings.PROVISIONING_TIMEOUT = 1
    client._drop_connection()
    started = time.monotonic()
    with pytest.raises(client.ProvisioningUnavailable):
        client.remove_device("abcdefgh", MAC)
    assert time.monotonic() - started < 3
    settings.PROVISIONING_PUSH_URL = ""
    settings.PROVISIONING_STORE = ""
    with pytest.raises(client.ProvisioningNotConfigured):
        client.remove_device("abcdefgh", MAC)


def test_without_a_push_url_workers_write_the_store_the_server_serves(provisioning, phone, org, settings):
    settings.PROVISIONING_PUSH_URL = ""
    settings.PROVISIONING_STORE = str(provisioning.store)
    result = client.push_device(phone)
    auth = HTTPBasicAuth(phone.provisioning_user, phone.provisioning_password)
    assert get(result.url, headers=ua(), auth=auth).status_code == 200
    time.sleep(SEEN_FLUSH_INTERVAL + 0.5)
    assert import_seen(since=time.time() - 600)["updated"] == 1
    assert client.remove_device(org.provisioning_key, MAC) is True
    assert get(result.url, headers=ua(), auth=auth).status_code == 404


# --------------------------------------------------------------------------------------------- /v1 API


def test_api_provisioning_urls_and_credentials(api, phone, org, other_org, make_admin, make_calling_person,
                                               settings):
    settings.PROVISIONING_URL = "https://prov.example.com"
    settings.PROVISIONING_HTTP_AUTH = True
    path = f"telephony/config/devices/{wid(DEVICE, phone)}/provisioning"
    body = api.get(path).json()
    assert body == {
        "provisioningUrl": f"https://prov.example.com/{org.provisioning_key}/",
        "bootstrapUrl": f"https://prov.example.com/{org.provisioning_key}/7841-3PCC.xml",
        "configUrl": f"https://prov.example.com/{org.provisioning_key}/{MAC}.xml",
        "httpUser": phone.provisioning_user, "httpPassword": phone.provisioning_password,
        "firstContactOpen": True,
    }
    settings.PROVISIONING_HTTP_AUTH = False
    assert set(api.get(path).json()) == {"provisioningUrl", "bootstrapUrl", "configUrl"}
    settings.PROVISIONING_HTTP_AUTH = True
    # a read-only admin sees the URLs, never the credentials
    from controlhub.roles import Role

    reader = Api(make_admin(Role.READ_ONLY_ADMIN, org=org))
    assert set(reader.get(path).json()) == {"provisioningUrl", "bootstrapUrl", "configUrl", "firstContactOpen"}
    # another organisation's admin: 404, also when naming the device's organisation
    stranger = Api(make_admin(Role.FULL_ADMIN, org=other_org))
    assert stranger.get(path).status_code == 404
    other_device = create_device(SYSTEM, other_org, mac="00562b04aaaa", model="Cisco 7841",
                                 owner=make_calling_person(other_org, "2001"))
    assert api.get(f"telephony/config/devices/{wid(DEVICE, other_device)}/provisioning").status_code == 404


# --------------------------------------------------------------------------------------------- portal


def test_device_page_shows_the_provisioning_urls(phone, org, full_admin, make_admin, settings):
    from controlhub.roles import Role
    from tests.integration.portal_support import client_for

    settings.PROVISIONING_URL = "https://prov.example.com"
    settings.PROVISIONING_HTTP_AUTH = True
    page = client_for(full_admin).get(f"/devices/{phone.pk}/").content.decode()
    assert f"https://prov.example.com/{org.provisioning_key}/" in page
    assert f"https://prov.example.com/{org.provisioning_key}/7841-3PCC.xml" in page
    assert f"https://prov.example.com/{org.provisioning_key}/{MAC}.xml" in page
    assert "DHCP option 66" in page and phone.provisioning_password in page
    reader_page = client_for(make_admin(Role.READ_ONLY_ADMIN, org=org)).get(f"/devices/{phone.pk}/").content.decode()
    assert f"https://prov.example.com/{org.provisioning_key}/" in reader_page
    assert phone.provisioning_password not in reader_page


# --------------------------------------------------------------------------------------------- HTTP edge cases


def _raw(url: str, payload: bytes) -> bytes:
    import socket
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=5) as sock:
        sock.sendall(payload)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
        return b"".join(chunks)


def test_pipelining_bad_requests_and_limits(provisioning, org):
    client.push_file(org.provisioning_key, "7841-3PCC.xml", "<flat-profile/>")
    path = f"/{org.provisioning_key}/7841-3PCC.xml"
    # two pipelined requests answered in order, the second closes the connection
    answer = _raw(provisioning.url, (f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n"
                                     f"HEAD /nope/x.xml HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").encode())
    assert answer.startswith(b"HTTP/1.1 200 OK") and answer.count(b"HTTP/1.1 ") == 2
    assert b"<flat-profile/>" in answer and answer.index(b"200 OK") < answer.index(b"404 Not Found")
    assert _raw(provisioning.url, b"NONSENSE\r\n\r\n").startswith(b"HTTP/1.1 400")
    huge = "X-Filler: " + "a" * 20000
    assert _raw(provisioning.url, f"GET {path} HTTP/1.1\r\n{huge}\r\n\r\n".encode()).startswith(b"HTTP/1.1 431")
    assert _raw(provisioning.url, f"GET /{'a' * 5000} HTTP/1.1\r\n\r\n".encode()).startswith(b"HTTP/1.1 414")
    # HTTP/1.0 gets its answer and the connection closed
    assert _raw(provisioning.url, f"GET {path} HTTP/1.0\r\n\r\n".encode()).startswith(b"HTTP/1.1 200")
