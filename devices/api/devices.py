"""`/v1/devices` (desk phones by MAC), the supported-model catalogue and MAC validation."""
from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from controlhub.api.common import (
    ORG_ID,
    WebexAPIView,
    device_webex_id,
    get_or_404,
    iso,
    location_webex_id,
    one_of,
    org_webex_id,
    parse_id,
    person_webex_id,
    query_bool,
    validated,
    workspace_webex_id,
)
from controlhub.api.pagination import paginated
from users.models import Person, Workspace

from ..actions import create_device, delete_device, validate_macs
from ..models import Device, DeviceStatus, SupportedDevice
from ..validators import normalize_mac

CONNECTION_STATUS = {DeviceStatus.PENDING: "pending", DeviceStatus.ONLINE: "connected",
                     DeviceStatus.OFFLINE: "disconnected"}
UPGRADE_CHANNELS = ["STABLE", "STABLE_DELAY", "PREVIEW", "BETA", "TESTING"]


def device_queryset(queryset):
    return queryset.select_related("model")


def device_body(device: Device) -> dict:
    return {
        "id": device_webex_id(device),
        "callingDeviceId": device_webex_id(device),
        "displayName": device.model.display_name,
        "personId": person_webex_id(device.person_id) if device.person_id else None,
        "workspaceId": workspace_webex_id(device.workspace_id) if device.workspace_id else None,
        "orgId": org_webex_id(device.organization_id),
        "capabilities": [],
        "permissions": [],
        "connectionStatus": CONNECTION_STATUS.get(device.status, "unknown"),
        "product": device.model.display_name,
        "type": "phone",
        "tags": [],
        "mac": device.mac.upper(),
        "created": iso(device.created),
        "locationId": location_webex_id(device.location_id),
        "firstSeen": iso(device.first_seen),
        "lastSeen": iso(device.last_seen),
        "managedBy": "CISCO",
        "manufacturer": "Cisco",
        "devicePlatform": "cisco",
    }


def supported_device_body(model: SupportedDevice) -> dict:
    return {
        "model": model.model,
        "displayName": model.display_name,
        "familyDisplayName": model.family,
        "type": "MPP",
        "manufacturer": "CISCO",
        "managedBy": "CISCO",
        "supportedFor": ["PEOPLE", "PLACE"],
        "onboardingMethod": ["MAC_ADDRESS"],
        "allowConfigureLayoutEnabled": False,
        "numberOfLinePorts": model.line_ports,
        "kemSupportEnabled": model.kem_module_count > 0,
        "kemModuleCount": model.kem_module_count,
        "touchScreenPhone": model.touch_screen,
        "numberOfLineKeyButtons": model.line_key_buttons,
        "allowConfigurePortsEnabled": True,
        "customizableLineLabelEnabled": True,
        "supportsLinePortReorderingEnabled": True,
        "portNumberSupportEnabled": True,
        "maxNumberOfLineAppearances": model.line_ports,
    }


# --------------------------------------------------------------------------------------------- schema


class DeviceIn(serializers.Serializer):
    mac = serializers.CharField(max_length=40)
    model = serializers.CharField(max_length=60)
    personId = serializers.CharField(required=False)
    workspaceId = serializers.CharField(required=False)
    password = serializers.CharField(required=False)

    def validate(self, attrs):
        if bool(attrs.get("personId")) == bool(attrs.get("workspaceId")):
            raise serializers.ValidationError({"personId": "Give exactly one of personId and workspaceId."})
        if attrs.get("password"):
            raise serializers.ValidationError({"password": "Only third-party devices take a password; Cisco MPP "
                                                           "phones get their credentials from this server."})
        return attrs


