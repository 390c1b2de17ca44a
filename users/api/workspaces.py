"""`/v1/workspaces`: shared spaces with a common-area phone; `calling.webexCalling` is the workspace's line."""
from django.db import transaction
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from calling.actions import assign_calling, remove_calling
from controlhub.api.common import (
    ORG_ID,
    WebexAPIView,
    get_or_404,
    iso,
    licence_webex_id,
    location_webex_id,
    one_of,
    org_webex_id,
    parse_id,
    query_choice,
    query_int,
    validated,
    webex_field_names,
    workspace_webex_id,
)
from controlhub.api.pagination import paginated
from controlhub.models import Organization

from ..actions import create_workspace, delete_workspace, update_workspace
from ..models import License, LicenseKind, Workspace, WorkspaceType
from .common import resolve_licences

WORKSPACE_ERRORS = {"location": "locationId", "extension": "calling.webexCalling.extension",
                    "phoneNumber": "calling.webexCalling.phoneNumber"}
CALLING_TYPES = ["freeCalling", "webexEdgeForDevices", "thirdPartySipCalling", "webexCalling", "none"]


def workspace_queryset(queryset):
    return queryset.select_related("line__number", "line__location")


def workspaces_licence(org: Organization) -> License | None:
    return License.objects.filter(organization=org, kind=LicenseKind.CALLING_WORKSPACES).first()


def workspace_body(workspace: Workspace, licence: License | None) -> dict:
    line = getattr(workspace, "line", None)
    calling = {"type": "none"}
    if line is not None:
        calling = {"type": "webexCalling", "webexCalling": {
            "phoneNumber": line.number.e164 if line.number else None,
            "extension": line.extension,
            "locationId": location_webex_id(line.location_id),
            "licenses": [licence_webex_id(licence)] if licence is not None else None,
        }}
    return {
        "id": workspace_webex_id(workspace),
        "orgId": org_webex_id(workspace.organization_id),
        "locationId": location_webex_id(workspace.location_id),
        "displayName": workspace.display_name,
        "capacity": workspace.capacity,
        "type": workspace.type,
        "created": iso(workspace.created),
        "calling": calling,
        "supportedDevices": "phones",
    }


class WebexCallingIn(serializers.Serializer):
    phoneNumber = serializers.CharField(max_length=40, required=False, allow_null=True, allow_blank=True)
    extension = serializers.CharField(max_length=10, required=False, allow_null=True, allow_blank=True)
    locationId = serializers.CharField(required=False, allow_null=True, allow_blank=True)
    licenses = serializers.ListField(child=serializers.CharField(), required=False)


class CallingIn(serializers.Serializer):
    type = serializers.ChoiceField(choices=CALLING_TYPES)
    webexCalling = WebexCallingIn(required=False)

    def validate(self, attrs):
        if attrs["type"] not in ("webexCalling", "none"):
            raise serializers.ValidationError({"type": "Only webexCalling or none are offered by this server."})
        return attrs


class WorkspaceIn(serializers.Serializer):
    displayName = serializers.CharField(max_length=128)
    locationId = serializers.CharField(required=False, allow_null=True, allow_blank=True)
    capacity = serializers.IntegerField(min_value=0, max_value=10000, required=False, allow_null=True)
    type = serializers.ChoiceField(choices=WorkspaceType.values, required=False)
    calling = CallingIn(required=False)
    supportedDevices = serializers.ChoiceField(choices=["collaborationDevices", "phones"], required=False)
    orgId = serializers.CharField(required=False)
    # Other Webex fields (floorId, calendar, notes, hotdeskingStatus, …) are accepted and not kept.


class WorkspaceOut(serializers.Serializer):
    id = serializers.CharField()
    orgId = serializers.CharField()
    locationId = serializers.CharField()
    displayName = serializers.CharField()
    capacity = serializers.IntegerField(required=False)
    type = one_of(WorkspaceType.values)
    created = serializers.DateTimeField()
    calling = CallingIn()
    supportedDevices = serializers.CharField()


class WorkspaceListOut(serializers.Serializer):
    items = WorkspaceOut(many=True)




class WorkspaceWriteMixin:
    def apply_calling(self, request, org, workspace: Workspace, calling: dict | None) -> None:
        if calling is None:
            return
        if calling["type"] == "none":
            remove_calling(self.actor(request), workspace)
            workspace.refresh_from_db()
            return
        webex = calling.get("webexCalling") or {}
        if webex.get("licenses"):
            for licence in resolve_licences(org, webex["licenses"], "calling.webexCalling.licenses"):
                if licence.kind != LicenseKind.CALLING_WORKSPACES:
                    raise ValidationError({"calling.webexCalling.licenses": f"{licence.name} is not a workspace "
                                                                            "calling licence."})
        location = None
        if webex.get("locationId"):
            location = self.location_ref(request, org, webex["locationId"], "calling.webexCalling.locationId")
        assign_calling(self.actor(request), workspace, location=location,
                       extension=webex.get("extension") or None, phone_number=webex.get("phoneNumber") or None)

    def respond(self, request, workspace: Workspace, org: Organization) -> Response:
        workspace = workspace_queryset(Workspace.objects.filter(pk=workspace.pk)).get()
        return Response(workspace_body(workspace, workspaces_licence(org)))


