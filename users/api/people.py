"""`/v1/people`: users of an organisation, with their Webex Calling data on request (`callingData=true`).

Calling is the calling app's business (its actions give people lines); the API layer composes both so a Webex
script can create or edit a calling user in one call, all or nothing.
"""
import uuid

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from calling.actions import assign_calling, change_calling_person_licenses, create_calling_person
from calling.models import Number
from calling.validators import normalize_number
from controlhub.api.common import (
    ORG_ID,
    WebexAPIView,
    blank_to_none,
    get_or_404,
    iso,
    licence_webex_id,
    location_webex_id,
    one_of,
    org_webex_id,
    parse_id,
    parse_id_list,
    person_webex_id,
    query_bool,
    validated,
    webex_field_names,
)
from controlhub.api.ids import webex_id, webex_kind_and_tail
from controlhub.api.pagination import paginated
from controlhub.models import Account, Organization
from controlhub.tenancy import home_organization

from ..actions import delete_person, update_person
from ..filters import PersonFilterSet
from ..models import Person, PersonStatus
from .common import WEBEX_ROLES, resolve_licences

# Webex `status` values (wxc_sdk.people.PeopleStatus) for ours.
WEBEX_STATUS = {PersonStatus.ACTIVE: "active", PersonStatus.INVITE_PENDING: "pending",
                PersonStatus.INACTIVE: "inactive"}
ME_NAMESPACE = uuid.UUID("4b0f6b0e-3c1f-5a7e-9d1c-6f0a2c1e9b11")  # fixed: `me` IDs stay stable across restarts
PERSON_ERRORS = {"email": "emails", "location": "locationId", "phoneNumber": "phoneNumbers"}


def person_queryset(queryset):
    """Everything a person body needs, in a constant number of queries for a whole page."""
    return queryset.select_related("line__number", "line__location", "manager", "account").prefetch_related(
        "organization__licenses", "account__admin_roles")


def webex_roles(account: Account | None) -> list[str]:
    if account is None:
        return []
    tails = []
    for grant in account.admin_roles.all():
        tails += [t for t in WEBEX_ROLES.get(grant.role, ()) if t not in tails]
    return [webex_id("ROLE", t) for t in tails]


def person_body(person: Person, calling_data: bool = False) -> dict:
    body = {
        "id": person_webex_id(person),
        "emails": [person.email],
        "displayName": person.display_name,
        "firstName": blank_to_none(person.first_name),
        "lastName": blank_to_none(person.last_name),
        "orgId": org_webex_id(person.organization_id),
        "roles": webex_roles(person.account),
        "licenses": [licence_webex_id(lic) for lic in person.licenses],
        "department": blank_to_none(person.department),
        "title": blank_to_none(person.title),
        "manager": person.manager.display_name if person.manager else None,
        "managerId": person_webex_id(person.manager_id) if person.manager_id else None,
        "created": iso(person.created),
        "lastModified": iso(person.updated),
        "status": WEBEX_STATUS.get(person.status, "unknown"),
        "invitePending": person.status == PersonStatus.INVITE_PENDING,
        "loginEnabled": person.status != PersonStatus.INACTIVE,
        "type": "person",
    }
    if calling_data:
        line = getattr(person, "line", None)
        numbers = []
        if line is not None:
            if line.number is not None:
                numbers.append({"type": "work", "value": line.number.e164, "primary": True})
            if line.extension:
                # Webex shows the routing prefix + extension here; the bare extension is in `extension`.
                numbers.append({"type": "work_extension", "value": line.esn or line.extension})
        location = line.location_id if line is not None else person.location_id
        body.update(phoneNumbers=numbers or None, extension=line.extension if line is not None else None,
                    locationId=location_webex_id(location) if location else None)
    return body


def me_uuid(account: Account) -> uuid.UUID:
    return uuid.uuid5(ME_NAMESPACE, f"account:{account.pk}")


def admin_me_body(account: Account) -> dict:
    """An administrator without a person of their own (e.g. a partner admin) still has a profile, as in Webex."""
    org = home_organization(account)
    return {
        "id": person_webex_id(me_uuid(account)),
        "emails": [account.email],
        "displayName": account.name or account.email,
        "orgId": org_webex_id(org) if org is not None else None,
        "roles": webex_roles(account),
        "licenses": [],
        "created": iso(account.date_joined),
        "status": "active",
        "invitePending": False,
        "loginEnabled": True,
        "type": "person",
    }


# --------------------------------------------------------------------------------------------- input


class PhoneNumberIn(serializers.Serializer):
    type = serializers.ChoiceField(choices=["work", "work_extension", "mobile", "fax", "enterprise", "alternate1",
                                            "alternate2"])
    value = serializers.CharField(max_length=40)
    primary = serializers.BooleanField(required=False)


