"""A phone's line appearances (`members`) and the calling devices of a person or workspace."""
from django.db.models import Q
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from calling.models import Line
from controlhub.api.common import (
    ORG_ID,
    WebexAPIView,
    blank_to_none,
    device_webex_id,
    get_or_404,
    location_webex_id,
    one_of,
    parse_id,
    person_webex_id,
    validated,
    workspace_webex_id,
)
from controlhub.api.ids import webex_kind_and_tail
from controlhub.api.pagination import paginated
from controlhub.models import Organization
from users.models import Person, Workspace

from ..actions import Member, set_device_members
from ..models import Device, DeviceLine, DeviceStatus, LineType

# What Webex reports as a person's or workspace's device limit; informational, this server enforces none.
MAX_DEVICE_COUNT = 5


def line_member_fields(line: Line) -> dict:
    """Who a line belongs to and how it is dialled, as device member and available member bodies show it."""
    if line.person_id:
        owner = {"id": person_webex_id(line.person_id), "memberType": "PEOPLE",
                 "firstName": blank_to_none(line.person.first_name), "lastName": blank_to_none(line.person.last_name)}
    else:
        owner = {"id": workspace_webex_id(line.workspace_id), "memberType": "PLACE",
                 "firstName": line.workspace.display_name}
    return {
        **owner,
        "phoneNumber": line.number.e164 if line.number_id else None,
        "extension": line.extension,
        "routingPrefix": line.location.routing_prefix if line.extension else None,
        "esn": line.esn,
        "allowCallDeclineEnabled": True,
        "location": {"id": location_webex_id(line.location_id), "name": line.location.name},
    }


LINE_RELATED = ("line__person", "line__workspace", "line__number", "line__location")


def member_body(device: Device, appearance: DeviceLine) -> dict:
    line = appearance.line
    primary_owner = (line.person_id == device.person_id) if device.person_id else \
        (line.workspace_id == device.workspace_id)
    return {
        **line_member_fields(line),
        "lineType": appearance.line_type,
        "primaryOwner": primary_owner,
        "port": appearance.port,
        "lineWeight": 1,
        "lineLabel": blank_to_none(appearance.line_label),
        "hotlineEnabled": False,
        "t38FaxCompressionEnabled": False,
    }


# --------------------------------------------------------------------------------------------- schema


class MemberLocation(serializers.Serializer):
    id = serializers.CharField()
    name = serializers.CharField()


class MemberOut(serializers.Serializer):
    id = serializers.CharField()
    memberType = one_of(["PEOPLE", "PLACE"])
    firstName = serializers.CharField(required=False)
    lastName = serializers.CharField(required=False)
    phoneNumber = serializers.CharField(required=False)
    extension = serializers.CharField(required=False)
    routingPrefix = serializers.CharField(required=False)
    esn = serializers.CharField(required=False)
    lineType = one_of(LineType.values)
    primaryOwner = serializers.BooleanField(required=False)
    port = serializers.IntegerField(required=False)
    lineWeight = serializers.IntegerField(required=False)
    lineLabel = serializers.CharField(required=False)
    hotlineEnabled = serializers.BooleanField(required=False)
    allowCallDeclineEnabled = serializers.BooleanField()
    t38FaxCompressionEnabled = serializers.BooleanField(required=False)
    location = MemberLocation()


class MembersOut(serializers.Serializer):
    model = serializers.CharField()
    maxLineCount = serializers.IntegerField()
    members = MemberOut(many=True)


class AvailableMembersOut(serializers.Serializer):
    members = MemberOut(many=True)


class MemberIn(serializers.Serializer):
    id = serializers.CharField()
    port = serializers.IntegerField(min_value=1, max_value=100, required=False)
    primaryOwner = serializers.BooleanField(required=False)
    lineType = serializers.ChoiceField(choices=LineType.values, required=False)
    lineWeight = serializers.IntegerField(min_value=1, max_value=100, required=False)
    lineLabel = serializers.CharField(max_length=64, required=False, allow_blank=True, allow_null=True)
    hotlineEnabled = serializers.BooleanField(required=False)
    hotlineDestination = serializers.CharField(required=False, allow_blank=True, allow_null=True)
    allowCallDeclineEnabled = serializers.BooleanField(required=False)
    t38FaxCompressionEnabled = serializers.BooleanField(required=False)

    def validate_hotlineEnabled(self, value):
        if value:
            raise serializers.ValidationError("Hotline is not offered by this server.")
        return value


