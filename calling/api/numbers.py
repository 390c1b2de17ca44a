"""`/v1/telephony/config/numbers` and a location's number inventory: list, add, activate, remove, validate."""
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Count, Q
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from controlhub.api.common import (
    ORG_ID,
    ChainedRows,
    WebexAPIView,
    get_or_404,
    location_webex_id,
    one_of,
    parse_id,
    person_webex_id,
    query_bool,
    query_choice,
    validated,
    webex_field_names,
    workspace_webex_id,
)
from controlhub.api.errors import tracking_id
from controlhub.api.ids import webex_kind_and_tail
from controlhub.api.pagination import paginated
from controlhub.models import Location, Organization

from ..actions import NumberErrors, add_numbers, normalise_numbers, remove_numbers, set_numbers_state
from ..models import Line, Number, NumberState
from ..validators import is_toll_free, normalize_number, validate_extension

OWNER_TYPES = ["PEOPLE", "PLACE", "VIRTUAL_LINE", "AUTO_ATTENDANT", "CALL_QUEUE", "PAGING_GROUP", "HUNT_GROUP",
               "VOICE_MESSAGING", "OFFICE_ANYWHERE", "BROADWORKS_ANYWHERE", "CONTACT_CENTER_LINK",
               "CONTACT_CENTER_ADAPTER", "ROUTE_LIST", "VOICEMAIL_GROUP", "COLLABORATE_BRIDGE", "AI_RECEPTIONIST"]


# --------------------------------------------------------------------------------------------- bodies


def owner_body(line: Line | None) -> dict | None:
    if line is None:
        return None
    if line.person_id:
        person = line.person
        return {"id": person_webex_id(person), "type": "PEOPLE", "firstName": person.first_name or None,
                "lastName": person.last_name or None, "displayName": person.display_name}
    return {"id": workspace_webex_id(line.workspace_id), "type": "PLACE", "displayName": line.workspace.display_name}


def extension_fields(line: Line | None) -> dict:
    if line is None or not line.extension:
        return {}
    return {"extension": line.extension, "routingPrefix": line.location.routing_prefix, "esn": line.esn}


def number_item(number: Number) -> dict:
    line = getattr(number, "line", None)
    return {
        "phoneNumber": number.e164,
        **extension_fields(line),
        "state": number.state,
        "phoneNumberType": "PRIMARY",
        "mainNumber": number.is_main,
        "tollFreeNumber": number.is_toll_free,
        "includedTelephonyTypes": "PSTN_NUMBER",
        "isServiceNumber": False,
        "location": {"id": location_webex_id(number.location_id), "name": number.location.name},
        "owner": owner_body(line),
    }


def extension_item(line: Line) -> dict:
    """An extension-only line is listed as Webex does: an entry without a phone number."""
    return {
        **extension_fields(line),
        "phoneNumberType": "PRIMARY",
        "mainNumber": False,
        "tollFreeNumber": False,
        "location": {"id": location_webex_id(line.location_id), "name": line.location.name},
        "owner": owner_body(line),
    }


def list_item(row) -> dict:
    return number_item(row) if isinstance(row, Number) else extension_item(row)


# --------------------------------------------------------------------------------------------- schema


class NumberLocation(serializers.Serializer):
    id = serializers.CharField()
    name = serializers.CharField()


class OwnerOut(serializers.Serializer):
    id = serializers.CharField()
    type = one_of(["PEOPLE", "PLACE"])
    firstName = serializers.CharField(required=False)
    lastName = serializers.CharField(required=False)
    displayName = serializers.CharField()


class NumberOut(serializers.Serializer):
    phoneNumber = serializers.CharField(required=False)
    extension = serializers.CharField(required=False)
    routingPrefix = serializers.CharField(required=False)
    esn = serializers.CharField(required=False)
    state = one_of(NumberState.values, required=False)
    phoneNumberType = one_of(["PRIMARY"])
    mainNumber = serializers.BooleanField()
    tollFreeNumber = serializers.BooleanField()
    includedTelephonyTypes = serializers.CharField(required=False)
    isServiceNumber = serializers.BooleanField(required=False)
    location = NumberLocation()
    owner = OwnerOut(required=False)