class PersonIn(serializers.Serializer):
    emails = serializers.ListField(child=serializers.EmailField(max_length=254), min_length=1, max_length=1)
    phoneNumbers = PhoneNumberIn(many=True, required=False)
    extension = serializers.CharField(max_length=10, required=False, allow_blank=True, allow_null=True)
    locationId = serializers.CharField(required=False, allow_blank=True, allow_null=True)
    displayName = serializers.CharField(max_length=128, required=False, allow_blank=True)
    firstName = serializers.CharField(max_length=64, required=False, allow_blank=True)
    lastName = serializers.CharField(max_length=64, required=False, allow_blank=True)
    title = serializers.CharField(max_length=128, required=False, allow_blank=True)
    department = serializers.CharField(max_length=128, required=False, allow_blank=True)
    licenses = serializers.ListField(child=serializers.CharField(), required=False)
    # Other Webex fields (nickName, addresses, roles, siteUrls, …) are accepted and not kept by this server.


def work_number(data: dict) -> str | None:
    return next((n["value"] for n in data.get("phoneNumbers") or () if n["type"] == "work"), None)


def person_fields(data: dict) -> dict:
    return {"email": data["emails"][0], "first_name": data.get("firstName", ""),
            "last_name": data.get("lastName", ""), "display_name": data.get("displayName", ""),
            "title": data.get("title", ""), "department": data.get("department", "")}


CALLING_DATA = OpenApiParameter("callingData", bool, description="Include Webex Calling data (extension, "
                                "locationId, phoneNumbers).")


class PersonOut(serializers.Serializer):
    id = serializers.CharField()
    emails = serializers.ListField(child=serializers.EmailField())
    phoneNumbers = PhoneNumberIn(many=True, required=False)
    extension = serializers.CharField(required=False)
    locationId = serializers.CharField(required=False)
    displayName = serializers.CharField()
    firstName = serializers.CharField(required=False)
    lastName = serializers.CharField(required=False)
    orgId = serializers.CharField()
    roles = serializers.ListField(child=serializers.CharField())
    licenses = serializers.ListField(child=serializers.CharField())
    department = serializers.CharField(required=False)
    title = serializers.CharField(required=False)
    manager = serializers.CharField(required=False)
    managerId = serializers.CharField(required=False)
    created = serializers.DateTimeField()
    lastModified = serializers.DateTimeField(required=False)
    status = one_of(["active", "pending", "inactive"])
    invitePending = serializers.BooleanField()
    loginEnabled = serializers.BooleanField()
    type = one_of(["person"])


class PersonListOut(serializers.Serializer):
    items = PersonOut(many=True)


# --------------------------------------------------------------------------------------------- views


class PeopleView(WebexAPIView):
    @extend_schema(operation_id="people_list", responses=PersonListOut, summary="List people", parameters=[
        ORG_ID, CALLING_DATA, OpenApiParameter("email", str), OpenApiParameter("displayName", str),
        OpenApiParameter("id", str, description="Comma-separated person IDs (at most 85)"),
        OpenApiParameter("locationId", str), OpenApiParameter("roles", str), OpenApiParameter("max", int),
        OpenApiParameter("start", int)])
    def get(self, request):
        org = self.organization(request)
        params = request.query_params
        calling_data = bool(query_bool(request, "callingData"))
        data = {"email": params.get("email"), "display_name": params.get("displayName")}
        if raw := params.get("locationId"):
            data["location"] = str(self.location_ref(request, org, raw).pk)
        people = self.visible(Person, request, org)
        filterset = PersonFilterSet({k: v for k, v in data.items() if v}, queryset=people, organization=org,
                                    account=request.user)
        if not filterset.is_valid():
            raise ValidationError({"displayName" if k == "display_name" else k: v
                                   for k, v in filterset.errors.items()})
        people = filterset.qs
        if (ids := parse_id_list(params.get("id"), "PEOPLE", "id")) is not None:
            people = people.filter(pk__in=ids)
        if raw_roles := params.get("roles"):
            people = people.filter(account__admin_roles__role__in=self.roles_filter(raw_roles)).distinct()
        return paginated(request, person_queryset(people),
                         lambda rows: [person_body(p, calling_data) for p in rows])

    @staticmethod
    def roles_filter(raw: str) -> list[str]:
        tails = set()
        for item in raw.split(","):
            decoded = webex_kind_and_tail(item.strip())
            if decoded is None or decoded[0] != "ROLE":
                raise ValidationError({"roles": f"“{item[:100]}” is not a role ID."})
            tails.add(decoded[1])
        return [role for role, names in WEBEX_ROLES.items() if tails & set(names)]

    @extend_schema(operation_id="people_create", request=PersonIn, responses=PersonOut, summary="Create a person",
                   parameters=[ORG_ID, CALLING_DATA, OpenApiParameter("minResponse", bool)])
    def post(self, request):
        data = validated(PersonIn, request.data)
        org = self.organization(request)
        phone = work_number(data)
        with webex_field_names(**PERSON_ERRORS), transaction.atomic():
            location = self.person_location(request, org, data, phone)
            licences = resolve_licences(org, data.get("licenses"))
            person = create_calling_person(self.actor(request), org, location=location,
                                           extension=data.get("extension") or None, phone_number=phone,
                                           licenses=licences, **person_fields(data))
        if query_bool(request, "minResponse"):
            return Response({"id": person_webex_id(person)})
        person = person_queryset(Person.objects.filter(pk=person.pk)).get()
        return Response(person_body(person, bool(query_bool(request, "callingData"))))

    def person_location(self, request, org: Organization, data: dict, phone: str | None):
        """The location sent, or — as Webex does — the location of the phone number sent."""
        if data.get("locationId"):
            return self.location_ref(request, org, data["locationId"])
        if phone:
            try:
                e164 = normalize_number(phone, org.country)
            except DjangoValidationError:
                return None  # the calling action reports the bad number under phoneNumbers
            number = Number.objects.filter(organization=org, e164=e164).select_related("location").first()
            if number is not None:
                return number.location
        return None


