"""/v1 local gateways: trunks, route groups, a location's PSTN connection — APIClient rules and the real wxc-sdk
in strict mode against a live server."""
import os

_previous_mode = os.environ.get("API_MODEL_ALLOW_EXTRA")
os.environ["API_MODEL_ALLOW_EXTRA"] = "forbid"

import pytest  # noqa: E402
import wxc_sdk.base  # noqa: E402
from rest_framework.authtoken.models import Token  # noqa: E402
from wxc_sdk import WebexSimpleApi  # noqa: E402
from wxc_sdk.rest import RestError, RestSession  # noqa: E402
from wxc_sdk.telephony.prem_pstn.route_group import RGTrunk, RouteGroup  # noqa: E402
from wxc_sdk.telephony.prem_pstn.trunk import TrunkType as SdkTrunkType  # noqa: E402

from calling.actions import create_trunk, set_location_pstn_connection  # noqa: E402
from calling.models import LocationPstn, Trunk  # noqa: E402
from controlhub.actions import Actor  # noqa: E402
from controlhub.api.ids import webex_id  # noqa: E402
from controlhub.roles import Role  # noqa: E402
from tests.conftest import org_location  # noqa: E402
from tests.integration.api_fixtures import (  # noqa: E402, F401 (fixtures)
    LOCATION,
    Api,
    api_fixture,
    assert_webex_error,
    read_only_api_fixture,
    wid,
)

if _previous_mode is None:
    del os.environ["API_MODEL_ALLOW_EXTRA"]
else:
    os.environ["API_MODEL_ALLOW_EXTRA"] = _previous_mode

TRUNKS = "telephony/config/premisePstn/trunks"
GROUPS = "telephony/config/premisePstn/routeGroups"
SYSTEM = Actor.system()


def tid(trunk) -> str:
    return webex_id("TRUNK", trunk.pk)


def make_trunk(org, name="LGW", **kw) -> Trunk:
    return create_trunk(SYSTEM, org, name=name, location=org_location(org, "HQ"), **kw)


# --------------------------------------------------------------------------------------------- APIClient


@pytest.mark.django_db
def test_trunk_crud_and_shapes(api, org):
    hq = org_location(org, "HQ")
    response = api.post(TRUNKS, {"name": "Stockholm LGW", "locationId": wid(LOCATION, hq), "password": "Secret123x",
                                 "trunkType": "REGISTERING"})
    assert response.status_code == 200, response.content
    trunk = Trunk.objects.get(organization=org, name="Stockholm LGW")
    assert response.json() == {"id": tid(trunk)}
    listed = api.get(TRUNKS).json()["trunks"]
    assert listed == [{"id": tid(trunk), "name": "Stockholm LGW", "location": {"id": wid(LOCATION, hq), "name": "HQ"},
                       "inUse": False, "trunkType": "REGISTERING", "isRestrictedToDedicatedInstance": False}]
    detail = api.get(f"{TRUNKS}/{tid(trunk)}").json()
    assert detail["linePort"] == f"{trunk.sip_username}@{org.sip_domain}" and detail["otgDtgId"] == trunk.otg_dtg_id
    assert detail["sipAuthenticationUserName"] == trunk.sip_username and detail["status"] == "unknown"
    assert "address" not in detail and "password" not in detail
    assert api.put(f"{TRUNKS}/{tid(trunk)}", {"name": "Renamed", "password": "Other123x",
                                              "maxConcurrentCalls": 20}).status_code == 204
    trunk.refresh_from_db()
    assert (trunk.name, trunk.password, trunk.max_concurrent_calls) == ("Renamed", "Other123x", 20)
    assert api.delete(f"{TRUNKS}/{tid(trunk)}").status_code == 204
    assert not Trunk.objects.filter(pk=trunk.pk).exists()