class NumberCountOut(serializers.Serializer):
    assigned = serializers.IntegerField()
    unAssigned = serializers.IntegerField()
    inActive = serializers.IntegerField()
    extensionOnly = serializers.IntegerField()
    tollFreeNumbers = serializers.IntegerField()
    total = serializers.IntegerField()
    mobileNumber = serializers.IntegerField()
    serviceNumber = serializers.IntegerField()
    available = serializers.IntegerField()
    elin = serializers.IntegerField()
    reservedNumber = serializers.IntegerField()


class NumberListOut(serializers.Serializer):
    phoneNumbers = NumberOut(many=True)
    count = NumberCountOut(required=False)


class AddNumbersIn(serializers.Serializer):
    phoneNumbers = serializers.ListField(child=serializers.CharField(max_length=40), min_length=1, max_length=1000)
    numberType = serializers.ChoiceField(choices=["DID", "TOLLFREE", "MOBILE"], required=False)
    numberUsageType = serializers.ChoiceField(choices=["NONE", "SERVICE"], required=False)
    state = serializers.ChoiceField(choices=NumberState.values, required=False)

    def validate_numberType(self, value):
        if value == "MOBILE":
            raise serializers.ValidationError("Mobile numbers are not offered by this server.")
        return value


class NumberStateIn(serializers.Serializer):
    phoneNumbers = serializers.ListField(child=serializers.CharField(max_length=40), min_length=1, max_length=1000)
    action = serializers.ChoiceField(choices=["ACTIVATE", "DEACTIVATE"], required=False, default="ACTIVATE")


class RemoveNumbersIn(serializers.Serializer):
    phoneNumbers = serializers.ListField(child=serializers.CharField(max_length=40), min_length=1, max_length=1000)


class ValidateNumbersIn(serializers.Serializer):
    phoneNumbers = serializers.ListField(child=serializers.CharField(max_length=40), min_length=1, max_length=1000)


class ValidateExtensionsIn(serializers.Serializer):
    extensions = serializers.ListField(child=serializers.CharField(max_length=40), min_length=1, max_length=1000)


class NumberStatusOut(serializers.Serializer):
    phoneNumber = serializers.CharField()
    state = one_of(["Available", "Duplicate", "Duplicate In List", "Invalid",
                                             "Unavailable"])
    tollFreeNumber = serializers.BooleanField()
    detail = serializers.ListField(child=serializers.CharField())


class ValidateNumbersOut(serializers.Serializer):
    status = one_of(["OK", "ERRORS"])
    phoneNumbers = NumberStatusOut(many=True)


class ExtensionStatusOut(serializers.Serializer):
    extension = serializers.CharField()
    state = one_of(["VALID", "DUPLICATE", "DUPLICATE_IN_LIST", "INVALID"])
    errorCode = serializers.IntegerField(required=False)
    message = serializers.CharField(required=False)


class ValidateExtensionsOut(serializers.Serializer):
    status = one_of(["OK", "ERRORS"])
    extensionStatus = ExtensionStatusOut(many=True)


# --------------------------------------------------------------------------------------------- list


LIST_PARAMETERS = [ORG_ID] + [OpenApiParameter(name, kind) for name, kind in (
    ("locationId", str), ("phoneNumber", str), ("available", bool), ("assigned", bool), ("order", str),
    ("ownerName", str), ("ownerId", str), ("ownerType", str), ("extension", str), ("numberType", str),
    ("phoneNumberType", str), ("state", str), ("details", bool), ("tollFreeNumbers", bool),
    ("includedTelephonyTypes", str), ("serviceNumber", bool), ("reservedNumber", bool), ("elinEnabled", bool),
    ("max", int), ("start", int))]