class MembersIn(serializers.Serializer):
    members = MemberIn(many=True, required=False)


class TelephonyDeviceOut(serializers.Serializer):
    id = serializers.CharField()
    description = serializers.ListField(child=serializers.CharField())
    model = serializers.CharField()
    modelType = one_of(["MPP"])
    type = one_of(LineType.values)
    mac = serializers.CharField()
    primaryOwner = serializers.BooleanField()
    owner = MemberOut()
    activationState = one_of(["ACTIVATING", "ACTIVATED"])
    location = MemberLocation()


class OwnerDeviceListOut(serializers.Serializer):
    devices = TelephonyDeviceOut(many=True)
    maxDeviceCount = serializers.IntegerField()


# --------------------------------------------------------------------------------------------- views


class DeviceMembersView(WebexAPIView):
    def get_device(self, request, device_id: str) -> Device:
        org = self.organization(request)
        return get_or_404(self.visible(Device, request, org).select_related("model"),
                          parse_id(device_id, "DEVICE", "deviceId"), "Device")

    @extend_schema(operation_id="telephony_device_members", responses=MembersOut, parameters=[ORG_ID],
                   summary="Get a device's members (line appearances)")
    def get(self, request, device_id: str):
        device = self.get_device(request, device_id)
        appearances = device.lines.select_related(*LINE_RELATED).order_by("port")
        return Response({"model": device.model.model, "maxLineCount": device.model.line_ports,
                         "members": [member_body(device, a) for a in appearances]})

    @extend_schema(operation_id="telephony_device_members_update", request=MembersIn, responses={204: None},
                   parameters=[ORG_ID], summary="Replace a device's members (no body: only the owner's line)")
    def put(self, request, device_id: str):
        device = self.get_device(request, device_id)
        data = validated(MembersIn, request.data)
        members = [self.member(request, device.organization, i, m) for i, m in enumerate(data.get("members") or [])]
        if not members:
            owner_line = getattr(device.owner, "line", None)
            if owner_line is not None:
                members = [Member(line=owner_line, port=1, line_type=LineType.PRIMARY)]
        set_device_members(self.actor(request), device, members)
        return Response(status=status.HTTP_204_NO_CONTENT)

    def member(self, request, org: Organization, index: int, data: dict) -> Member:
        field = f"members[{index}].id"
        decoded = webex_kind_and_tail(data["id"])
        if decoded is not None and decoded[0] == "PEOPLE":
            owner = self.visible(Person, request, org).select_related("line").filter(
                pk=parse_id(data["id"], "PEOPLE", field)).first()
        else:
            owner = self.visible(Workspace, request, org).select_related("line").filter(
                pk=parse_id(data["id"], "WORKSPACE", field)).first()
        if owner is None:
            raise ValidationError({field: "No such person or workspace."})
        line = getattr(owner, "line", None)
        if line is None:
            raise ValidationError({field: f"{owner} has no calling (number or extension)."})
        return Member(line=line, port=data.get("port", index + 1),
                      line_type=data.get("lineType", LineType.SHARED_CALL_APPEARANCE),
                      line_label=data.get("lineLabel") or "")