class MeView(WebexAPIView):
    @extend_schema(operation_id="people_me", responses=PersonOut, parameters=[CALLING_DATA],
                   summary="My own details")
    def get(self, request):
        person = person_queryset(Person.objects.filter(account=request.user)).first()
        if person is None:
            return Response(admin_me_body(request.user))
        return Response(person_body(person, bool(query_bool(request, "callingData"))))


class PersonDetailView(WebexAPIView):
    def get_person(self, request, person_id: str) -> Person:
        org = self.organization(request)
        pk = parse_id(person_id, "PEOPLE", "personId")
        return get_or_404(person_queryset(self.visible(Person, request, org)), pk, "Person")

    @extend_schema(operation_id="people_details", responses=PersonOut, parameters=[ORG_ID, CALLING_DATA],
                   summary="Get person details")
    def get(self, request, person_id: str):
        pk = parse_id(person_id, "PEOPLE", "personId")
        if pk == me_uuid(request.user) and not Person.objects.filter(account=request.user).exists():
            return Response(admin_me_body(request.user))
        person = self.get_person(request, person_id)
        return Response(person_body(person, bool(query_bool(request, "callingData"))))

    @extend_schema(operation_id="people_update", request=PersonIn, responses=PersonOut,
                   parameters=[ORG_ID, CALLING_DATA, OpenApiParameter("showAllTypes", bool),
                               OpenApiParameter("minResponse", bool)],
                   summary="Update a person (send the whole person)")
    def put(self, request, person_id: str):
        person = self.get_person(request, person_id)
        data = validated(PersonIn, request.data)
        actor = self.actor(request)
        with webex_field_names(**PERSON_ERRORS), transaction.atomic():
            org = person.organization
            fields = person_fields(data)
            location = None
            if data.get("locationId"):
                location = self.location_ref(request, org, data["locationId"])
                if getattr(person, "line", None) is None:
                    fields["location"] = location
            update_person(actor, person, **fields)
            if "licenses" in data:
                self.set_licences(actor, person, resolve_licences(org, data["licenses"]))
            phone = work_number(data)
            if "extension" in data or phone:
                extension = data.get("extension") or None
                if person.has_calling_licence:
                    assign_calling(actor, person, location=location, extension=extension, phone_number=phone)
                elif extension or phone:
                    raise ValidationError({"licenses": "A phone number or extension needs a Webex Calling licence."})
        if query_bool(request, "minResponse"):
            return Response({"id": person_webex_id(person)})
        person = person_queryset(Person.objects.filter(pk=person.pk)).get()
        return Response(person_body(person, bool(query_bool(request, "callingData"))))

    @staticmethod
    def set_licences(actor, person: Person, wanted: list) -> None:
        current = set(person.licenses)
        add, remove = [lic for lic in wanted if lic not in current], [lic for lic in current if lic not in wanted]
        if add or remove:
            change_calling_person_licenses(actor, person, add=add, remove=remove)

    @extend_schema(operation_id="people_delete", responses={204: None}, parameters=[ORG_ID],
                   summary="Delete a person")
    def delete(self, request, person_id: str):
        person = self.get_person(request, person_id)
        delete_person(self.actor(request), person)
        return Response(status=status.HTTP_204_NO_CONTENT)
