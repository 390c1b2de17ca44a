"""Dial plan under `/v1/telephony/config` (reference/webex-api.md §7.5, §7.6): outgoing permissions of a location
and of a person, translation patterns (organisation and location), premises dial plans with their dial patterns,
and the call-routing test."""
from __future__ import annotations

from django.db.models import Q
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
    person_webex_id,
    query_choice,
    validated,
    webex_field_names,
    workspace_webex_id,
)
from controlhub.api.ids import webex_id
from controlhub.api.pagination import paginated
from controlhub.models import Location
from users.models import Person, Workspace

from ..actions import (
    create_dial_plan,
    create_translation_pattern,
    delete_dial_plan,
    delete_translation_pattern,
    effective_permissions,
    outgoing_permission_of,
    set_outgoing_permissions,
    update_dial_plan,
    update_translation_pattern,
)
from ..call_routing import call_routing_report
from ..dialplan import dial_pattern_regex
from ..models import DialPattern, DialPlan, TranslationPattern
from .pstn import premise_route, route_group_webex_id, trunk_webex_id

# --------------------------------------------------------------------------------------------- permissions


def permissions_list(permissions: dict) -> list[dict]:
    return [{"callType": call_type, "action": p["action"], "transferEnabled": p.get("transferEnabled", True),
             "isCallTypeRestrictionEnabled": False} for call_type, p in permissions.items()]


class PermissionsIn(serializers.Serializer):
    # null = unchanged (wxc-sdk sends every field of its model)
    useCustomEnabled = serializers.BooleanField(required=False, allow_null=True)
    useCustomPermissions = serializers.BooleanField(required=False, allow_null=True)
    callingPermissions = serializers.JSONField(required=False, allow_null=True)


class LocationOutgoingPermissionView(WebexAPIView):
    def get_location(self, request, location_id: str, action: str = "view") -> Location:
        org = self.organization(request)
        return get_or_404(self.visible(Location, request, org, action),
                          parse_id(location_id, "LOCATION", "locationId"), "Location")

    @extend_schema(operation_id="location_outgoing_permission", parameters=[ORG_ID], responses={200: None},
                   summary="A location's outgoing calling permissions (class of service)")
    def get(self, request, location_id: str):
        location = self.get_location(request, location_id)
        permissions, _source = effective_permissions(location)
        return Response({"callingPermissions": permissions_list(permissions)})

    @extend_schema(operation_id="location_outgoing_permission_update", request=PermissionsIn, parameters=[ORG_ID],
                   responses={204: None}, summary="Change a location's outgoing calling permissions")
    def put(self, request, location_id: str):
        location = self.get_location(request, location_id)
        data = validated(PermissionsIn, request.data)
        if data.get("callingPermissions") is not None:
            with webex_field_names():
                set_outgoing_permissions(self.actor(request), location, permissions=data["callingPermissions"])
        return Response(status=status.HTTP_204_NO_CONTENT)


class PersonOutgoingPermissionView(WebexAPIView):
    def get_person(self, request, person_id: str) -> Person:
        org = self.organization(request)
        return get_or_404(self.visible(Person, request, org), parse_id(person_id, "PEOPLE", "personId"), "Person")

    @extend_schema(operation_id="person_outgoing_permission", parameters=[ORG_ID], responses={200: None},
                   summary="A person's outgoing calling permissions (their own, or their location's)")
    def get(self, request, person_id: str):
        person = self.get_person(request, person_id)
        permissions, source = effective_permissions(person)
        custom = source == "PEOPLE"
        return Response({"useCustomEnabled": custom, "useCustomPermissions": custom,
                         "callingPermissions": permissions_list(permissions)})

    @extend_schema(operation_id="person_outgoing_permission_update", request=PermissionsIn, parameters=[ORG_ID],
                   responses={204: None}, summary="Give a person their own outgoing calling permissions")
    def put(self, request, person_id: str):
        person = self.get_person(request, person_id)
        data = validated(PermissionsIn, request.data)
        use_custom = data.get("useCustomEnabled")
        if use_custom is None:
            use_custom = data.get("useCustomPermissions")
        if use_custom is None and data.get("callingPermissions") is not None and outgoing_permission_of(person) is None:
            use_custom = True   # sending permissions for someone without their own means "use these"
        with webex_field_names():
            set_outgoing_permissions(self.actor(request), person, permissions=data.get("callingPermissions"),
                                     use_custom=use_custom)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --------------------------------------------------------------------------------------------- translation patterns