class DeviceOut(serializers.Serializer):
    id = serializers.CharField()
    callingDeviceId = serializers.CharField()
    displayName = serializers.CharField()
    personId = serializers.CharField(required=False)
    workspaceId = serializers.CharField(required=False)
    orgId = serializers.CharField()
    capabilities = serializers.ListField(child=serializers.CharField())
    permissions = serializers.ListField(child=serializers.CharField())
    connectionStatus = one_of(["pending", "connected", "disconnected"])
    product = serializers.CharField()
    type = one_of(["phone"])
    tags = serializers.ListField(child=serializers.CharField())
    mac = serializers.CharField()
    created = serializers.DateTimeField()
    locationId = serializers.CharField()
    firstSeen = serializers.DateTimeField(required=False)
    lastSeen = serializers.DateTimeField(required=False)
    managedBy = serializers.CharField()
    manufacturer = serializers.CharField()
    devicePlatform = serializers.CharField()


class DeviceListOut(serializers.Serializer):
    items = DeviceOut(many=True)


class SupportedDeviceOut(serializers.Serializer):
    model = serializers.CharField()
    displayName = serializers.CharField()
    familyDisplayName = serializers.CharField()
    type = one_of(["MPP"])
    manufacturer = one_of(["CISCO"])
    managedBy = one_of(["CISCO"])
    supportedFor = serializers.ListField(child=serializers.CharField())
    onboardingMethod = serializers.ListField(child=serializers.CharField())
    allowConfigureLayoutEnabled = serializers.BooleanField()
    numberOfLinePorts = serializers.IntegerField()
    kemSupportEnabled = serializers.BooleanField()
    kemModuleCount = serializers.IntegerField()
    touchScreenPhone = serializers.BooleanField()
    numberOfLineKeyButtons = serializers.IntegerField()
    allowConfigurePortsEnabled = serializers.BooleanField()
    customizableLineLabelEnabled = serializers.BooleanField()
    supportsLinePortReorderingEnabled = serializers.BooleanField()
    portNumberSupportEnabled = serializers.BooleanField()
    maxNumberOfLineAppearances = serializers.IntegerField()


class SupportedDevicesOut(serializers.Serializer):
    upgradeChannelList = serializers.ListField(child=serializers.CharField())
    devices = SupportedDeviceOut(many=True)


class ValidateMacsIn(serializers.Serializer):
    macs = serializers.ListField(child=serializers.CharField(max_length=40), min_length=1, max_length=1000)


class MacStatusOut(serializers.Serializer):
    mac = serializers.CharField()
    state = one_of(["AVAILABLE", "UNAVAILABLE", "DUPLICATE_IN_LIST", "INVALID"])
    errorCode = serializers.IntegerField(required=False)
    message = serializers.CharField(required=False)


class ValidateMacsOut(serializers.Serializer):
    status = one_of(["OK", "ERRORS"])
    macStatus = MacStatusOut(many=True)


# --------------------------------------------------------------------------------------------- views


class SupportedDevicesView(WebexAPIView):
    @extend_schema(operation_id="telephony_supported_devices", responses=SupportedDevicesOut, summary="Supported "
                   "devices", parameters=[ORG_ID, OpenApiParameter("type", str, description="MPP, or not:MPP"),
                                          OpenApiParameter("allowConfigureLayoutEnabled", bool)])
    def get(self, request):
        self.organization(request)  # orgId is checked like everywhere else
        models = list(SupportedDevice.objects.order_by("product_code"))
        wanted_type = request.query_params.get("type")
        if wanted_type not in (None, "", "MPP") or query_bool(request, "allowConfigureLayoutEnabled"):
            models = []  # only Cisco MPP phones, none with a configurable layout
        return Response({"upgradeChannelList": UPGRADE_CHANNELS,
                         "devices": [supported_device_body(m) for m in models]})