class NumberListView(WebexAPIView):
    @extend_schema(operation_id="telephony_numbers_list", responses=NumberListOut, parameters=LIST_PARAMETERS,
                   summary="List phone numbers and extensions")
    def get(self, request):
        org = self.organization(request)
        numbers, lines = self.filtered(request, org)
        numbers = numbers.select_related("location", "line__person", "line__workspace", "line__location") \
            .order_by("e164")
        lines = lines.select_related("location", "person", "workspace").order_by("extension", "id")
        response = paginated(request, ChainedRows(numbers, lines), lambda rows: [list_item(r) for r in rows],
                             key="phoneNumbers")
        if query_bool(request, "details"):
            response.data["count"] = self.counts(numbers, lines)
        return response

    def filtered(self, request, org: Organization):
        """(numbers, extension-only lines) matching the Webex filters; a filter that only makes sense for phone
        numbers leaves the extension-only lines out, as Webex does."""
        params = request.query_params
        numbers = self.visible(Number, request, org)
        lines = self.visible(Line, request, org).filter(number__isnull=True)
        with_numbers, with_lines = True, True
        if raw := params.get("locationId"):
            location = self.location_ref(request, org, raw)
            numbers, lines = numbers.filter(location=location), lines.filter(location=location)
        if raw := params.get("phoneNumber"):
            numbers, with_lines = numbers.filter(e164__contains=raw.strip().replace(" ", "")), False
        if (available := query_bool(request, "available")) is not None:
            free = Q(line__isnull=True, is_main=False)
            numbers, with_lines = numbers.filter(free if available else ~free), False
        if (assigned := query_bool(request, "assigned")) is not None:
            numbers, with_lines = numbers.filter(line__isnull=not assigned), False
        if state := query_choice(request, "state", NumberState.values):
            numbers, with_lines = numbers.filter(state=state), False
        if (toll_free := query_bool(request, "tollFreeNumbers")) is not None:
            numbers, with_lines = numbers.filter(is_toll_free=toll_free), False
        if raw := params.get("ownerId"):
            numbers, lines = self.owner_filter(numbers, lines, raw)
        if owner_type := query_choice(request, "ownerType", OWNER_TYPES):
            if owner_type in ("PEOPLE", "PLACE"):
                field = "person" if owner_type == "PEOPLE" else "workspace"
                numbers = numbers.filter(**{f"line__{field}__isnull": False})
                lines = lines.filter(**{f"{field}__isnull": False})
            else:
                with_numbers = with_lines = False
        if name := params.get("ownerName"):
            numbers = numbers.filter(Q(line__person__display_name__icontains=name)
                                     | Q(line__workspace__display_name__icontains=name))
            lines = lines.filter(Q(person__display_name__icontains=name) | Q(workspace__display_name__icontains=name))
        if extension := params.get("extension"):
            numbers, lines = numbers.filter(line__extension=extension), lines.filter(extension=extension)
        number_type = query_choice(request, "numberType", ["NUMBER", "EXTENSION"])
        if number_type == "NUMBER":
            with_lines = False
        elif number_type == "EXTENSION":
            with_numbers = False
        if query_choice(request, "phoneNumberType", ["PRIMARY", "ALTERNATE", "FAX", "DNIS"]) not in (None, "PRIMARY"):
            with_numbers = with_lines = False
        if query_choice(request, "includedTelephonyTypes", ["PSTN_NUMBER", "MOBILE_NUMBER"]) == "MOBILE_NUMBER":
            with_numbers = with_lines = False
        for flag in ("serviceNumber", "reservedNumber", "elinEnabled"):
            if query_bool(request, flag):
                with_numbers = with_lines = False  # none of these kinds of numbers exist here
        return (numbers if with_numbers else numbers.none()), (lines if with_lines else lines.none())

    @staticmethod
    def owner_filter(numbers, lines, raw: str):
        decoded = webex_kind_and_tail(raw.strip())
        kind = "PEOPLE" if decoded is not None and decoded[0] == "PEOPLE" else "WORKSPACE"
        pk = parse_id(raw, kind, "ownerId")
        field = "person_id" if kind == "PEOPLE" else "workspace_id"
        return numbers.filter(**{f"line__{field}": pk}), lines.filter(**{field: pk})

    @staticmethod
    def counts(numbers, lines) -> dict:
        totals = numbers.order_by().aggregate(
            total=Count("pk"),
            assigned=Count("pk", filter=Q(line__isnull=False)),
            inactive=Count("pk", filter=Q(state=NumberState.INACTIVE)),
            toll_free=Count("pk", filter=Q(is_toll_free=True)),
            available=Count("pk", filter=Q(line__isnull=True, is_main=False)),
        )
        extension_only = lines.count()
        return {
            "assigned": totals["assigned"],
            "unAssigned": totals["total"] - totals["assigned"],
            "inActive": totals["inactive"],
            "extensionOnly": extension_only,
            "tollFreeNumbers": totals["toll_free"],
            "total": totals["total"] + extension_only,
            "mobileNumber": 0,
            "serviceNumber": 0,
            "available": totals["available"],
            "elin": 0,
            "reservedNumber": 0,
        }


