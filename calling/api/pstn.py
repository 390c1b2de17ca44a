"""`/v1/telephony/config/premisePstn/{trunks, routeGroups}` and `/v1/telephony/pstn/locations/{id}/connection`:
local gateways and a location's premises PSTN connection (reference/webex-api.md §7.2, §7.6)."""
from django.db.models import Count, Q
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from controlhub.api.common import (
    ORG_ID,
    IdResponse,
    WebexAPIView,
    get_or_404,
    location_webex_id,
    org_webex_id,
    parse_id,
    query_choice,
    validated,
    webex_field_names,
)
from controlhub.api.ids import webex_id
from controlhub.api.pagination import paginated
from controlhub.models import Location

from ..actions import (
    create_route_group,
    create_trunk,
    delete_route_group,
    delete_trunk,
    set_location_pstn_connection,
    update_route_group,
    update_trunk,
)
from ..gateways import cube_parameters, trunk_status
from ..models import CUBE_DEVICE_TYPE, LocationPstn, PChargeInfoPolicy, RouteGroup, Trunk, TrunkType

TRUNK_FIELDS = {"trunk_type": "trunkType", "location": "locationId", "max_concurrent_calls": "maxConcurrentCalls",
                "dual_identity_support_enabled": "dualIdentitySupportEnabled", "peer_identity": "peerIdentity",
                "p_charge_info_support_policy": "pChargeInfoSupportPolicy", "device_type": "deviceType"}


def trunk_webex_id(trunk_or_pk) -> str:
    return webex_id("TRUNK", getattr(trunk_or_pk, "pk", trunk_or_pk))


def route_group_webex_id(group_or_pk) -> str:
    return webex_id("ROUTE_GROUP", getattr(group_or_pk, "pk", group_or_pk))


def _id_name(location: Location) -> dict:
    return {"id": location_webex_id(location), "name": location.name}


def trunk_list_body(trunk: Trunk) -> dict:
    return {"id": trunk_webex_id(trunk), "name": trunk.name, "location": _id_name(trunk.location),
            "inUse": bool(trunk.usage_count), "trunkType": trunk.trunk_type, "isRestrictedToDedicatedInstance": False}


def trunk_detail_body(trunk: Trunk) -> dict:
    params = cube_parameters(trunk)
    using = Location.objects.filter(Q(pstn__trunk=trunk) | Q(pstn__route_group__members__trunk=trunk)).distinct()
    body = {
        "id": trunk_webex_id(trunk),
        "name": trunk.name,
        "organization": {"id": org_webex_id(trunk.organization), "name": trunk.organization.display_name},
        "location": _id_name(trunk.location),
        "otgDtgId": trunk.otg_dtg_id,
        "linePort": trunk.line_port,
        "locationsUsingTrunk": [_id_name(loc) for loc in using.order_by("name")],
        "pilotUserId": trunk.line_port,
        "outboundProxy": {"outboundProxy": params.outbound_proxy},
        "sipAuthenticationUserName": trunk.sip_username,
        "status": trunk_status(trunk),
        "errorCodes": [],
        "responseStatus": [],
        "dualIdentitySupportEnabled": trunk.dual_identity_support_enabled,
        "trunkType": trunk.trunk_type,
        "deviceType": trunk.device_type,
        "maxConcurrentCalls": trunk.max_concurrent_calls,
        "isRestrictedToDedicatedInstance": False,
        "pChargeInfoSupportPolicy": trunk.p_charge_info_support_policy,
    }
    if trunk.trunk_type == TrunkType.CERTIFICATE_BASED:
        body.update(address=trunk.address, domain=trunk.domain, port=trunk.port)
        if trunk.peer_identity:
            body["peerIdentity"] = trunk.peer_identity
    return body


def _trunks(queryset):
    return queryset.select_related("location", "organization").annotate(
        usage_count=Count("pstn_locations", distinct=True) + Count("memberships", distinct=True))