@pytest.mark.django_db
def test_bad_input_names_the_field(api, org):
    hq = wid(LOCATION, org_location(org, "HQ"))
    body = assert_webex_error(api.post(TRUNKS, {"name": "SBC", "locationId": hq, "password": "Secret123x",
                                                "trunkType": "CERTIFICATE_BASED"}), 400)
    assert "address" in body["message"] and "port" in body["message"]
    assert_webex_error(api.post(TRUNKS, {"name": "X", "locationId": hq, "password": "x"}), 400, "password")
    assert_webex_error(api.post(TRUNKS, {"name": "X", "locationId": hq, "trunkType": "PIGEON"}), 400, "trunkType")
    assert_webex_error(api.post(TRUNKS, {"name": "X", "locationId": "nope"}), 400, "locationId")
    assert_webex_error(api.post(TRUNKS, {"name": "X", "locationId": hq, "deviceType": "Oracle SBC"}), 400,
                       "deviceType")
    assert_webex_error(api.post(GROUPS, {"name": "RG", "localGateways": []}), 400, "localGateways")
    trunk = make_trunk(org)
    assert_webex_error(api.post(GROUPS, {"name": "RG", "localGateways": [{"id": tid(trunk), "priority": 11}]}), 400,
                       "priority")
    assert_webex_error(api.put(f"telephony/pstn/locations/{hq}/connection",
                               {"premiseRouteType": "TRUNK", "premiseRouteId": "garbage"}), 400, "premiseRouteId")


@pytest.mark.django_db
def test_other_org_is_404_and_read_only_is_403(api, read_only_api, org, other_org):
    foreign = make_trunk(other_org)
    assert_webex_error(api.get(f"{TRUNKS}/{tid(foreign)}"), 404)
    assert_webex_error(api.delete(f"{TRUNKS}/{tid(foreign)}"), 404)
    assert_webex_error(api.get(f"telephony/pstn/locations/{wid(LOCATION, org_location(other_org, 'HQ'))}/connection"),
                       404)
    hq = wid(LOCATION, org_location(org, "HQ"))
    assert_webex_error(api.put(f"telephony/pstn/locations/{hq}/connection",
                               {"premiseRouteType": "TRUNK", "premiseRouteId": tid(foreign)}), 400, "premiseRouteId")
    assert_webex_error(api.post(GROUPS, {"name": "RG", "localGateways": [{"id": tid(foreign), "priority": 1}]}),
                       400, "localGateways")
    mine = make_trunk(org)
    assert read_only_api.get(f"{TRUNKS}/{tid(mine)}").status_code == 200
    assert_webex_error(read_only_api.put(f"{TRUNKS}/{tid(mine)}", {"name": "X", "password": "Secret123x"}), 403)
    assert_webex_error(read_only_api.delete(f"{TRUNKS}/{tid(mine)}"), 403)
    assert_webex_error(read_only_api.post(TRUNKS, {"name": "Y", "locationId": hq}), 403)
    assert_webex_error(read_only_api.put(f"telephony/pstn/locations/{hq}/connection",
                                         {"premiseRouteType": "TRUNK", "premiseRouteId": tid(mine)}), 403)


@pytest.mark.django_db
def test_trunk_in_use_delete_is_refused(api, org):
    trunk = make_trunk(org)
    set_location_pstn_connection(SYSTEM, org_location(org, "HQ"), trunk)
    assert_webex_error(api.delete(f"{TRUNKS}/{tid(trunk)}"), 400, "location HQ")


@pytest.mark.django_db
def test_connection_and_calling_location(api, org):
    trunk = make_trunk(org)
    hq = org_location(org, "HQ")
    path = f"telephony/pstn/locations/{wid(LOCATION, hq)}/connection"
    assert api.put(path, {"premiseRouteType": "TRUNK", "premiseRouteId": tid(trunk)}).status_code == 204
    assert LocationPstn.objects.get(location=hq).trunk == trunk
    assert api.get(path).json()["routeId"] == tid(trunk)
    location = api.get(f"telephony/config/locations/{wid(LOCATION, hq)}").json()
    assert location["connection"] == {"type": "TRUNK", "id": tid(trunk)}
    options = api.get(f"telephony/pstn/locations/{wid(LOCATION, hq)}/connectionOptions").json()["items"]
    assert [o["routeType"] for o in options] == ["TRUNK"]


# --------------------------------------------------------------------------------------------- wxc-sdk


