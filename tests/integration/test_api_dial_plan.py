"""/v1 dial plan: outgoing permissions (location, person override), translation patterns (organisation, location),
premises dial plans and the call-routing test — APIClient rules and errors, and the real wxc-sdk in strict mode."""
import os

_previous_mode = os.environ.get("API_MODEL_ALLOW_EXTRA")
os.environ["API_MODEL_ALLOW_EXTRA"] = "forbid"

import pytest  # noqa: E402
import wxc_sdk.base  # noqa: E402
from rest_framework.authtoken.models import Token  # noqa: E402
from wxc_sdk import WebexSimpleApi  # noqa: E402
from wxc_sdk.person_settings.permissions_out import Action as SdkAction  # noqa: E402
from wxc_sdk.rest import RestError, RestSession  # noqa: E402
from wxc_sdk.telephony.call_routing.translation_pattern import TranslationPattern as SdkPattern  # noqa: E402

from calling.actions import create_trunk, set_location_pstn_connection  # noqa: E402
from calling.models import DialPlan, OutgoingPermission, TranslationPattern  # noqa: E402
from controlhub.actions import Actor  # noqa: E402
from controlhub.api.ids import webex_id  # noqa: E402
from controlhub.models import AuditEvent  # noqa: E402
from controlhub.roles import Role  # noqa: E402
from tests.conftest import org_location  # noqa: E402
from tests.integration.api_fixtures import (  # noqa: E402, F401 (fixtures)
    LOCATION,
    PEOPLE,
    api_fixture,
    assert_webex_error,
    read_only_api_fixture,
    wid,
)

if _previous_mode is None:
    del os.environ["API_MODEL_ALLOW_EXTRA"]
else:
    os.environ["API_MODEL_ALLOW_EXTRA"] = _previous_mode

SYSTEM = Actor.system()
TC = "telephony/config"


def permissions(body: dict) -> dict:
    return {p["callType"]: p["action"] for p in body["callingPermissions"]}


@pytest.mark.django_db
def test_location_and_person_outgoing_permissions(api, read_only_api, org, make_calling_person):
    hq = org_location(org, "HQ")
    alice = make_calling_person(org, "1001")
    url = f"{TC}/locations/{wid(LOCATION, hq)}/outgoingPermission"
    default = permissions(api.get(url).json())
    assert default["INTERNATIONAL"] == "BLOCK" and default["NATIONAL"] == "ALLOW" and len(default) == 12
    assert api.put(url, {"callingPermissions": [{"callType": "NATIONAL", "action": "BLOCK",
                                                 "transferEnabled": False}]}).status_code == 204
    assert permissions(api.get(url).json())["NATIONAL"] == "BLOCK"
    assert AuditEvent.objects.filter(object_type="outgoingpermission", action="CREATE").count() == 1

    person_url = f"people/{wid(PEOPLE, alice)}/features/outgoingPermission"
    inherited = api.get(person_url).json()
    assert inherited["useCustomEnabled"] is False and permissions(inherited)["NATIONAL"] == "BLOCK"
    assert api.put(person_url, {"useCustomEnabled": True, "callingPermissions": [
        {"callType": "NATIONAL", "action": "ALLOW", "transferEnabled": True}]}).status_code == 204
    own = api.get(person_url).json()
    assert own["useCustomEnabled"] is True and permissions(own)["NATIONAL"] == "ALLOW"
    assert permissions(own)["INTERNATIONAL"] == "BLOCK"          # copied from the location when first set
    api.put(person_url, {"useCustomEnabled": False})
    assert permissions(api.get(person_url).json())["NATIONAL"] == "BLOCK"
    assert OutgoingPermission.objects.get(person=alice).permissions["NATIONAL"]["action"] == "ALLOW"   # kept

    # bad input: named, nothing changed
    before = OutgoingPermission.objects.get(location=hq).permissions
    assert_webex_error(api.put(url, {"callingPermissions": [{"callType": "MOON", "action": "BLOCK"}]}), 400,
                       "MOON is not a call type")
    assert_webex_error(api.put(url, {"callingPermissions": [{"callType": "LOCAL", "action": "AUTH_CODE"}]}), 400,
                       "AUTH_CODE is not supported")
    assert_webex_error(api.put(url, {"callingPermissions": [{"callType": "LOCAL", "action": "maybe"}]}), 400,
                       "ALLOW or BLOCK")
    assert OutgoingPermission.objects.get(location=hq).permissions == before
    assert read_only_api.get(url).status_code == 200
    assert read_only_api.put(url, {"callingPermissions": []}).status_code == 403