class TrunkIn(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    locationId = serializers.CharField(required=False)
    password = serializers.CharField(max_length=64, required=False, allow_blank=True)
    trunkType = serializers.ChoiceField(choices=TrunkType.values, required=False)
    dualIdentitySupportEnabled = serializers.BooleanField(required=False)
    deviceType = serializers.JSONField(required=False, allow_null=True)   # a name, or {deviceType, …} (the SDK)
    address = serializers.CharField(max_length=253, required=False, allow_blank=True, allow_null=True)
    domain = serializers.CharField(max_length=253, required=False, allow_blank=True, allow_null=True)
    port = serializers.IntegerField(required=False, allow_null=True)
    maxConcurrentCalls = serializers.IntegerField(required=False, allow_null=True)
    peerIdentity = serializers.CharField(max_length=253, required=False, allow_blank=True, allow_null=True)
    pChargeInfoSupportPolicy = serializers.ChoiceField(choices=PChargeInfoPolicy.values, required=False)


class TrunkUpdateIn(serializers.Serializer):
    name = serializers.CharField(max_length=100, required=False)
    password = serializers.CharField(max_length=64, required=False, allow_blank=True)
    dualIdentitySupportEnabled = serializers.BooleanField(required=False)
    maxConcurrentCalls = serializers.IntegerField(required=False, allow_null=True)
    pChargeInfoSupportPolicy = serializers.ChoiceField(choices=PChargeInfoPolicy.values, required=False)


class TrunkListView(WebexAPIView):
    @extend_schema(operation_id="premise_pstn_trunks_list", parameters=[
        ORG_ID, OpenApiParameter("name", str), OpenApiParameter("locationName", str),
        OpenApiParameter("trunkType", str), OpenApiParameter("order", str), OpenApiParameter("max", int),
        OpenApiParameter("start", int)], summary="List trunks", responses={200: None})
    def get(self, request):
        org = self.organization(request)
        trunks = self.visible(Trunk, request, org)
        if name := request.query_params.get("name"):
            trunks = trunks.filter(name__icontains=name)
        if location_name := request.query_params.get("locationName"):
            trunks = trunks.filter(location__name__icontains=location_name)
        if trunk_type := query_choice(request, "trunkType", TrunkType.values):
            trunks = trunks.filter(trunk_type=trunk_type)
        order = (request.query_params.get("order") or "name").split(",")[0].strip()
        key = {"name": "name", "locationName": "location__name"}.get(order.split("-")[0].lstrip("+"), "name")
        descending = order.startswith("-") or order.endswith("-desc") or order.endswith("-DESC")
        trunks = trunks.order_by(f"-{key}" if descending else key, "id")
        return paginated(request, _trunks(trunks), lambda rows: [trunk_list_body(t) for t in rows], key="trunks")

    @extend_schema(operation_id="premise_pstn_trunks_create", request=TrunkIn, responses=IdResponse,
                   parameters=[ORG_ID], summary="Create a trunk")
    def post(self, request):
        data = validated(TrunkIn, request.data)
        org = self.organization(request)
        location = self.location_ref(request, org, data.get("locationId"))
        fields = {"name": data["name"], "location": location,
                  "trunk_type": data.get("trunkType") or TrunkType.REGISTERING}
        for key, name in (("password", "password"), ("address", "address"), ("domain", "domain"), ("port", "port"),
                          ("maxConcurrentCalls", "max_concurrent_calls"), ("peerIdentity", "peer_identity"),
                          ("dualIdentitySupportEnabled", "dual_identity_support_enabled"),
                          ("pChargeInfoSupportPolicy", "p_charge_info_support_policy")):
            if data.get(key) is not None:
                fields[name] = data[key]
        device_type = data.get("deviceType")
        if isinstance(device_type, dict):   # the SDK's TrunkDeviceType object
            device_type = device_type.get("deviceType")
        if device_type not in (None, "", CUBE_DEVICE_TYPE):
            raise ValidationError({"deviceType": f"Supported device type: {CUBE_DEVICE_TYPE}."})
        with webex_field_names(**TRUNK_FIELDS):
            trunk = create_trunk(self.actor(request), org, **fields)
        return Response({"id": trunk_webex_id(trunk)})


class TrunkTypesView(WebexAPIView):
    @extend_schema(operation_id="premise_pstn_trunk_types", parameters=[ORG_ID], summary="List trunk types",
                   responses={200: None})
    def get(self, request):
        self.organization(request)
        return Response({"trunkTypes": [
            {"trunkType": kind, "deviceTypes": [{"deviceType": CUBE_DEVICE_TYPE, "minConcurrentCalls": 1,
                                                 "maxConcurrentCalls": 10000}]}
            for kind in TrunkType.values]})


class TrunkLookup:
    def get_trunk(self, request, trunk_id: str) -> Trunk:
        org = self.organization(request)
        return get_or_404(_trunks(self.visible(Trunk, request, org)), parse_id(trunk_id, "TRUNK", "trunkId"),
                          "Trunk")


class TrunkDetailView(TrunkLookup, WebexAPIView):
    @extend_schema(operation_id="premise_pstn_trunks_details", parameters=[ORG_ID], summary="Get a trunk",
                   responses={200: None})
    def get(self, request, trunk_id: str):
        return Response(trunk_detail_body(self.get_trunk(request, trunk_id)))

    @extend_schema(operation_id="premise_pstn_trunks_update", request=TrunkUpdateIn, responses={204: None},
                   parameters=[ORG_ID], summary="Modify a trunk")
    def put(self, request, trunk_id: str):
        trunk = self.get_trunk(request, trunk_id)
        data = validated(TrunkUpdateIn, request.data)
        fields = {}
        for key, name in (("name", "name"), ("password", "password"), ("maxConcurrentCalls", "max_concurrent_calls"),
                          ("dualIdentitySupportEnabled", "dual_identity_support_enabled"),
                          ("pChargeInfoSupportPolicy", "p_charge_info_support_policy")):
            if data.get(key) is not None:
                fields[name] = data[key]
        with webex_field_names(**TRUNK_FIELDS):
            update_trunk(self.actor(request), trunk, **fields)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(operation_id="premise_pstn_trunks_delete", parameters=[ORG_ID], responses={204: None},
                   summary="Delete a trunk")
    def delete(self, request, trunk_id: str):
        delete_trunk(self.actor(request), self.get_trunk(request, trunk_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class TrunkUsageView(TrunkLookup, WebexAPIView):
    @extend_schema(operation_id="premise_pstn_trunks_usage", parameters=[ORG_ID], responses={200: None},
                   summary="Where a trunk is used")
    def get(self, request, trunk_id: str):
        trunk = self.get_trunk(request, trunk_id)
        return Response({"pstnConnectionCount": trunk.pstn_locations.count(), "callToExtensionCount": 0,
                         "dialPlanCount": 0, "routeGroupCount": trunk.memberships.count()})


# --------------------------------------------------------------------------------------------- route groups


class RouteGroupMemberIn(serializers.Serializer):
    id = serializers.CharField()
    priority = serializers.IntegerField(min_value=1, max_value=10)
    name = serializers.CharField(required=False, allow_null=True)
    locationId = serializers.CharField(required=False, allow_null=True)


class RouteGroupIn(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    localGateways = RouteGroupMemberIn(many=True, required=False)


def route_group_detail_body(group: RouteGroup) -> dict:
    return {
        "id": route_group_webex_id(group), "name": group.name,
        "organization": {"id": org_webex_id(group.organization), "name": group.organization.display_name},
        "localGateways": [{"id": trunk_webex_id(m.trunk), "name": m.trunk.name,
                           "locationId": location_webex_id(m.trunk.location_id), "priority": m.priority}
                          for m in group.members.select_related("trunk").order_by("priority", "trunk__name")],
    }


class RouteGroupBodyMixin:
    def members(self, request, org, data) -> list[tuple[Trunk, int]]:
        trunks = self.visible(Trunk, request, org)
        result = []
        for item in data.get("localGateways") or []:
            trunk = trunks.filter(pk=parse_id(item["id"], "TRUNK", "localGateways.id")).first()
            if trunk is None:
                raise ValidationError({"localGateways": f"Trunk {item['id'][:100]} not found."})
            result.append((trunk, item["priority"]))
        return result


class RouteGroupListView(RouteGroupBodyMixin, WebexAPIView):
    @extend_schema(operation_id="premise_pstn_route_groups_list", parameters=[
        ORG_ID, OpenApiParameter("name", str), OpenApiParameter("order", str), OpenApiParameter("max", int),
        OpenApiParameter("start", int)], summary="List route groups", responses={200: None})
    def get(self, request):
        org = self.organization(request)
        groups = self.visible(RouteGroup, request, org).annotate(usage=Count("pstn_locations"))
        if name := request.query_params.get("name"):
            groups = groups.filter(name__icontains=name)
        descending = (request.query_params.get("order") or "").lower().endswith("desc")
        groups = groups.order_by("-name" if descending else "name", "id")
        return paginated(request, groups, lambda rows: [
            {"id": route_group_webex_id(g), "name": g.name, "inUse": bool(g.usage)} for g in rows], key="routeGroups")

    @extend_schema(operation_id="premise_pstn_route_groups_create", request=RouteGroupIn, responses=IdResponse,
                   parameters=[ORG_ID], summary="Create a route group")
    def post(self, request):
        data = validated(RouteGroupIn, request.data)
        org = self.organization(request)
        with webex_field_names(local_gateways="localGateways"):
            group = create_route_group(self.actor(request), org, name=data["name"],
                                       members=self.members(request, org, data))
        return Response({"id": route_group_webex_id(group)})


class RouteGroupLookup:
    def get_group(self, request, rg_id: str) -> RouteGroup:
        org = self.organization(request)
        return get_or_404(self.visible(RouteGroup, request, org).select_related("organization"),
                          parse_id(rg_id, "ROUTE_GROUP", "routeGroupId"), "Route group")


class RouteGroupDetailView(RouteGroupLookup, RouteGroupBodyMixin, WebexAPIView):
    @extend_schema(operation_id="premise_pstn_route_groups_details", parameters=[ORG_ID], responses={200: None},
                   summary="Get a route group")
    def get(self, request, rg_id: str):
        return Response(route_group_detail_body(self.get_group(request, rg_id)))

    @extend_schema(operation_id="premise_pstn_route_groups_update", request=RouteGroupIn, responses={204: None},
                   parameters=[ORG_ID], summary="Modify a route group")
    def put(self, request, rg_id: str):
        group = self.get_group(request, rg_id)
        data = validated(RouteGroupIn, request.data)
        members = self.members(request, group.organization, data) if "localGateways" in data else None
        with webex_field_names(local_gateways="localGateways"):
            update_route_group(self.actor(request), group, name=data["name"], members=members)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(operation_id="premise_pstn_route_groups_delete", parameters=[ORG_ID], responses={204: None},
                   summary="Delete a route group")
    def delete(self, request, rg_id: str):
        delete_route_group(self.actor(request), self.get_group(request, rg_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class RouteGroupUsageView(RouteGroupLookup, WebexAPIView):
    @extend_schema(operation_id="premise_pstn_route_groups_usage", parameters=[ORG_ID], responses={200: None},
                   summary="Where a route group is used")
    def get(self, request, rg_id: str):
        group = self.get_group(request, rg_id)
        return Response({"pstnConnectionCount": group.pstn_locations.count(), "callToExtensionCount": 0,
                         "dialPlanCount": 0, "routeListCount": 0})


# --------------------------------------------------------------------------------------------- PSTN connection


def connection_option(route) -> dict:
    is_trunk = isinstance(route, Trunk)
    route_id = trunk_webex_id(route) if is_trunk else route_group_webex_id(route)
    return {"id": route_id, "displayName": route.name, "pstnServices": ["GEOGRAPHIC_NUMBERS"],
            "pstnConnectionType": "LOCAL_GATEWAY", "routeType": "TRUNK" if is_trunk else "ROUTE_GROUP",
            "routeId": route_id}


def location_connection(location: Location) -> dict | None:
    """The calling location's `connection{type, id}`, or None without a premises PSTN connection."""
    pstn = getattr(location, "pstn", None)   # the reverse one-to-one raises an AttributeError when absent
    if pstn is None:
        return None
    if pstn.trunk_id:
        return {"type": "TRUNK", "id": trunk_webex_id(pstn.trunk_id)}
    return {"type": "ROUTE_GROUP", "id": route_group_webex_id(pstn.route_group_id)}


class ConnectionIn(serializers.Serializer):
    id = serializers.CharField(required=False, allow_null=True, allow_blank=True)
    premiseRouteType = serializers.ChoiceField(choices=["TRUNK", "ROUTE_GROUP"], required=False, allow_null=True)
    premiseRouteId = serializers.CharField(required=False, allow_null=True, allow_blank=True)


class PstnLocationMixin:
    def get_location(self, request, location_id: str) -> Location:
        org = self.organization(request)
        return get_or_404(self.visible(Location, request, org), parse_id(location_id, "LOCATION", "locationId"),
                          "Location")


class ConnectionOptionsView(PstnLocationMixin, WebexAPIView):
    @extend_schema(operation_id="pstn_connection_options", parameters=[ORG_ID], responses={200: None},
                   summary="PSTN connection options of a location")
    def get(self, request, location_id: str):
        location = self.get_location(request, location_id)
        org = location.organization
        options = [connection_option(t) for t in Trunk.objects.filter(organization=org).order_by("name")]
        options += [connection_option(g) for g in RouteGroup.objects.filter(organization=org).order_by("name")]
        return Response({"items": options})


class ConnectionView(PstnLocationMixin, WebexAPIView):
    @extend_schema(operation_id="pstn_connection_read", parameters=[ORG_ID], responses={200: None},
                   summary="A location's PSTN connection")
    def get(self, request, location_id: str):
        location = self.get_location(request, location_id)
        pstn = LocationPstn.objects.filter(location=location).select_related("trunk", "route_group").first()
        if pstn is None:
            return Response({})
        return Response(connection_option(pstn.route))

    @extend_schema(operation_id="pstn_connection_configure", request=ConnectionIn, responses={204: None},
                   parameters=[ORG_ID], summary="Set a location's PSTN connection to a trunk or route group")
    def put(self, request, location_id: str):
        location = self.get_location(request, location_id)
        data = validated(ConnectionIn, request.data)
        route_type = data.get("premiseRouteType")
        raw = data.get("premiseRouteId")
        if not route_type or not raw:
            raise ValidationError({"premiseRouteId": "Give premiseRouteType (TRUNK or ROUTE_GROUP) and "
                                                     "premiseRouteId."})
        set_connection(self.actor(request), location, route_type, raw, "premiseRouteId")
        return Response(status=status.HTTP_204_NO_CONTENT)


def premise_route(org, route_type: str, raw_id: str, field: str) -> Trunk | RouteGroup:
    """A TRUNK / ROUTE_GROUP id of the organisation (a PSTN connection's or a dial plan's route); 400 naming
    `field` otherwise."""
    if route_type == "TRUNK":
        route = Trunk.objects.filter(organization=org, pk=parse_id(raw_id, "TRUNK", field)).first()
    elif route_type == "ROUTE_GROUP":
        route = RouteGroup.objects.filter(organization=org, pk=parse_id(raw_id, "ROUTE_GROUP", field)).first()
    else:
        raise ValidationError({field: "The route type must be TRUNK or ROUTE_GROUP."})
    if route is None:
        raise ValidationError({field: "No such trunk or route group in this organization."})
    return route


def set_connection(actor, location: Location, route_type: str, raw_id: str, field: str) -> None:
    """Make a TRUNK / ROUTE_GROUP of the location's organisation its PSTN connection."""
    route = premise_route(location.organization, route_type, raw_id, field)
    with webex_field_names(premiseRouteId=field):
        set_location_pstn_connection(actor, location, route)