def translation_pattern_webex_id(pattern_or_pk) -> str:
    return webex_id("TRANSLATION_PATTERN", getattr(pattern_or_pk, "pk", pattern_or_pk))


def translation_pattern_body(pattern: TranslationPattern) -> dict:
    body = {"id": translation_pattern_webex_id(pattern), "name": pattern.name,
            "matchingPattern": pattern.matching_pattern, "replacementPattern": pattern.replacement_pattern,
            "level": pattern.level}
    if pattern.location_id:
        body["location"] = {"id": location_webex_id(pattern.location), "name": pattern.location.name}
    return body


class TranslationPatternIn(serializers.Serializer):
    name = serializers.CharField(max_length=60)
    matchingPattern = serializers.CharField(max_length=32)
    replacementPattern = serializers.CharField(max_length=32)


class TranslationPatternUpdateIn(serializers.Serializer):
    # null = unchanged (wxc-sdk sends every field of its model)
    name = serializers.CharField(max_length=60, required=False, allow_null=True)
    matchingPattern = serializers.CharField(max_length=32, required=False, allow_null=True)
    replacementPattern = serializers.CharField(max_length=32, required=False, allow_null=True)


PATTERN_FIELDS = {"matching_pattern": "matchingPattern", "replacement_pattern": "replacementPattern"}


class TranslationPatternScope:
    """Organisation level (no location_id) or one location's patterns."""

    def scope(self, request, location_id: str | None):
        org = self.organization(request)
        location = None
        if location_id is not None:
            location = get_or_404(self.visible(Location, request, org), parse_id(location_id, "LOCATION",
                                                                                 "locationId"), "Location")
        patterns = self.visible(TranslationPattern, request, org).select_related("location")
        return org, location, patterns


class TranslationPatternListView(TranslationPatternScope, WebexAPIView):
    @extend_schema(operation_id="translation_patterns_list", responses={200: None}, parameters=[
        ORG_ID, OpenApiParameter("name", str), OpenApiParameter("matchingPattern", str),
        OpenApiParameter("limitToLocationId", str), OpenApiParameter("limitToOrgLevelEnabled", bool),
        OpenApiParameter("max", int), OpenApiParameter("start", int)], summary="List translation patterns")
    def get(self, request, location_id: str | None = None):
        org, location, patterns = self.scope(request, location_id)
        if location is not None:
            patterns = patterns.filter(location=location)
        else:
            if request.query_params.get("limitToOrgLevelEnabled") in ("true", "True", "1"):
                patterns = patterns.filter(location__isnull=True)
            if raw := request.query_params.get("limitToLocationId"):
                loc = parse_id(raw, "LOCATION", "limitToLocationId")
                patterns = patterns.filter(Q(location_id=loc) | Q(location__isnull=True))
        if name := request.query_params.get("name"):
            patterns = patterns.filter(name__icontains=name)
        if matching := request.query_params.get("matchingPattern"):
            patterns = patterns.filter(matching_pattern__icontains=matching)
        return paginated(request, patterns.order_by("name", "id"),
                         lambda rows: [translation_pattern_body(p) for p in rows], key="translationPatterns")

    @extend_schema(operation_id="translation_patterns_create", request=TranslationPatternIn, responses=IdResponse,
                   parameters=[ORG_ID], summary="Create a translation pattern")
    def post(self, request, location_id: str | None = None):
        org, location, _patterns = self.scope(request, location_id)
        data = validated(TranslationPatternIn, request.data)
        with webex_field_names(**PATTERN_FIELDS):
            pattern = create_translation_pattern(self.actor(request), org, name=data["name"],
                                                 matching_pattern=data["matchingPattern"],
                                                 replacement_pattern=data["replacementPattern"], location=location)
        return Response({"id": translation_pattern_webex_id(pattern)})