@pytest.mark.django_db
def test_translation_patterns_crud_and_errors(api, org, other_org):
    hq = org_location(org, "HQ")
    org_url = f"{TC}/callRouting/translationPatterns"
    loc_url = f"{TC}/locations/{wid(LOCATION, hq)}/callRouting/translationPatterns"
    created = api.post(org_url, {"name": "Short", "matchingPattern": "7xxx", "replacementPattern": "+14155550XXX"})
    assert created.status_code == 200, created.content
    pattern = TranslationPattern.objects.get(organization=org, name="Short")
    assert pattern.matching_pattern == "7XXX" and pattern.location is None
    assert api.post(loc_url, {"name": "Reception", "matchingPattern": "5000", "replacementPattern": "1002"}
                    ).status_code == 200
    listed = api.get(org_url).json()["translationPatterns"]
    assert [(p["name"], p["level"]) for p in listed] == [("Reception", "Location"), ("Short", "Organization")]
    assert api.get(org_url, {"limitToOrgLevelEnabled": "true"}).json()["translationPatterns"][0]["name"] == "Short"
    assert [p["name"] for p in api.get(loc_url).json()["translationPatterns"]] == ["Reception"]
    detail_url = f"{org_url}/{created.json()['id']}"
    assert api.get(detail_url).json()["replacementPattern"] == "+14155550XXX"
    assert api.put(detail_url, {"replacementPattern": "+14155551XXX"}).status_code == 204
    assert TranslationPattern.objects.get(pk=pattern.pk).replacement_pattern == "+14155551XXX"

    count = TranslationPattern.objects.count()
    assert_webex_error(api.post(org_url, {"name": "Bad", "matchingPattern": "7XX", "replacementPattern": "+1XXX"}),
                       400, "group 1")
    assert_webex_error(api.post(org_url, {"name": "Bad", "matchingPattern": "7*9", "replacementPattern": "1"}),
                       400, "not '*'")
    assert_webex_error(api.post(org_url, {"name": "Again", "matchingPattern": "7XXX", "replacementPattern": "1"}),
                       400, "already matches 7XXX")
    assert_webex_error(api.post(org_url, {"name": "short", "matchingPattern": "6", "replacementPattern": "1"}),
                       400, "named short already exists")
    assert TranslationPattern.objects.count() == count
    other = api.get(org_url, {"orgId": webex_id("ORGANIZATION", other_org.pk)})
    assert other.status_code == 404
    assert api.delete(detail_url).status_code == 204
    assert api.get(detail_url).status_code == 404


@pytest.mark.django_db
def test_dial_plans_and_patterns(api, org):
    hq = org_location(org, "HQ")
    trunk = create_trunk(SYSTEM, org, name="PBX", location=hq, password="Secret123x")
    url = f"{TC}/premisePstn/dialPlans"
    created = api.post(url, {"name": "NY", "routeId": webex_id("TRUNK", trunk.pk), "routeType": "TRUNK",
                             "dialPatterns": ["+1212555XXXX", "+4610!"]})
    assert created.status_code == 200, created.content
    plan_url = f"{url}/{created.json()['id']}"
    assert api.get(plan_url).json()["routeName"] == "PBX"
    assert api.get(f"{plan_url}/dialPatterns").json()["dialPatterns"] == ["+1212555XXXX", "+4610!"]
    assert api.put(f"{plan_url}/dialPatterns", {"dialPatterns": [
        {"dialPattern": "+4610!", "action": "DELETE"}, {"dialPattern": "+4420XXXXXXXX", "action": "ADD"}]}
    ).status_code == 204
    assert sorted(api.get(f"{plan_url}/dialPatterns").json()["dialPatterns"]) == ["+1212555XXXX", "+4420XXXXXXXX"]
    assert_webex_error(api.post(url, {"name": "Dup", "routeId": webex_id("TRUNK", trunk.pk), "routeType": "TRUNK",
                                      "dialPatterns": ["+1212555XXXX"]}), 400, "already in dial plan NY")
    assert_webex_error(api.post(url, {"name": "Bad", "routeId": webex_id("TRUNK", trunk.pk), "routeType": "TRUNK",
                                      "dialPatterns": ["2125550100"]}), 400, "starts with +")
    checked = api.post(f"{TC}/premisePstn/actions/validateDialPatterns/invoke",
                       {"dialPatterns": ["+1212555XXXX", "+1313!", "+1313!", "12"]}).json()
    assert checked["status"] == "ERRORS"
    assert [s["patternStatus"] for s in checked["dialPatternStatus"]] == ["DUPLICATE", "VALID", "DUPLICATE_IN_LIST",
                                                                           "INVALID"]
    # a trunk in a dial plan cannot be deleted from under it
    response = api.delete(f"{TC}/premisePstn/trunks/{webex_id('TRUNK', trunk.pk)}")
    assert_webex_error(response, 400, "dial plan NY")
    assert api.delete(plan_url).status_code == 204
    assert not DialPlan.objects.exists()


