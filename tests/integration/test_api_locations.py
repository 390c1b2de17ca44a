"""/v1/locations and /v1/telephony/config/locations: shapes, create/update/delete, calling details, bad input."""
import pytest

from calling.models import Number
from controlhub.models import AuditEvent, AuditSource, Location
from tests.conftest import org_location
from tests.integration.api_fixtures import (  # noqa: F401 (fixtures)
    LOCATION,
    ORG,
    api_fixture,
    assert_webex_error,
    wid,
)

pytestmark = pytest.mark.django_db

NEW_LOCATION = {"name": "Stockholm HQ", "timeZone": "Europe/Stockholm", "preferredLanguage": "en_US",
                "announcementLanguage": "sv_SE",
                "address": {"address1": "Drottninggatan 1", "city": "Stockholm", "state": "", "postalCode": "11151",
                            "country": "SE"}}


def test_list_and_detail_shape(api, org):
    items = api.get("locations").json()["items"]
    assert [i["name"] for i in items] == ["Branch", "HQ"]
    hq = org_location(org, "HQ")
    detail = api.get(f"locations/{wid(LOCATION, hq)}").json()
    assert detail == {"id": wid(LOCATION, hq), "name": "HQ", "orgId": wid(ORG, org),
                      "timeZone": "America/Los_Angeles", "preferredLanguage": "en_us", "announcementLanguage": "en_us",
                      "address": {"address1": "1 Main St", "city": "San Jose", "state": "CA", "country": "US"}}
    assert [i["name"] for i in api.get("locations", {"name": "bran"}).json()["items"]] == ["Branch"]
    assert [i["name"] for i in api.get("locations", {"id": wid(LOCATION, hq)}).json()["items"]] == ["HQ"]


def test_create_update_delete(api, org):
    response = api.post("locations", NEW_LOCATION)
    assert response.status_code == 200, response.content
    new_id = response.json()["id"]
    location = Location.objects.get(organization=org, name="Stockholm HQ")
    assert new_id == wid(LOCATION, location)
    assert (location.preferred_language, location.announcement_language, location.country) == ("en_us", "sv_se", "SE")
    assert AuditEvent.objects.filter(object_id=str(location.pk), action="CREATE", source=AuditSource.API).exists()

    # the SDK sends only what was set, and explicit nulls for cleared optional fields
    response = api.put(f"locations/{new_id}", {"name": "Stockholm", "address": {"address2": None, "city": "Solna"}})
    assert response.status_code == 204, response.content
    location.refresh_from_db()
    assert (location.name, location.city, location.address1) == ("Stockholm", "Solna", "Drottninggatan 1")
    assert AuditEvent.objects.filter(object_id=str(location.pk), action="UPDATE", source=AuditSource.API).exists()

    assert api.delete(f"locations/{new_id}").status_code == 204
    assert not Location.objects.filter(pk=location.pk).exists()
    assert AuditEvent.objects.filter(object_id=str(location.pk), action="DELETE", source=AuditSource.API).exists()


@pytest.mark.parametrize("change, field", [
    ({"name": ""}, "name"),
    ({"name": "x" * 81}, "name"),
    ({"name": "hq"}, "already exists"),
    ({"timeZone": "Mars/Olympus"}, "timeZone"),
    ({"preferredLanguage": "xx_yy"}, "preferredLanguage"),
    ({"announcementLanguage": 12}, "announcementLanguage"),
    ({"address": "Main street"}, "address"),
    ({"address": {"city": "X", "country": "SE"}}, "address.address1"),
    ({"address": {**NEW_LOCATION["address"], "country": "Sweden"}}, "address.country"),
    ({"address": {**NEW_LOCATION["address"], "country": "S1"}}, "address.country"),
])
def test_create_bad_input_is_400_and_saves_nothing(api, org, change, field):
    before = (Location.objects.count(), AuditEvent.objects.count())
    assert_webex_error(api.post("locations", {**NEW_LOCATION, **change}), 400, field)
    assert (Location.objects.count(), AuditEvent.objects.count()) == before


def test_update_and_delete_errors(api, org):
    hq = org_location(org, "HQ")
    assert_webex_error(api.put(f"locations/{wid(LOCATION, hq)}", {"timeZone": "Nowhere"}), 400, "timeZone")
    assert_webex_error(api.put(f"locations/{wid(LOCATION, hq)}", {"name": None}), 400, "name")
    hq.refresh_from_db()
    assert hq.time_zone == "America/Los_Angeles"
    # HQ has numbers: deleting it is refused, not half done
    assert_webex_error(api.delete(f"locations/{wid(LOCATION, hq)}"), 400, "phone numbers")
    assert Location.objects.filter(pk=hq.pk).exists()
    assert_webex_error(api.get("locations/%%%"), 400, "locationId")


