"""`/v1/telephony/config/locations`: a location's calling details — main number, routing prefix, outside dial digit."""
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.db.models import Prefetch
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from controlhub.actions import update_location
from controlhub.api.common import (
    ORG_ID,
    IdResponse,
    WebexAPIView,
    get_or_404,
    location_webex_id,
    parse_id,
    query_choice,
    validated,
    webex_field_names,
)
from controlhub.api.locations import language_code
from controlhub.api.pagination import paginated
from controlhub.models import Location

from ..actions import set_main_number
from ..models import Number
from .pstn import location_connection, set_connection


def calling_locations(queryset):
    main = Prefetch("numbers", queryset=Number.objects.filter(is_main=True), to_attr="main_numbers")
    return queryset.select_related("organization", "pstn").prefetch_related(main)


def telephony_location_body(location: Location) -> dict:
    main = location.main_numbers[0] if getattr(location, "main_numbers", None) else None
    return {
        "id": location_webex_id(location),
        "name": location.name,
        "announcementLanguage": location.announcement_language,
        "callingLineId": {"phoneNumber": main.e164} if main is not None else None,
        "routingPrefix": location.routing_prefix,
        "outsideDialDigit": location.outside_dial_digit,
        "defaultDomain": location.organization.sip_domain,
        **({"connection": connection} if (connection := location_connection(location)) else {}),
    }


class CallingLineIdIn(serializers.Serializer):
    name = serializers.CharField(max_length=80, required=False, allow_null=True, allow_blank=True)
    phoneNumber = serializers.CharField(max_length=40, required=False, allow_null=True, allow_blank=True)


class TelephonyLocationIn(serializers.Serializer):
    announcementLanguage = serializers.CharField(max_length=10, required=False, allow_null=True)
    callingLineId = CallingLineIdIn(required=False, allow_null=True)
    routingPrefix = serializers.CharField(max_length=7, required=False, allow_null=True, allow_blank=True)
    outsideDialDigit = serializers.CharField(max_length=1, required=False, allow_null=True, allow_blank=True)
    connection = serializers.DictField(required=False, allow_null=True)   # {type TRUNK|ROUTE_GROUP, id}
    # externalCallerIdName, chargeNumber, … are accepted and not kept by this server.


class EnableCallingIn(serializers.Serializer):
    id = serializers.CharField()
    announcementLanguage = serializers.CharField(max_length=10, required=False, allow_null=True)


class TelephonyLocationOut(serializers.Serializer):
    id = serializers.CharField()
    name = serializers.CharField()
    announcementLanguage = serializers.CharField()
    callingLineId = CallingLineIdIn(required=False)
    routingPrefix = serializers.CharField(required=False)
    outsideDialDigit = serializers.CharField(required=False)
    defaultDomain = serializers.CharField()
    connection = serializers.DictField(required=False, allow_null=True, help_text="{type TRUNK|ROUTE_GROUP, id}")


class TelephonyLocationListOut(serializers.Serializer):
    locations = TelephonyLocationOut(many=True)


class AnnouncementLanguageIn(serializers.Serializer):
    announcementLanguageCode = serializers.CharField(max_length=10)
    agentEnabled = serializers.BooleanField(required=False)
    serviceEnabled = serializers.BooleanField(required=False)


