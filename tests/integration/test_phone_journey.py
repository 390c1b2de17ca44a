"""A phone's journey on real processes (issue: config push pipeline): people and an MPP phone created through
/v1 → pushed by a Celery worker → the phone fetches its file from the provisioning server as an MPP phone would →
registers to Kamailio with the credentials in that file → calls a colleague's extension and an off-net number."""
import time
import uuid
import warnings

import pytest
import requests
from lxml import etree
from requests.auth import HTTPDigestAuth
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from calling.models import OutgoingPermission
from controlhub import sync
from controlhub.actions import update_location
from controlhub.api.ids import webex_id
from controlhub.models import SyncStatus
from controlhub.roles import Role
from devices.models import Device
from devices.validators import normalize_mac
from tests.conftest import SYSTEM, org_location

pytest_plugins = ["tests.integration.engine_fixtures", "tests.integration.provisioning_fixtures",
                  "tests.integration.pipeline_fixtures"]
pytestmark = pytest.mark.django_db(transaction=True)


RECONCILE_EVERY = 30.0  # what beat's "reconcile-lagging-pushes" does in a deployment (controlhub/settings.py)


def wait_synced(*objects, timeout: float = 60, targets: int = 2, worker: dict | None = None) -> None:
    """Wait until every object is synced on `targets` push targets (engine and provisioning by default); on a
    timeout the message shows the keys, their Redis claims and the end of `worker`'s log.

    The test stack runs no beat: every RECONCILE_EVERY seconds of waiting this runs the reconciler as beat would.
    A push recovered that way was lost on its way to the worker (seen once in CI: the key's claim held, no task
    received): the test still passes, as a deployment recovers, and warns with the report."""
    from tests.integration.pipeline_fixtures import pipeline_report

    started = time.monotonic()
    deadline, reconcile_at, requeued = started + timeout, started + RECONCILE_EVERY, ""
    while time.monotonic() < deadline:
        states = sync.object_status(*objects)
        if states and all(s.status == SyncStatus.SYNCED for s in states) and len(states) == targets:
            if requeued:
                warnings.warn(f"synced only after the reconciler re-queued lost pushes:\n{requeued}", stacklevel=2)
            return
        if time.monotonic() > reconcile_at:
            report = pipeline_report(objects, worker)
            if sync.reconcile():
                requeued = report
            reconcile_at += RECONCILE_EVERY
        time.sleep(0.2)
    raise AssertionError(f"not synced: {[(s.target, s.status, s.error) for s in sync.object_status(*objects)]}\n"
                         + pipeline_report(objects, worker))


class Admin:
    """An automation script with a bearer token."""

    def __init__(self, org, make_admin):
        account = make_admin(Role.FULL_ADMIN, org=org)
        self.client = APIClient()
        self.client.credentials(HTTP_AUTHORIZATION=f"Bearer {Token.objects.create(user=account).key}")
        self.org = org

    def calling_person(self, first: str, extension: str) -> str:
        response = self.client.post("/v1/people?callingData=true", {
            "emails": [f"{first.lower()}.{uuid.uuid4().hex[:6]}@{self.org.sip_domain}"],
            "firstName": first, "lastName": "Journey", "extension": extension,
            "locationId": webex_id("LOCATION", org_location(self.org, "HQ").pk),
        }, format="json")
        assert response.status_code == 200, response.content
        return response.json()["id"]

    def phone(self, person_id: str, mac: str) -> dict:
        response = self.client.post("/v1/devices", {"mac": mac, "model": "DMS Cisco 8851", "personId": person_id},
                                    format="json")
        assert response.status_code == 200, response.content
        device_id = response.json()["id"]
        provisioning = self.client.get(f"/v1/telephony/config/devices/{device_id}/provisioning").json()
        return {"id": device_id, "mac": normalize_mac(mac), **provisioning}


def fetch_as_phone(phone: dict, mac: str | None = None, url: str | None = None) -> requests.Response:
    user_agent = f"Cisco-CP-8851-3PCC/12.0.1 ({mac or phone['mac']})"
    return requests.get(url or phone["configUrl"], headers={"User-Agent": user_agent}, timeout=5,
                        auth=HTTPDigestAuth(phone["httpUser"], phone["httpPassword"]))


def line_1(config_xml: bytes) -> dict:
    profile = etree.fromstring(config_xml)
    return {name: profile.findtext(f"{name}_1_") for name in
            ("User_ID", "Auth_ID", "Password", "Proxy", "Display_Name", "Use_Auth_ID")}


def register(sipp, line: dict, contact_port: int) -> None:
    run = sipp.run("register.xml", service=line["User_ID"], domain=line["Proxy"],
                   auth=(line["Auth_ID"], line["Password"]), contact_port=contact_port)
    assert run.returncode == 0, run