class DeviceListView(WebexAPIView):
    @extend_schema(operation_id="devices_list", responses=DeviceListOut, summary="List devices", parameters=[
        ORG_ID, *[OpenApiParameter(name, str) for name in (
            "personId", "workspaceId", "locationId", "displayName", "product", "type", "mac", "connectionStatus",
            "tag", "serial", "software", "upgradeChannel", "errorCode", "capability", "permission",
            "devicePlatform")], OpenApiParameter("max", int), OpenApiParameter("start", int)])
    def get(self, request):
        org = self.organization(request)
        devices = self.visible(Device, request, org).order_by("mac")
        params = request.query_params
        if raw := params.get("personId"):
            devices = devices.filter(person_id=parse_id(raw, "PEOPLE", "personId"))
        if raw := params.get("workspaceId"):
            devices = devices.filter(workspace_id=parse_id(raw, "WORKSPACE", "workspaceId"))
        if raw := params.get("locationId") or params.get("workspaceLocationId"):
            devices = devices.filter(location_id=parse_id(raw, "LOCATION", "locationId"))
        if raw := params.get("mac"):
            try:
                devices = devices.filter(mac=normalize_mac(raw))
            except DjangoValidationError as exc:
                raise ValidationError({"mac": exc.messages}) from exc
        for name in ("displayName", "product"):
            if raw := params.get(name):
                devices = devices.filter(model__display_name__iexact=raw)
        if raw := params.get("connectionStatus"):
            devices = devices.filter(status__in=[k for k, v in CONNECTION_STATUS.items() if v == raw])
        if params.get("type") not in (None, "", "phone") or params.get("devicePlatform") not in (None, "", "cisco"):
            devices = devices.none()
        if any(params.get(name) for name in ("tag", "serial", "software", "upgradeChannel", "errorCode",
                                             "capability", "permission")):
            devices = devices.none()  # no device here has tags, serials, error codes … to match
        return paginated(request, device_queryset(devices), lambda rows: [device_body(d) for d in rows])

    @extend_schema(operation_id="devices_create_by_mac", request=DeviceIn, responses=DeviceOut, parameters=[ORG_ID],
                   summary="Add a phone by MAC address")
    def post(self, request):
        data = validated(DeviceIn, request.data)
        org = self.organization(request)
        if data.get("personId"):
            pk = parse_id(data["personId"], "PEOPLE", "personId")
            owner = self.visible(Person, request, org).select_related("line").filter(pk=pk).first()
            field = "personId"
        else:
            pk = parse_id(data["workspaceId"], "WORKSPACE", "workspaceId")
            owner = self.visible(Workspace, request, org).select_related("line").filter(pk=pk).first()
            field = "workspaceId"
        if owner is None:
            raise ValidationError({field: "Not found."})
        device = create_device(self.actor(request), org, mac=data["mac"], model=data["model"], owner=owner)
        return Response(device_body(device))


class DeviceDetailView(WebexAPIView):
    def get_device(self, request, device_id: str) -> Device:
        org = self.organization(request)
        return get_or_404(device_queryset(self.visible(Device, request, org)),
                          parse_id(device_id, "DEVICE", "deviceId"), "Device")

    @extend_schema(operation_id="devices_details", responses=DeviceOut, parameters=[ORG_ID],
                   summary="Get device details")
    def get(self, request, device_id: str):
        return Response(device_body(self.get_device(request, device_id)))

    @extend_schema(operation_id="devices_delete", responses={204: None}, parameters=[ORG_ID],
                   summary="Delete a device")
    def delete(self, request, device_id: str):
        delete_device(self.actor(request), self.get_device(request, device_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


MAC_ERROR_CODES = {"UNAVAILABLE": 8001, "DUPLICATE_IN_LIST": 8002, "INVALID": 8003}


class ValidateMacsView(WebexAPIView):
    @extend_schema(operation_id="telephony_devices_validate_macs", request=ValidateMacsIn, responses=ValidateMacsOut,
                   parameters=[ORG_ID], summary="Validate MAC addresses")
    def post(self, request):
        data = validated(ValidateMacsIn, request.data)
        self.organization(request)
        statuses = validate_macs(data["macs"])
        items = [{"mac": s.mac.upper() if s.state != "INVALID" else s.mac, "state": s.state,
                  "errorCode": MAC_ERROR_CODES.get(s.state), "message": s.message or None} for s in statuses]
        ok = all(s.state == "AVAILABLE" for s in statuses)
        return Response({"status": "OK" if ok else "ERRORS", "macStatus": items})