class TelephonyLocationListView(WebexAPIView):
    @extend_schema(operation_id="telephony_locations_list", responses=TelephonyLocationListOut, parameters=[
        ORG_ID, OpenApiParameter("name", str), OpenApiParameter("order", str, enum=["asc", "desc"]),
        OpenApiParameter("max", int), OpenApiParameter("start", int)], summary="List calling locations")
    def get(self, request):
        org = self.organization(request)
        locations = self.visible(Location, request, org)
        if name := request.query_params.get("name"):
            locations = locations.filter(name__icontains=name)
        order = query_choice(request, "order", ["asc", "desc", "name", "-name"]) or "asc"
        locations = locations.order_by(*(("-name", "-id") if order in ("desc", "-name") else ("name", "id")))
        return paginated(request, calling_locations(locations),
                         lambda rows: [telephony_location_body(loc) for loc in rows], key="locations")

    @extend_schema(operation_id="telephony_locations_enable", request=EnableCallingIn, responses=IdResponse,
                   parameters=[ORG_ID], summary="Enable a location for calling")
    def post(self, request):
        """Every location here can call; enabling checks the caller may change it and applies the announcement
        language sent."""
        data = validated(EnableCallingIn, request.data)
        org = self.organization(request)
        location = get_or_404(self.visible(Location, request, org), parse_id(data["id"], "LOCATION", "id"),
                              "Location")
        actor = self.actor(request)
        actor.require(Location, "change", location)
        if data.get("announcementLanguage"):
            with webex_field_names():
                update_location(actor, location, announcement_language=language_code(data["announcementLanguage"]))
        return Response({"id": location_webex_id(location)})


class TelephonyLocationDetailView(WebexAPIView):
    def get_location(self, request, location_id: str) -> Location:
        org = self.organization(request)
        return get_or_404(calling_locations(self.visible(Location, request, org)),
                          parse_id(location_id, "LOCATION", "locationId"), "Location")

    @extend_schema(operation_id="telephony_locations_details", responses=TelephonyLocationOut, parameters=[ORG_ID],
                   summary="Get a location's calling details")
    def get(self, request, location_id: str):
        return Response(telephony_location_body(self.get_location(request, location_id)))

    @extend_schema(operation_id="telephony_locations_update", request=TelephonyLocationIn, responses={204: None},
                   parameters=[ORG_ID], summary="Update a location's calling details (fields sent are changed)")
    def put(self, request, location_id: str):
        location = self.get_location(request, location_id)
        data = validated(TelephonyLocationIn, request.data)
        actor = self.actor(request)
        fields = {}
        if "routingPrefix" in data:
            fields["routing_prefix"] = data["routingPrefix"] or None
        if "outsideDialDigit" in data:
            fields["outside_dial_digit"] = data["outsideDialDigit"] or None
        if data.get("announcementLanguage"):
            fields["announcement_language"] = language_code(data["announcementLanguage"])
        with webex_field_names(), transaction.atomic():
            if fields:
                update_location(actor, location, **fields)
            calling_line = data.get("callingLineId") or {}
            if "phoneNumber" in calling_line:
                try:
                    set_main_number(actor, location, calling_line["phoneNumber"] or None)
                except DjangoValidationError as exc:
                    raise ValidationError({"callingLineId.phoneNumber": exc.messages}) from exc
            connection = data.get("connection") or {}
            if connection.get("id"):
                set_connection(actor, location, str(connection.get("type") or ""), str(connection["id"]),
                               "connection.id")
        return Response(status=status.HTTP_204_NO_CONTENT)


class AnnouncementLanguageView(WebexAPIView):
    """Changing the announcement language of a location's existing users and features: here they all follow the
    location's, so this sets it. Also routed at `/v1/{locationId}/actions/…` for the wxc-sdk 1.41 path bug."""

    @extend_schema(operation_id="telephony_locations_change_announcement_language", request=AnnouncementLanguageIn,
                   responses={204: None}, parameters=[ORG_ID], summary="Change announcement language")
    def put(self, request, location_id: str):
        org = self.organization(request)
        location = get_or_404(self.visible(Location, request, org), parse_id(location_id, "LOCATION", "locationId"),
                              "Location")
        data = validated(AnnouncementLanguageIn, request.data)
        with webex_field_names(announcement_language="announcementLanguageCode"):
            update_location(self.actor(request), location,
                            announcement_language=language_code(data["announcementLanguageCode"]))
        return Response(status=status.HTTP_204_NO_CONTENT)


class AnnouncementLanguageSdkPathView(AnnouncementLanguageView):
    """The same call at the path wxc-sdk 1.41 sends it to (kept out of the OpenAPI document)."""

    schema = None