def call(sipp, line: dict, dialled: str) -> None:
    run = sipp.run("uac_call.xml", service=dialled, domain=line["Proxy"], auth=(line["Auth_ID"], line["Password"]),
                   caller=line["User_ID"])
    assert run.returncode == 0, run


def test_phones_from_mac_to_calls(stack, sipp, org, other_org, make_admin):
    hq = org_location(org, "HQ")
    update_location(SYSTEM, hq, outside_dial_digit="9")
    admin = Admin(org, make_admin)
    alice_id, bob_id = admin.calling_person("Alice", "1001"), admin.calling_person("Bob", "1002")
    alice_phone, bob_phone = admin.phone(alice_id, "00:56:2B:01:00:01"), admin.phone(bob_id, "0056.2b01.0002")
    for phone in (alice_phone, bob_phone):
        device = Device.objects.select_related("person__line").get(mac=phone["mac"])
        # The first pushes of a new organisation: on a loaded 2-core CI machine one engine push can wait up to 30 s
        # for its reload slot, so give them longer than the later waits (a timeout prints why, see wait_synced).
        wait_synced(device, timeout=120, worker=stack["worker"])

    # The phones fetch their files as MPP phones do and find their own credentials in them.
    alice_file, bob_file = fetch_as_phone(alice_phone), fetch_as_phone(bob_phone)
    assert alice_file.status_code == 200 and bob_file.status_code == 200
    alice, bob = line_1(alice_file.content), line_1(bob_file.content)
    assert alice["Use_Auth_ID"] == "Yes" and alice["Auth_ID"] != bob["Auth_ID"]

    # A wrong MAC in the User-Agent, or another organisation's key, gets no configuration.
    assert fetch_as_phone(alice_phone, mac="0056aabbccdd").status_code == 403
    foreign = alice_phone["configUrl"].replace(org.provisioning_key, other_org.provisioning_key)
    assert fetch_as_phone(alice_phone, url=foreign).status_code == 404

    # Both register with what the file gave them; Alice calls Bob's extension and reaches his phone.
    bob_desk = sipp.uas()
    register(sipp, bob, contact_port=bob_desk.port)
    alice_desk = sipp.uas("uas_check_sync.xml", timeout=90)   # Alice's phone, waiting for check-sync
    register(sipp, alice, contact_port=alice_desk.port)
    call(sipp, alice, "1002")
    assert bob_desk.wait().returncode == 0

    # Off-net in local format with the outside dial digit reaches the location's gateway as +E.164.
    gateway = sipp.uas()
    stack["engine"].set_location_gateway(hq.pk, "127.0.0.1", gateway.port)
    call(sipp, alice, "914155550123")
    assert gateway.wait().returncode == 0
    assert gateway.received == [f"INVITE sip:+14155550123@127.0.0.1:{gateway.port}"]

    # The administrator blocks national calls for the location (/v1): once synced, the engine refuses them (403).
    permission_url = f"/v1/telephony/config/locations/{webex_id('LOCATION', hq.pk)}/outgoingPermission"
    blocked = {"callingPermissions": [{"callType": "NATIONAL", "action": "BLOCK", "transferEnabled": False}]}
    assert admin.client.put(permission_url, blocked, format="json").status_code == 204
    wait_synced(OutgoingPermission.objects.get(location=hq), targets=1, worker=stack["worker"])   # the engine only
    run = sipp.run("uac_call_403.xml", service="914155550123", domain=alice["Proxy"],
                   auth=(alice["Auth_ID"], alice["Password"]), caller=alice["User_ID"])
    assert run.returncode == 0, run

    # A changed display name reaches the phone's file through the pipeline, and the phone is told to resync.
    response = admin.client.get(f"/v1/people/{alice_id}?callingData=true")
    person = response.json()
    person["displayName"] = "Alice Renamed"
    assert admin.client.put(f"/v1/people/{alice_id}?callingData=true", person, format="json").status_code == 200
    device = Device.objects.select_related("person__line").get(mac=alice_phone["mac"])
    wait_synced(device.person, device, worker=stack["worker"])
    deadline = time.monotonic() + 20
    while line_1(fetch_as_phone(alice_phone).content)["Display_Name"] != "Alice Renamed":
        assert time.monotonic() < deadline, "the new display name never reached the phone's file"
        time.sleep(0.2)
    notified = alice_desk.wait(timeout=30)
    assert notified.returncode == 0, notified
    assert f"NOTIFY sip:{alice['User_ID']}@127.0.0.1:{alice_desk.port}" in notified.messages
    assert "Event: check-sync" in notified.messages