@pytest.fixture
def webex(live_server, monkeypatch, org, make_admin) -> WebexSimpleApi:
    admin = make_admin(Role.FULL_ADMIN, org=org)
    token = Token.objects.create(user=admin)
    monkeypatch.setattr(RestSession, "BASE", f"{live_server.url}/v1")
    api = WebexSimpleApi(tokens=token.key)
    yield api
    api.close()


@pytest.mark.django_db(transaction=True)
def test_wxc_sdk_trunks_route_groups_connection(webex, org):
    assert wxc_sdk.base.API_MODEL_ALLOW_EXTRA == "forbid"
    hq = org_location(org, "HQ")
    trunk_api = webex.telephony.prem_pstn.trunk
    types = trunk_api.trunk_types()
    assert {t.trunk_type for t in types} == {SdkTrunkType.registering, SdkTrunkType.certificate_base}
    reg_id = trunk_api.create(name="LGW 1", location_id=wid(LOCATION, hq), password="Secret123x")
    cert_id = trunk_api.create(name="SBC 1", location_id=wid(LOCATION, hq), password="Secret123x",
                               trunk_type=SdkTrunkType.certificate_base, address="sbc.example.com",
                               domain="example.com", port=5061, max_concurrent_calls=100)
    detail = trunk_api.details(reg_id)
    assert detail.name == "LGW 1" and detail.trunk_type == SdkTrunkType.registering
    assert detail.line_port.endswith(f"@{org.sip_domain}") and detail.status == "unknown"
    cert = trunk_api.details(cert_id)
    assert (cert.address, cert.port, cert.domain, cert.max_concurrent_calls) == ("sbc.example.com", 5061,
                                                                                 "example.com", 100)
    assert [t.name for t in trunk_api.list()] == ["LGW 1", "SBC 1"]
    assert [t.name for t in trunk_api.list(trunk_type="CERTIFICATE_BASED")] == ["SBC 1"]
    trunk_api.update(reg_id, name="LGW one", password="Secret999x", dual_identity_support_enabled=True)
    assert trunk_api.details(reg_id).dual_identity_support_enabled is True

    rg_api = webex.telephony.prem_pstn.route_group
    rg_id = rg_api.create(RouteGroup(name="Both", local_gateways=[RGTrunk(trunk_id=reg_id, priority=1),
                                                                   RGTrunk(trunk_id=cert_id, priority=2)]))
    group = rg_api.details(rg_id)
    assert [(g.name, g.priority) for g in group.local_gateways] == [("LGW one", 1), ("SBC 1", 2)]
    assert [g.name for g in rg_api.list()] == ["Both"]
    group.name = "Both trunks"
    group.local_gateways = [RGTrunk(trunk_id=cert_id, priority=1)]
    rg_api.update(rg_id, group)
    assert [g.trunk_id for g in rg_api.details(rg_id).local_gateways] == [cert_id]

    webex.telephony.pstn.configure(wid(LOCATION, hq), premise_route_type="ROUTE_GROUP", premise_route_id=rg_id)
    connection = webex.telephony.pstn.read(wid(LOCATION, hq))
    assert connection.route_id == rg_id and connection.route_type == "ROUTE_GROUP"
    options = webex.telephony.pstn.list(wid(LOCATION, hq))
    assert {o.route_id for o in options} == {reg_id, cert_id, rg_id}
    telephony_location = webex.telephony.location.details(wid(LOCATION, hq))
    assert telephony_location.connection.id == rg_id
    assert next(t for t in trunk_api.list() if t.trunk_id == cert_id).in_use
    usage = trunk_api.usage(cert_id)
    assert (usage.pstn_connection_count, usage.route_group_count) == (0, 1)
    assert rg_api.usage(rg_id).pstn_connection_count == 1

    with pytest.raises(RestError) as exc:
        rg_api.delete_route_group(rg_id)
    assert exc.value.response.status_code == 400
    webex.telephony.pstn.configure(wid(LOCATION, hq), premise_route_type="TRUNK", premise_route_id=reg_id)
    rg_api.delete_route_group(rg_id)
    trunk_api.delete_trunk(cert_id)
    assert [t.name for t in trunk_api.list()] == ["LGW one"]
