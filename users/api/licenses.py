"""`/v1/licenses`: the organisation's services with units used, and assigning them to people (`PATCH /users`)."""
from django.db import transaction
from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from calling.actions import assign_calling, change_calling_person_licenses
from controlhub.api.common import (
    ORG_ID,
    WebexAPIView,
    blank_to_none,
    get_or_404,
    licence_webex_id,
    org_webex_id,
    parse_id,
    person_webex_id,
    validated,
    webex_field_names,
)
from controlhub.api.ids import license_tail
from controlhub.api.pagination import paginated
from controlhub.roles import VIEW

from ..models import CALLING_PERSON_KINDS, License, Person
from .common import resolve_licences
from .people import PERSON_ERRORS, person_queryset


def licence_body(licence: License) -> dict:
    """The Webex body of a licence read `with_usage()`."""
    return {
        "id": licence_webex_id(licence),
        "name": licence.name,
        "totalUnits": licence.total_units,
        "consumedUnits": licence.consumed,
        "consumedByUsers": licence.users,
        "consumedByWorkspaces": licence.workspaces,
        "subscriptionId": blank_to_none(licence.subscription_id),
    }


class LicenseOut(serializers.Serializer):
    id = serializers.CharField()
    name = serializers.CharField()
    totalUnits = serializers.IntegerField()
    consumedUnits = serializers.IntegerField()
    consumedByUsers = serializers.IntegerField()
    consumedByWorkspaces = serializers.IntegerField()
    subscriptionId = serializers.CharField(required=False)


class LicenseListOut(serializers.Serializer):
    items = LicenseOut(many=True)


class LicencePropertiesIn(serializers.Serializer):
    locationId = serializers.CharField(required=False, allow_null=True, allow_blank=True)
    phoneNumber = serializers.CharField(max_length=40, required=False, allow_null=True, allow_blank=True)
    extension = serializers.CharField(max_length=10, required=False, allow_null=True, allow_blank=True)


class LicenceRequestIn(serializers.Serializer):
    id = serializers.CharField()
    operation = serializers.ChoiceField(choices=["add", "remove"], required=False, default="add")
    properties = LicencePropertiesIn(required=False)


class AssignLicencesIn(serializers.Serializer):
    email = serializers.EmailField(required=False)
    personId = serializers.CharField(required=False)
    orgId = serializers.CharField(required=False)
    licenses = LicenceRequestIn(many=True, required=False)
    siteUrls = serializers.ListField(child=serializers.DictField(), required=False)

    def validate(self, attrs):
        if not attrs.get("email") and not attrs.get("personId"):
            raise serializers.ValidationError({"personId": "Give the person's email or personId."})
        if attrs.get("siteUrls"):
            raise serializers.ValidationError({"siteUrls": "Meeting sites are not offered by this server."})
        return attrs


class UserLicencesOut(serializers.Serializer):
    orgId = serializers.CharField()
    personId = serializers.CharField()
    email = serializers.EmailField()
    licenses = serializers.ListField(child=serializers.CharField())
    siteUrls = serializers.ListField(child=serializers.DictField())




class LicenseListView(WebexAPIView):
    @extend_schema(operation_id="licenses_list", responses=LicenseListOut, parameters=[ORG_ID],
                   summary="List licenses (unpaged)")
    def get(self, request):
        org = self.organization(request)
        licences = self.visible(License, request, org).with_usage().order_by("kind")
        return Response({"items": [licence_body(lic) for lic in licences]})


class LicenseDetailView(WebexAPIView):
    @extend_schema(operation_id="licenses_details", responses=LicenseOut, summary="Get license details",
                   parameters=[OpenApiParameter("includeAssignedTo", str, enum=["user"],
                                                description="`user` adds the people using it (paged, key `users`)"),
                               OpenApiParameter("max", int), OpenApiParameter("start", int)])
    def get(self, request, license_id: str):
        parsed = license_tail(license_id)
        if parsed is None:
            raise ValidationError({"licenseId": f"“{license_id[:100]}” is not a valid licence ID."})
        org_uuid, kind, licence_uuid = parsed
        licences = License.objects.restrict(request.user, VIEW).with_usage()
        licence = licences.filter(organization_id=org_uuid, kind=kind, licence_uuid=licence_uuid).first()
        if licence is None:
            raise Http404("License not found")
        if request.query_params.get("includeAssignedTo") != "user":
            return Response(licence_body(licence))
        people = (Person.objects.restrict(request.user, VIEW).filter(organization_id=org_uuid).holding(licence.kind)
                  .order_by("display_name", "id"))
        response = paginated(request, people, lambda rows: [
            {"id": person_webex_id(p), "type": "INTERNAL", "displayName": p.display_name, "email": p.email}
            for p in rows], key="users")
        response.data = {**licence_body(licence), **response.data}
        return response


class AssignLicensesView(WebexAPIView):
    @extend_schema(operation_id="licenses_assign_to_users", request=AssignLicencesIn, responses=UserLicencesOut,
                   parameters=[ORG_ID], summary="Assign or remove licenses of a person")
    def patch(self, request):
        data = validated(AssignLicencesIn, request.data)
        org = self.organization(request, body_org=data.get("orgId"))
        people = person_queryset(self.visible(Person, request, org))
        if data.get("personId"):
            person = get_or_404(people, parse_id(data["personId"], "PEOPLE", "personId"), "Person")
        else:
            person = people.with_email(data["email"]).first()
            if person is None:
                raise Http404("Person not found")
        requests = data.get("licenses") or []
        licences = resolve_licences(org, [r["id"] for r in requests], unique=False)
        add = [lic for lic, r in zip(licences, requests, strict=True) if r["operation"] == "add"]
        remove = [lic for lic, r in zip(licences, requests, strict=True) if r["operation"] == "remove"]
        if set(add) & set(remove):
            raise ValidationError({"licenses": "A licence cannot be added and removed in one request."})
        actor = self.actor(request)
        with webex_field_names(**PERSON_ERRORS), transaction.atomic():
            if add or remove:
                change_calling_person_licenses(actor, person, add=add, remove=remove)
            for licence, req in zip(licences, requests, strict=True):
                props = req.get("properties") or {}
                if req["operation"] != "add" or licence.kind not in CALLING_PERSON_KINDS:
                    continue
                if props.get("phoneNumber") or props.get("extension") or props.get("locationId"):
                    location = (self.location_ref(request, org, props["locationId"], "properties.locationId")
                                if props.get("locationId") else None)
                    assign_calling(actor, person, location=location, extension=props.get("extension") or None,
                                   phone_number=props.get("phoneNumber") or None)
        return Response({
            "orgId": org_webex_id(org),
            "personId": person_webex_id(person),
            "email": person.email,
            "licenses": [licence_webex_id(lic) for lic in person.licenses],
            "siteUrls": [],
        })