def test_telephony_location_details_and_update(api, org):
    hq = org_location(org, "HQ")
    main = hq.numbers.order_by("e164").first()
    url = f"telephony/config/locations/{wid(LOCATION, hq)}"
    detail = api.get(url).json()
    assert detail == {"id": wid(LOCATION, hq), "name": "HQ", "announcementLanguage": "en_us", "routingPrefix": "81",
                      "defaultDomain": org.sip_domain}
    response = api.put(url, {"routingPrefix": "811", "outsideDialDigit": "9",
                             "callingLineId": {"phoneNumber": main.e164}, "announcementLanguage": "en_GB"})
    assert response.status_code == 204, response.content
    detail = api.get(url).json()
    assert detail["routingPrefix"] == "811" and detail["outsideDialDigit"] == "9"
    assert detail["callingLineId"] == {"phoneNumber": main.e164} and detail["announcementLanguage"] == "en_gb"
    assert Number.objects.get(pk=main.pk).is_main
    listed = api.get("telephony/config/locations", {"name": "HQ"}).json()["locations"]
    assert listed == [detail]
    # clearing: explicit nulls
    assert api.put(url, {"outsideDialDigit": None, "callingLineId": {"phoneNumber": None}}).status_code == 204
    detail = api.get(url).json()
    assert "outsideDialDigit" not in detail and "callingLineId" not in detail


@pytest.mark.parametrize("body, field", [
    ({"routingPrefix": "0123"}, "routingPrefix"),
    ({"routingPrefix": "82"}, "routing prefix"),
    ({"outsideDialDigit": "x"}, "outsideDialDigit"),
    ({"callingLineId": {"phoneNumber": "+46 8 123"}}, "callingLineId.phoneNumber"),
    ({"callingLineId": "nope"}, "callingLineId"),
])
def test_telephony_location_bad_update_changes_nothing(api, org, body, field):
    hq = org_location(org, "HQ")
    events = AuditEvent.objects.count()
    branch_number = org_location(org, "Branch").numbers.first().e164
    assert_webex_error(api.put(f"telephony/config/locations/{wid(LOCATION, hq)}", body), 400, field)
    # a main number of another location is refused too
    assert_webex_error(api.put(f"telephony/config/locations/{wid(LOCATION, hq)}",
                               {"routingPrefix": "899", "callingLineId": {"phoneNumber": branch_number}}), 400)
    hq.refresh_from_db()
    assert hq.routing_prefix == "81" and AuditEvent.objects.count() == events


def test_enable_for_calling_and_announcement_language(api, org):
    hq = org_location(org, "HQ")
    response = api.post("telephony/config/locations", {"id": wid(LOCATION, hq), "name": "HQ",
                                                       "announcementLanguage": "en_gb"})
    assert response.json() == {"id": wid(LOCATION, hq)}
    hq.refresh_from_db()
    assert hq.announcement_language == "en_gb"
    assert_webex_error(api.post("telephony/config/locations", {"name": "HQ"}), 400, "id")
    # wxc-sdk 1.41 sends this one without telephony/config/locations/
    for path in (f"{wid(LOCATION, hq)}/actions/modifyAnnouncementLanguage/invoke",
                 f"telephony/config/locations/{wid(LOCATION, hq)}/actions/modifyAnnouncementLanguage/invoke"):
        assert api.put(path, {"announcementLanguageCode": "sv_se", "agentEnabled": True}).status_code == 204
        hq.refresh_from_db()
        assert hq.announcement_language == "sv_se"
        hq.announcement_language = "en_us"
        hq.save()
    assert_webex_error(api.put(f"{wid(LOCATION, hq)}/actions/modifyAnnouncementLanguage/invoke",
                               {"announcementLanguageCode": "klingon"}), 400, "announcementLanguageCode")


def test_list_queries_constant(api, org, django_assert_max_num_queries):
    from controlhub.actions import create_location
    from tests.conftest import SYSTEM

    with django_assert_max_num_queries(10) as small:
        api.get("telephony/config/locations")
    for i in range(10):
        create_location(SYSTEM, org, name=f"Site {i}", time_zone="UTC", address1="x", city="y", country="US")
    with django_assert_max_num_queries(len(small.captured_queries)):
        assert len(api.get("telephony/config/locations").json()["locations"]) == 12
    with django_assert_max_num_queries(len(small.captured_queries)):
        assert len(api.get("locations").json()["items"]) == 12
