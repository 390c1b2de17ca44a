"""`/v1/organizations`: the organisations the caller can see (a partner admin: all its customers)."""
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from controlhub.models import Organization
from controlhub.roles import VIEW

from .common import WebexAPIView, get_or_404, iso, org_webex_id, parse_id


class OrganizationOut(serializers.Serializer):
    id = serializers.CharField()
    displayName = serializers.CharField()
    created = serializers.DateTimeField()


class OrganizationListOut(serializers.Serializer):
    items = OrganizationOut(many=True)


CALLING_DATA = OpenApiParameter("callingData", bool, description="Accepted for compatibility; this server has no "
                                "XSI endpoints to report.")


def organization_body(org: Organization) -> dict:
    # No XSI fields: this server offers no XSI service, and an endpoint we do not serve would mislead scripts.
    return {"id": org_webex_id(org), "displayName": org.display_name, "created": iso(org.created)}


class OrganizationListView(WebexAPIView):
    @extend_schema(operation_id="organizations_list", parameters=[CALLING_DATA], responses=OrganizationListOut,
                   summary="List organizations (unpaged)")
    def get(self, request):
        orgs = Organization.objects.restrict(request.user, VIEW).order_by("display_name", "id")
        return Response({"items": [organization_body(org) for org in orgs]})


class OrganizationDetailView(WebexAPIView):
    @extend_schema(operation_id="organizations_details", parameters=[CALLING_DATA], responses=OrganizationOut,
                   summary="Get organization details")
    def get(self, request, org_id: str):
        pk = parse_id(org_id, "ORGANIZATION", "orgId")
        org = get_or_404(Organization.objects.restrict(request.user, VIEW), pk, "Organization")
        return Response(organization_body(org))