# --------------------------------------------------------------------------------------------- inventory


def add_error_body(problems: dict[str, str]) -> list:
    """The list body wxc-sdk reads from a 400 of `POST L/numbers` (reference/webex-api.md §4)."""
    return [{"errors": [{"number": number, "errorType": "ERROR", "errorCode": "4001", "errorMessage": reason,
                         "errorTitle": "Number not added"} for number, reason in problems.items()]}]


class LocationNumbersView(WebexAPIView):
    def get_location(self, request, location_id: str) -> Location:
        org = self.organization(request)
        return get_or_404(self.visible(Location, request, org), parse_id(location_id, "LOCATION", "locationId"),
                          "Location")

    @extend_schema(operation_id="telephony_location_numbers_add", request=AddNumbersIn, responses={201: None},
                   parameters=[ORG_ID], summary="Add numbers to a location")
    def post(self, request, location_id: str):
        location = self.get_location(request, location_id)
        data = validated(AddNumbersIn, request.data)
        actor = self.actor(request)
        actor.require(Number, "create")  # also when every number is already there and nothing is added
        actor.require(Location, "change", location)
        try:
            e164s = normalise_numbers(data["phoneNumbers"], location.country)
            # Webex ignores numbers the location already has, so adding is safe to repeat.
            present = set(Number.objects.filter(location=location, e164__in=e164s).values_list("e164", flat=True))
            new = [n for n in e164s if n not in present]
            if new:
                add_numbers(actor, location, new, data.get("state", NumberState.ACTIVE))
        except NumberErrors as exc:
            response = Response(add_error_body(exc.problems), status=status.HTTP_400_BAD_REQUEST)
            response["TrackingID"] = tracking_id(request)
            return response
        return Response(status=status.HTTP_201_CREATED)

    @extend_schema(operation_id="telephony_location_numbers_state", request=NumberStateIn, responses={204: None},
                   parameters=[ORG_ID], summary="Activate or deactivate numbers of a location")
    def put(self, request, location_id: str):
        location = self.get_location(request, location_id)
        data = validated(NumberStateIn, request.data)
        state = NumberState.ACTIVE if data["action"] == "ACTIVATE" else NumberState.INACTIVE
        with webex_field_names():
            set_numbers_state(self.actor(request), location, data["phoneNumbers"], state)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(operation_id="telephony_location_numbers_remove", request=RemoveNumbersIn, responses={204: None},
                   parameters=[ORG_ID], summary="Remove numbers from a location (JSON body)")
    def delete(self, request, location_id: str):
        location = self.get_location(request, location_id)
        data = validated(RemoveNumbersIn, request.data)
        with webex_field_names():
            remove_numbers(self.actor(request), location, data["phoneNumbers"])
        return Response(status=status.HTTP_204_NO_CONTENT)


