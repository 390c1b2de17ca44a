"""`/v1/locations`: sites with address, time zone and languages (calling details live under /telephony/config)."""
from django.db import transaction
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from controlhub.actions import create_location, delete_location, update_location
from controlhub.models import Location

from .common import (
    ORG_ID,
    IdResponse,
    WebexAPIView,
    blank_to_none,
    get_or_404,
    location_webex_id,
    org_webex_id,
    parse_id,
    validated,
    webex_field_names,
)
from .pagination import paginated

# Domain field -> the name a Webex client sent it under.
ADDRESS_ERRORS = {"address1": "address.address1", "address2": "address.address2", "city": "address.city",
                  "state": "address.state", "postal_code": "address.postalCode", "country": "address.country"}


def language_code(value: str | None) -> str | None:
    """Webex writes `en_us`, scripts often `en_US` or `en-US`: all mean our `en_us`."""
    if value is None:
        return None
    return value.strip().replace("-", "_").lower()


class AddressSerializer(serializers.Serializer):
    address1 = serializers.CharField(max_length=200)
    address2 = serializers.CharField(max_length=200, required=False, allow_blank=True, allow_null=True)
    city = serializers.CharField(max_length=100)
    state = serializers.CharField(max_length=100, required=False, allow_blank=True, allow_null=True)
    postalCode = serializers.CharField(max_length=20, required=False, allow_blank=True, allow_null=True)
    country = serializers.CharField(min_length=2, max_length=2)


class LocationIn(serializers.Serializer):
    name = serializers.CharField(max_length=80)
    timeZone = serializers.CharField(max_length=64)
    preferredLanguage = serializers.CharField(max_length=10, required=False)
    announcementLanguage = serializers.CharField(max_length=10, required=False)
    address = AddressSerializer()
    # latitude, longitude, notes: accepted and ignored (not kept by this server)


class LocationOut(serializers.Serializer):
    id = serializers.CharField()
    name = serializers.CharField()
    orgId = serializers.CharField()
    timeZone = serializers.CharField()
    preferredLanguage = serializers.CharField()
    announcementLanguage = serializers.CharField()
    address = AddressSerializer()


class LocationListOut(serializers.Serializer):
    items = LocationOut(many=True)


def location_body(location: Location) -> dict:
    return {
        "id": location_webex_id(location),
        "name": location.name,
        "orgId": org_webex_id(location.organization_id),
        "timeZone": location.time_zone,
        "preferredLanguage": location.preferred_language,
        "announcementLanguage": location.announcement_language,
        "address": {
            "address1": location.address1,
            "address2": blank_to_none(location.address2),
            "city": location.city,
            "state": blank_to_none(location.state),
            "postalCode": blank_to_none(location.postal_code),
            "country": location.country,
        },
    }


def location_fields(data: dict) -> dict:
    """Validated camelCase body → keyword arguments of the location actions (only what was sent)."""
    fields = {}
    for source, target in (("name", "name"), ("timeZone", "time_zone")):
        if source in data:
            fields[target] = data[source]
    for source, target in (("preferredLanguage", "preferred_language"),
                           ("announcementLanguage", "announcement_language")):
        if source in data:
            fields[target] = language_code(data[source])
    address = data.get("address") or {}
    for source, target in (("address1", "address1"), ("address2", "address2"), ("city", "city"),
                           ("state", "state"), ("postalCode", "postal_code"), ("country", "country")):
        if source in address:
            fields[target] = address[source] or ""
    return fields




class LocationListView(WebexAPIView):
    @extend_schema(operation_id="locations_list", responses=LocationListOut, summary="List locations", parameters=[
        ORG_ID, OpenApiParameter("name", str), OpenApiParameter("id", str), OpenApiParameter("max", int),
        OpenApiParameter("start", int)])
    def get(self, request):
        org = self.organization(request)
        locations = self.visible(Location, request, org).order_by("name", "id")
        if name := request.query_params.get("name"):
            locations = locations.filter(name__icontains=name)
        if raw := request.query_params.get("id"):
            locations = locations.filter(pk=parse_id(raw, "LOCATION", "id"))
        return paginated(request, locations, lambda rows: [location_body(loc) for loc in rows])

    @extend_schema(operation_id="locations_create", request=LocationIn, responses=IdResponse, parameters=[ORG_ID],
                   summary="Create a location")
    def post(self, request):
        data = validated(LocationIn, request.data)
        org = self.organization(request)
        fields = location_fields(data)
        fields.setdefault("preferred_language", "en_us")
        fields.setdefault("announcement_language", "en_us")
        with webex_field_names(**ADDRESS_ERRORS):
            location = create_location(self.actor(request), org, **fields)
        return Response({"id": location_webex_id(location)})


class LocationDetailView(WebexAPIView):
    def get_location(self, request, location_id: str) -> Location:
        org = self.organization(request)
        return get_or_404(self.visible(Location, request, org), parse_id(location_id, "LOCATION", "locationId"),
                          "Location")

    @extend_schema(operation_id="locations_details", responses=LocationOut, parameters=[ORG_ID],
                   summary="Get location details")
    def get(self, request, location_id: str):
        return Response(location_body(self.get_location(request, location_id)))

    @extend_schema(operation_id="locations_update", request=LocationIn, responses={204: None}, parameters=[ORG_ID],
                   summary="Update a location (fields sent are changed)")
    def put(self, request, location_id: str):
        location = self.get_location(request, location_id)
        data = validated(LocationIn, request.data, partial=True)
        with webex_field_names(**ADDRESS_ERRORS), transaction.atomic():
            update_location(self.actor(request), location, **location_fields(data))
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(operation_id="locations_delete", responses={204: None}, parameters=[ORG_ID],
                   summary="Delete a location")
    def delete(self, request, location_id: str):
        location = self.get_location(request, location_id)
        delete_location(self.actor(request), location)
        return Response(status=status.HTTP_204_NO_CONTENT)