@pytest.mark.django_db
def test_call_routing_test_explains_each_step(api, org, make_calling_person):
    hq = org_location(org, "HQ")
    alice = make_calling_person(org, "1001")
    make_calling_person(org, "1002", with_number=True)
    trunk = create_trunk(SYSTEM, org, name="LGW", location=hq, password="Secret123x")
    set_location_pstn_connection(SYSTEM, hq, trunk)
    url = f"{TC}/actions/testCallRouting/invoke"

    def route(destination: str, explain=True) -> dict:
        response = api.post(url, {"originatorId": wid(PEOPLE, alice), "originatorType": "USER",
                                  "destination": destination}, params={"explain": "true"} if explain else None)
        assert response.status_code == 200, response.content
        return response.json()

    to_bob = route("1002")
    assert to_bob["destinationType"] == "HOSTED_AGENT" and to_bob["hostedAgent"]["extension"] == "1002"
    assert to_bob["isRejected"] is False and to_bob["steps"][0]["step"] == "line"
    off_net = route("4155550123", explain=False)
    assert off_net["destinationType"] == "PSTN_NUMBER" and off_net["routingAddress"] == "+14155550123"
    assert off_net["pstnNumber"]["trunkName"] == "LGW" and "steps" not in off_net
    blocked = route("011442071234567")
    assert blocked["isRejected"] is True and blocked["engineAnswer"].startswith("403")
    assert blocked["appliedServices"] == [{"outgoingCallingPlanPermissionsByType": {
        "configurationLevel": "LOCATION", "callType": "INTERNATIONAL", "permission": "BLOCK"}}]
    assert [s["step"] for s in blocked["steps"]] == ["normalise", "classify", "permission"]
    unknown = route("1999")
    assert unknown["destinationType"] == "UNKNOWN_EXTENSION" and unknown["isRejected"] is True
    assert_webex_error(api.post(url, {"originatorId": wid(PEOPLE, alice), "originatorType": "TRUNK",
                                      "destination": "1"}), 400, "originatorType")
    assert_webex_error(api.post(url, {"originatorId": "nonsense", "originatorType": "USER", "destination": "1"}),
                       400, "originatorId")


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
def test_wxc_sdk_dial_plan(webex, org, make_calling_person):
    assert wxc_sdk.base.API_MODEL_ALLOW_EXTRA == "forbid"
    hq = org_location(org, "HQ")
    alice = make_calling_person(org, "1001")
    location_perms = webex.telephony.permissions_out.read(wid(LOCATION, hq))
    assert location_perms.calling_permissions.international.action == SdkAction.block
    location_perms.calling_permissions.national.action = SdkAction.block
    webex.telephony.permissions_out.configure(wid(LOCATION, hq), location_perms)
    assert webex.telephony.permissions_out.read(wid(LOCATION, hq)).calling_permissions.national.action == \
        SdkAction.block
    person = webex.person_settings.permissions_out.read(wid(PEOPLE, alice))
    assert person.use_custom_enabled is False
    person.use_custom_enabled = True
    person.calling_permissions.national.action = SdkAction.allow
    webex.person_settings.permissions_out.configure(wid(PEOPLE, alice), person)
    assert webex.person_settings.permissions_out.read(wid(PEOPLE, alice)).calling_permissions.national.action == \
        SdkAction.allow

    patterns = webex.telephony.call_routing.tp
    pattern_id = patterns.create(SdkPattern(name="Short", matching_pattern="7XXX", replacement_pattern="+14155550XXX"))
    assert patterns.details(pattern_id).matching_pattern == "7XXX"
    assert [p.name for p in patterns.list()] == ["Short"]
    with pytest.raises(RestError) as exc:
        patterns.create(SdkPattern(name="Bad", matching_pattern="7X", replacement_pattern="+1XXX"))
    assert exc.value.response.status_code == 400

    trunk = create_trunk(SYSTEM, org, name="LGW", location=hq, password="Secret123x")
    set_location_pstn_connection(SYSTEM, hq, trunk)
    result = webex.telephony.test_call_routing(originator_id=wid(PEOPLE, alice), originator_type="USER",
                                               destination="7123")
    assert result.destination_type == "PSTN_NUMBER" and result.routing_address == "+14155550123"
    assert result.applied_services[0].translation_pattern.translated_number == "+14155550123"