class AvailableMembersView(WebexAPIView):
    @extend_schema(operation_id="telephony_device_available_members", responses=AvailableMembersOut,
                   summary="People and workspaces whose line can be added to a device", parameters=[
                       ORG_ID, *[OpenApiParameter(n, str) for n in ("locationId", "memberName", "phoneNumber",
                                                                      "extension", "usageType", "order")],
                       OpenApiParameter("max", int), OpenApiParameter("start", int)])
    def get(self, request, device_id: str):
        org = self.organization(request)
        device = get_or_404(self.visible(Device, request, org), parse_id(device_id, "DEVICE", "deviceId"), "Device")
        lines = self.visible(Line, request, org).exclude(appearances__device=device)
        params = request.query_params
        if raw := params.get("locationId"):
            lines = lines.filter(location=self.location_ref(request, org, raw))
        if name := params.get("memberName"):
            lines = lines.filter(Q(person__display_name__icontains=name) | Q(workspace__display_name__icontains=name))
        if number := params.get("phoneNumber"):
            lines = lines.filter(number__e164__contains=number.strip())
        if extension := params.get("extension"):
            lines = lines.filter(extension__contains=extension.strip())
        lines = lines.select_related("person", "workspace", "number", "location").order_by(
            "person__last_name", "person__first_name", "workspace__display_name", "id")
        return paginated(request, lines, lambda rows: [
            {**line_member_fields(line), "lineType": LineType.SHARED_CALL_APPEARANCE} for line in rows], key="members")


def telephony_device_item(appearance: DeviceLine) -> dict:
    """A device as `GET TC/people/{id}/devices` lists it for the person (or workspace) whose line it carries."""
    device = appearance.device
    primary = (device.person_id or device.workspace_id) == (appearance.line.person_id or appearance.line.workspace_id)
    owner = device.person or device.workspace
    return {
        "id": device_webex_id(device),
        "description": [],
        "model": device.model.model,
        "modelType": "MPP",
        "type": LineType.PRIMARY if primary else LineType.SHARED_CALL_APPEARANCE,
        "mac": device.mac.upper(),
        "primaryOwner": primary,
        "owner": {
            "id": person_webex_id(owner) if device.person_id else workspace_webex_id(owner),
            "type": "PEOPLE" if device.person_id else "PLACE",
            "firstName": blank_to_none(owner.first_name) if device.person_id else owner.display_name,
            "lastName": blank_to_none(owner.last_name) if device.person_id else None,
            "location": {"id": location_webex_id(device.location_id), "name": device.location.name},
        },
        "activationState": "ACTIVATING" if device.status == DeviceStatus.PENDING else "ACTIVATED",
        "location": {"id": location_webex_id(device.location_id), "name": device.location.name},
    }


class OwnerDevicesView(WebexAPIView):
    """Devices carrying the line of a person (`TC/people/{id}/devices`) or workspace (`TC/workspaces/{id}/devices`)."""

    owner_model: type = Person
    kind = "PEOPLE"

    def devices(self, request, owner_id: str) -> Response:
        org = self.organization(request)
        field = "personId" if self.kind == "PEOPLE" else "workspaceId"
        owner = get_or_404(self.visible(self.owner_model, request, org), parse_id(owner_id, self.kind, field),
                           self.owner_model._meta.verbose_name.title())
        owner_field = "line__person" if self.kind == "PEOPLE" else "line__workspace"
        visible_devices = self.visible(Device, request, org)
        appearances = (DeviceLine.objects.filter(**{owner_field: owner}, device__in=visible_devices)
                       .select_related("line", "device__model", "device__person", "device__workspace",
                                       "device__location").order_by("device__mac"))
        return Response({"devices": [telephony_device_item(a) for a in appearances],
                         "maxDeviceCount": MAX_DEVICE_COUNT})


class PersonDevicesView(OwnerDevicesView):
    owner_model = Person
    kind = "PEOPLE"

    @extend_schema(operation_id="telephony_person_devices", responses=OwnerDeviceListOut, parameters=[ORG_ID],
                   summary="A person's devices")
    def get(self, request, person_id: str):
        return self.devices(request, person_id)


class WorkspaceDevicesView(OwnerDevicesView):
    owner_model = Workspace
    kind = "WORKSPACE"

    @extend_schema(operation_id="telephony_workspace_devices", responses=OwnerDeviceListOut, parameters=[ORG_ID],
                   summary="A workspace's devices")
    def get(self, request, workspace_id: str):
        return self.devices(request, workspace_id)