class TranslationPatternDetailView(TranslationPatternScope, WebexAPIView):
    def get_pattern(self, request, pattern_id: str, location_id: str | None) -> TranslationPattern:
        _org, location, patterns = self.scope(request, location_id)
        patterns = patterns.filter(location=location) if location is not None else patterns.filter(
            location__isnull=True)
        return get_or_404(patterns, parse_id(pattern_id, "TRANSLATION_PATTERN", "translationId"),
                          "Translation pattern")

    @extend_schema(operation_id="translation_patterns_details", parameters=[ORG_ID], responses={200: None},
                   summary="Get a translation pattern")
    def get(self, request, pattern_id: str, location_id: str | None = None):
        return Response(translation_pattern_body(self.get_pattern(request, pattern_id, location_id)))

    @extend_schema(operation_id="translation_patterns_update", request=TranslationPatternUpdateIn,
                   parameters=[ORG_ID], responses={204: None}, summary="Modify a translation pattern")
    def put(self, request, pattern_id: str, location_id: str | None = None):
        pattern = self.get_pattern(request, pattern_id, location_id)
        data = validated(TranslationPatternUpdateIn, request.data)
        fields = {name: data[key] for name, key in (("name", "name"), ("matching_pattern", "matchingPattern"),
                                                    ("replacement_pattern", "replacementPattern"))
                  if data.get(key) is not None}
        with webex_field_names(**PATTERN_FIELDS):
            update_translation_pattern(self.actor(request), pattern, **fields)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(operation_id="translation_patterns_delete", parameters=[ORG_ID], responses={204: None},
                   summary="Delete a translation pattern")
    def delete(self, request, pattern_id: str, location_id: str | None = None):
        delete_translation_pattern(self.actor(request), self.get_pattern(request, pattern_id, location_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


# --------------------------------------------------------------------------------------------- premises dial plans


def dial_plan_webex_id(plan_or_pk) -> str:
    return webex_id("DIAL_PLAN", getattr(plan_or_pk, "pk", plan_or_pk))


def dial_plan_body(plan: DialPlan, detail: bool = False) -> dict:
    route = plan.route
    body = {"id": dial_plan_webex_id(plan), "name": plan.name,
            "routeId": trunk_webex_id(route) if plan.trunk_id else route_group_webex_id(route),
            "routeName": route.name, "routeType": "TRUNK" if plan.trunk_id else "ROUTE_GROUP"}
    if detail:
        body["customer"] = {"id": org_webex_id(plan.organization), "name": plan.organization.display_name}
    return body


class DialPlanIn(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    routeId = serializers.CharField()
    routeType = serializers.ChoiceField(choices=["TRUNK", "ROUTE_GROUP"])
    dialPatterns = serializers.ListField(child=serializers.CharField(max_length=40, allow_blank=True),
                                         required=False, max_length=10000)


class DialPlanUpdateIn(serializers.Serializer):
    name = serializers.CharField(max_length=100, required=False)
    routeId = serializers.CharField(required=False)
    routeType = serializers.ChoiceField(choices=["TRUNK", "ROUTE_GROUP"], required=False)


class DialPatternChangeIn(serializers.Serializer):
    dialPattern = serializers.CharField(max_length=40)
    action = serializers.ChoiceField(choices=["ADD", "DELETE"])


class DialPatternsIn(serializers.Serializer):
    dialPatterns = DialPatternChangeIn(many=True, required=False)
    deleteAllDialPatterns = serializers.BooleanField(required=False)


class DialPlanLookup:
    def dial_plans(self, request):
        org = self.organization(request)
        return org, self.visible(DialPlan, request, org).select_related("trunk", "route_group", "organization")

    def get_plan(self, request, plan_id: str) -> DialPlan:
        _org, plans = self.dial_plans(request)
        return get_or_404(plans, parse_id(plan_id, "DIAL_PLAN", "dialPlanId"), "Dial plan")

    @staticmethod
    def route_ref(org, route_type: str | None, route_id: str | None):
        return premise_route(org, route_type, route_id, "routeId") if route_id else None


class DialPlanListView(DialPlanLookup, WebexAPIView):
    @extend_schema(operation_id="dial_plans_list", responses={200: None}, parameters=[
        ORG_ID, OpenApiParameter("dialPlanName", str), OpenApiParameter("routeGroupName", str),
        OpenApiParameter("trunkName", str), OpenApiParameter("order", str), OpenApiParameter("max", int),
        OpenApiParameter("start", int)], summary="List premises dial plans")
    def get(self, request):
        _org, plans = self.dial_plans(request)
        if name := request.query_params.get("dialPlanName"):
            plans = plans.filter(name__icontains=name)
        if name := request.query_params.get("routeGroupName"):
            plans = plans.filter(route_group__name__icontains=name)
        if name := request.query_params.get("trunkName"):
            plans = plans.filter(trunk__name__icontains=name)
        descending = (request.query_params.get("order") or "").lower().endswith("desc")
        plans = plans.order_by("-name" if descending else "name", "id")
        return paginated(request, plans, lambda rows: [dial_plan_body(p) for p in rows], key="dialPlans")

    @extend_schema(operation_id="dial_plans_create", request=DialPlanIn, responses=IdResponse, parameters=[ORG_ID],
                   summary="Create a premises dial plan")
    def post(self, request):
        org, _plans = self.dial_plans(request)
        data = validated(DialPlanIn, request.data)
        route = self.route_ref(org, data["routeType"], data["routeId"])
        with webex_field_names(route="routeId", dial_patterns="dialPatterns"):
            plan = create_dial_plan(self.actor(request), org, name=data["name"], route=route,
                                    dial_patterns=data.get("dialPatterns") or [])
        # patterns are all valid or the request was refused: no per-pattern errors to report
        return Response({"id": dial_plan_webex_id(plan), "dialPatternErrors": []})


class DialPlanDetailView(DialPlanLookup, WebexAPIView):
    @extend_schema(operation_id="dial_plans_details", parameters=[ORG_ID], responses={200: None},
                   summary="Get a premises dial plan")
    def get(self, request, plan_id: str):
        return Response(dial_plan_body(self.get_plan(request, plan_id), detail=True))

    @extend_schema(operation_id="dial_plans_update", request=DialPlanUpdateIn, parameters=[ORG_ID],
                   responses={204: None}, summary="Rename or re-route a premises dial plan")
    def put(self, request, plan_id: str):
        plan = self.get_plan(request, plan_id)
        data = validated(DialPlanUpdateIn, request.data)
        route = self.route_ref(plan.organization, data.get("routeType") or
                               ("TRUNK" if plan.trunk_id else "ROUTE_GROUP"), data.get("routeId"))
        with webex_field_names():
            update_dial_plan(self.actor(request), plan, name=data.get("name"), route=route)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(operation_id="dial_plans_delete", parameters=[ORG_ID], responses={204: None},
                   summary="Delete a premises dial plan")
    def delete(self, request, plan_id: str):
        delete_dial_plan(self.actor(request), self.get_plan(request, plan_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class DialPatternsView(DialPlanLookup, WebexAPIView):
    @extend_schema(operation_id="dial_patterns_list", responses={200: None}, parameters=[
        ORG_ID, OpenApiParameter("dialPattern", str), OpenApiParameter("max", int), OpenApiParameter("start", int)],
        summary="List a dial plan's dial patterns")
    def get(self, request, plan_id: str):
        plan = self.get_plan(request, plan_id)
        patterns = DialPattern.objects.filter(dial_plan=plan)
        if text := request.query_params.get("dialPattern"):
            patterns = patterns.filter(pattern__icontains=text)
        return paginated(request, patterns.order_by("pattern").values_list("pattern", flat=True), list,
                         key="dialPatterns")

    @extend_schema(operation_id="dial_patterns_modify", request=DialPatternsIn, parameters=[ORG_ID],
                   responses={204: None}, summary="Add or delete a dial plan's dial patterns")
    def put(self, request, plan_id: str):
        plan = self.get_plan(request, plan_id)
        data = validated(DialPatternsIn, request.data)
        changes = data.get("dialPatterns") or []
        with webex_field_names():
            update_dial_plan(self.actor(request), plan,
                             add=[c["dialPattern"] for c in changes if c["action"] == "ADD"],
                             delete=[c["dialPattern"] for c in changes if c["action"] == "DELETE"],
                             delete_all=bool(data.get("deleteAllDialPatterns")))
        return Response(status=status.HTTP_204_NO_CONTENT)


class ValidateDialPatternsIn(serializers.Serializer):
    dialPatterns = serializers.ListField(child=serializers.CharField(max_length=40, allow_blank=True),
                                         max_length=10000)


class ValidateDialPatternsView(WebexAPIView):
    @extend_schema(operation_id="dial_patterns_validate", request=ValidateDialPatternsIn, parameters=[ORG_ID],
                   responses={200: None}, summary="Validate dial patterns")
    def post(self, request):
        org = self.organization(request)
        patterns = validated(ValidateDialPatternsIn, request.data)["dialPatterns"]
        taken = set(DialPattern.objects.filter(organization=org, pattern__in=[p.strip().upper() for p in patterns])
                    .values_list("pattern", flat=True))
        seen: set[str] = set()
        results = []
        for raw in patterns:
            pattern = raw.strip().upper()
            entry = {"dialPattern": raw, "patternStatus": "VALID", "message": "Valid"}
            try:
                dial_pattern_regex(pattern)
            except ValueError as exc:
                entry.update(patternStatus="INVALID", message=str(exc))
            else:
                if pattern in seen:
                    entry.update(patternStatus="DUPLICATE_IN_LIST", message="Listed more than once.")
                elif pattern in taken:
                    entry.update(patternStatus="DUPLICATE", message="Already in a dial plan.")
            seen.add(pattern)
            results.append(entry)
        ok = all(r["patternStatus"] == "VALID" for r in results)
        return Response({"status": "OK" if ok else "ERRORS", "dialPatternStatus": results})


# --------------------------------------------------------------------------------------------- test call routing


class TestCallRoutingIn(serializers.Serializer):
    originatorId = serializers.CharField()
    originatorType = serializers.ChoiceField(choices=["USER", "PEOPLE", "PLACE", "TRUNK"])
    destination = serializers.CharField(max_length=64)
    originatorNumber = serializers.CharField(max_length=64, required=False, allow_blank=True)
    includeAppliedServices = serializers.BooleanField(required=False)


class TestCallRoutingView(WebexAPIView):
    @extend_schema(operation_id="test_call_routing", request=TestCallRoutingIn, responses={200: None},
                   parameters=[ORG_ID, OpenApiParameter(
                       "explain", bool, description="Add `steps`: each rule the call engine applies (project "
                                                    "extension; not part of the Webex API)")],
                   summary="How a dial string from a person or workspace routes")
    def post(self, request):
        org = self.organization(request)
        data = validated(TestCallRoutingIn, request.data)
        kind = data["originatorType"]
        if kind == "TRUNK":
            raise ValidationError({"originatorType": "Only calls from people and workspaces (USER) can be tested "
                                                     "here."})
        originator = None
        for model, webex_kind in ((Person, "PEOPLE"), (Workspace, "PLACE")):
            try:
                pk = parse_id(data["originatorId"], webex_kind, "originatorId")
            except ValidationError:
                continue
            originator = self.visible(model, request, org).filter(pk=pk).first()
            if originator is not None:
                break
        if originator is None:
            raise ValidationError({"originatorId": "No person or workspace with this ID in the organization."})
        explain = query_choice(request, "explain", ["true", "false"]) == "true"
        body = call_routing_report(org, originator, data["destination"], explain=explain)
        return Response(body)


def owner_webex_id(owner) -> str:
    return person_webex_id(owner) if isinstance(owner, Person) else workspace_webex_id(owner)