# --------------------------------------------------------------------------------------------- validation


class ValidateNumbersView(WebexAPIView):
    @extend_schema(operation_id="telephony_validate_numbers", request=ValidateNumbersIn,
                   responses=ValidateNumbersOut, parameters=[ORG_ID], summary="Validate phone numbers")
    def post(self, request):
        data = validated(ValidateNumbersIn, request.data)
        org = self.organization(request)
        parsed: list[tuple[str, str | None, str]] = []
        for raw in data["phoneNumbers"]:
            try:
                parsed.append((raw, normalize_number(raw, org.country), ""))
            except DjangoValidationError as exc:
                parsed.append((raw, None, exc.messages[0]))
        owners = dict(Number.objects.filter(e164__in=[p[1] for p in parsed if p[1]])
                      .values_list("e164", "organization_id"))
        seen: set[str] = set()
        result = []
        for raw, e164, problem in parsed:
            if e164 is None:
                state, detail = "Invalid", [problem]
            elif e164 in seen:
                state, detail = "Duplicate In List", ["listed more than once"]
            elif e164 in owners:
                state = "Duplicate" if owners[e164] == org.pk else "Unavailable"
                detail = ["already in this organization" if state == "Duplicate" else "in use elsewhere"]
            else:
                state, detail = "Available", []
            if e164:
                seen.add(e164)
            result.append({"phoneNumber": e164 or raw, "state": state,
                           "tollFreeNumber": bool(e164) and is_toll_free(e164), "detail": detail})
        ok = all(r["state"] == "Available" for r in result)
        return Response({"status": "OK" if ok else "ERRORS", "phoneNumbers": result})


def extension_statuses(org: Organization, extensions: list[str]) -> dict:
    checked: list[tuple[str, str | None, str]] = []
    for raw in extensions:
        try:
            checked.append((raw, validate_extension(raw), ""))
        except DjangoValidationError as exc:
            checked.append((raw, None, exc.messages[0]))
    used = set(Line.objects.filter(organization=org, extension__in=[c[1] for c in checked if c[1]])
               .values_list("extension", flat=True))
    seen: set[str] = set()
    result = []
    for raw, extension, problem in checked:
        if extension is None:
            item = {"extension": raw, "state": "INVALID", "errorCode": 9495, "message": problem}
        elif extension in seen:
            item = {"extension": extension, "state": "DUPLICATE_IN_LIST", "errorCode": 9496,
                    "message": "listed more than once"}
        elif extension in used:
            item = {"extension": extension, "state": "DUPLICATE", "errorCode": 9497,
                    "message": "already used in this organization"}
        else:
            item = {"extension": extension, "state": "VALID"}
        if extension:
            seen.add(extension)
        result.append(item)
    ok = all(item["state"] == "VALID" for item in result)
    return {"status": "OK" if ok else "ERRORS", "extensionStatus": result}


class ValidateExtensionsView(WebexAPIView):
    @extend_schema(operation_id="telephony_validate_extensions", request=ValidateExtensionsIn,
                   responses=ValidateExtensionsOut, parameters=[ORG_ID], summary="Validate extensions")
    def post(self, request):
        data = validated(ValidateExtensionsIn, request.data)
        return Response(extension_statuses(self.organization(request), data["extensions"]))


class LocationValidateExtensionsView(WebexAPIView):
    @extend_schema(operation_id="telephony_location_validate_extensions", request=ValidateExtensionsIn,
                   responses=ValidateExtensionsOut, parameters=[ORG_ID], summary="Validate extensions for a location")
    def post(self, request, location_id: str):
        org = self.organization(request)
        get_or_404(self.visible(Location, request, org), parse_id(location_id, "LOCATION", "locationId"), "Location")
        data = validated(ValidateExtensionsIn, request.data)
        # Extensions are unique across the organisation, so a location's check is the organisation's.
        return Response(extension_statuses(org, data["extensions"]))