class WorkspaceListView(WorkspaceWriteMixin, WebexAPIView):
    @extend_schema(operation_id="workspaces_list", responses=WorkspaceListOut, summary="List workspaces", parameters=[
        ORG_ID, OpenApiParameter("locationId", str), OpenApiParameter("displayName", str),
        OpenApiParameter("capacity", int), OpenApiParameter("type", str), OpenApiParameter("calling", str),
        OpenApiParameter("max", int), OpenApiParameter("start", int)])
    def get(self, request):
        org = self.organization(request)
        workspaces = self.visible(Workspace, request, org).order_by("display_name", "id")
        params = request.query_params
        if raw := params.get("locationId"):
            workspaces = workspaces.filter(location=self.location_ref(request, org, raw))
        if name := params.get("displayName"):
            workspaces = workspaces.filter(display_name__icontains=name)
        if (capacity := query_int(request, "capacity", low=-1)) is not None:
            workspaces = workspaces.filter(capacity__isnull=True) if capacity == -1 else \
                workspaces.filter(capacity=capacity)
        if kind := query_choice(request, "type", WorkspaceType.values + ["focus"]):
            workspaces = workspaces.filter(type=kind)
        if calling := query_choice(request, "calling", CALLING_TYPES + ["hybridCalling"]):
            workspaces = workspaces.filter(line__isnull=calling != "webexCalling") \
                if calling in ("webexCalling", "none") else workspaces.none()
        licence = workspaces_licence(org)
        return paginated(request, workspace_queryset(workspaces),
                         lambda rows: [workspace_body(w, licence) for w in rows])

    @extend_schema(operation_id="workspaces_create", request=WorkspaceIn, responses=WorkspaceOut,
                   parameters=[ORG_ID], summary="Create a workspace")
    def post(self, request):
        data = validated(WorkspaceIn, request.data)
        org = self.organization(request, body_org=data.get("orgId"))
        calling = data.get("calling")
        raw_location = data.get("locationId") or ((calling or {}).get("webexCalling") or {}).get("locationId")
        if not raw_location:
            raise ValidationError({"locationId": "Choose the workspace's location."})
        with webex_field_names(**WORKSPACE_ERRORS), transaction.atomic():
            location = self.location_ref(request, org, raw_location)
            workspace = create_workspace(self.actor(request), org, display_name=data["displayName"],
                                         location=location, capacity=data.get("capacity"),
                                         type=data.get("type", WorkspaceType.NOT_SET))
            if calling is not None and calling["type"] == "webexCalling":
                self.apply_calling(request, org, workspace, calling)
        return self.respond(request, workspace, org)


class WorkspaceDetailView(WorkspaceWriteMixin, WebexAPIView):
    def get_workspace(self, request, workspace_id: str) -> Workspace:
        org = self.organization(request)
        pk = parse_id(workspace_id, "WORKSPACE", "workspaceId")
        return get_or_404(workspace_queryset(self.visible(Workspace, request, org)), pk, "Workspace")

    @extend_schema(operation_id="workspaces_details", responses=WorkspaceOut, parameters=[ORG_ID],
                   summary="Get workspace details")
    def get(self, request, workspace_id: str):
        workspace = self.get_workspace(request, workspace_id)
        return Response(workspace_body(workspace, workspaces_licence(workspace.organization_id)))

    @extend_schema(operation_id="workspaces_update", request=WorkspaceIn, responses=WorkspaceOut,
                   parameters=[ORG_ID], summary="Update a workspace (capacity and type are cleared when left out)")
    def put(self, request, workspace_id: str):
        workspace = self.get_workspace(request, workspace_id)
        data = validated(WorkspaceIn, request.data)
        org = self.organization(request)
        fields = {"display_name": data["displayName"], "capacity": data.get("capacity"),
                  "type": data.get("type", WorkspaceType.NOT_SET)}
        with webex_field_names(**WORKSPACE_ERRORS), transaction.atomic():
            if data.get("locationId"):
                fields["location"] = self.location_ref(request, org, data["locationId"])
            update_workspace(self.actor(request), workspace, **fields)
            self.apply_calling(request, org, workspace, data.get("calling"))
        return self.respond(request, workspace, org)

    @extend_schema(operation_id="workspaces_delete", responses={204: None}, parameters=[ORG_ID],
                   summary="Delete a workspace")
    def delete(self, request, workspace_id: str):
        workspace = self.get_workspace(request, workspace_id)
        delete_workspace(self.actor(request), workspace)
        return Response(status=status.HTTP_204_NO_CONTENT)
