"""The call-routing test (portal page and `POST /v1/telephony/config/actions/testCallRouting/invoke`).

Renders the organisation's engine state exactly as a push would (`render.desired_state`) and walks it with
`engine.routing.route_call`, the Python twin of deploy/kamailio.cfg's `route[DIAL]`; then names what the engine
only knows by keys (lines, trunks, dial plans, translation patterns) in Webex's TestCallRoutingResult shape.
"""
from __future__ import annotations

from controlhub.api.common import location_webex_id, person_webex_id, workspace_webex_id
from controlhub.api.ids import webex_id
from controlhub.models import Organization
from users.models import Person, Workspace

from .engine.render import desired_state, location_policy
from .engine.routing import RoutingResult, route_call
from .models import DialPlan, Line, LocationPstn, TranslationPattern, Trunk


def _owner_body(line: Line) -> dict:
    owner = line.owner
    is_person = isinstance(owner, Person)
    first = owner.first_name if is_person else owner.display_name
    last = owner.last_name if is_person else ""
    body = {"id": person_webex_id(owner) if is_person else workspace_webex_id(owner),
            "type": "PEOPLE" if is_person else "PLACE", "firstName": first or "", "lastName": last or "",
            "locationName": line.location.name, "locationId": location_webex_id(line.location)}
    if line.number_id:
        body["phoneNumber"] = line.number.e164
    if line.extension:
        body["extension"] = line.extension
    return body


def _trunk_body(result: RoutingResult, caller_line: Line) -> dict:
    """The trunk or route group a gateway call leaves through (a dial plan's, else the caller location's)."""
    body: dict = {}
    if result.dial_plan_key:
        plan = DialPlan.objects.filter(pk=result.dial_plan_key).select_related("trunk", "route_group").first()
        route = plan.route if plan else None
    else:
        pstn = (LocationPstn.objects.filter(location_id=caller_line.location_id)
                .select_related("trunk", "route_group").first())
        route = pstn.route if pstn else None
    if route is None:
        return body
    if isinstance(route, Trunk):
        body.update(trunkName=route.name, trunkId=webex_id("TRUNK", route.pk),
                    trunkLocationName=route.location.name, trunkLocationId=location_webex_id(route.location_id))
    else:
        body.update(routeGroupName=route.name, routeGroupId=webex_id("ROUTE_GROUP", route.pk))
    return body


def call_routing_report(organization: Organization, originator: Person | Workspace, destination: str,
                        explain: bool = False) -> dict:
    """How `destination` dialled by `originator` routes, as Webex's TestCallRoutingResult (+ `steps`)."""
    from rest_framework.exceptions import ValidationError

    line = Line.objects.filter(**{"person" if isinstance(originator, Person) else "workspace": originator}) \
        .select_related("location").first()
    if line is None:
        raise ValidationError({"originatorId": "This person or workspace has no calling line (extension or "
                                               "number) to call from."})
    state = desired_state(organization.pk)
    result = route_call(state, line.sip_user, destination)
    body: dict = {"destinationType": "UNKNOWN_NUMBER", "routingAddress": result.e164 or result.dialled,
                  "isRejected": result.rejected}
    services: list[dict] = []
    if result.translation:
        pattern = TranslationPattern.objects.filter(pk=result.translation).first()
        if pattern is not None:
            services.append({"translationPattern": {
                "configurationLevel": "LOCATION" if pattern.location_id else "ORGANIZATION",
                "name": pattern.name, "matchingPattern": pattern.matching_pattern,
                "replacementPattern": pattern.replacement_pattern, "matchedNumber": result.dialled,
                "translatedNumber": result.translated}})
    if result.call_type:
        caller = next(x for x in state.lines if x.line_user == line.sip_user)
        level = "LOCATION" if caller.policy == location_policy(str(line.location_id)) else "PEOPLE"
        services.append({"outgoingCallingPlanPermissionsByType": {
            "configurationLevel": level, "callType": result.call_type,
            "permission": "BLOCK" if result.status == 403 else "ALLOW"}})
    if result.line_user:
        callee = (Line.objects.filter(sip_user=result.line_user)
                  .select_related("person", "workspace", "number", "location").first())
        if callee is not None:
            body["destinationType"] = "HOSTED_AGENT"
            body["hostedAgent"] = _owner_body(callee)
            body["routingAddress"] = result.translated or result.dialled
    elif result.destination == "GATEWAY" or (result.call_type and result.call_type != "INTERNAL_CALL"):
        trunk = _trunk_body(result, line)
        if result.dial_plan_key:
            plan = DialPlan.objects.filter(pk=result.dial_plan_key).first()
            body["destinationType"] = "PBX_USER"
            body["pbxUser"] = {**trunk, "dialPlanName": plan.name if plan else "",
                               "dialPlanId": webex_id("DIAL_PLAN", result.dial_plan_key),
                               "dialPattern": _pattern_of(plan, result.e164)}
        else:
            body["destinationType"] = "PSTN_NUMBER"
            body["pstnNumber"] = trunk
    elif result.call_type == "INTERNAL_CALL":
        body["destinationType"] = "HOSTED_AGENT"
    elif (result.translated or result.dialled).isdigit() and len(result.translated or result.dialled) <= 10:
        body["destinationType"] = "UNKNOWN_EXTENSION"
        body["unknownExtension"] = {}
    else:
        body["unknownNumber"] = {}
    if services:
        body["appliedServices"] = services
    if explain:
        body["steps"] = [{"step": s.name, "detail": s.detail, **({"data": s.data} if s.data else {})}
                         for s in result.steps]
        body["engineAnswer"] = f"{result.status} {result.reason}" if result.status >= 400 else "routed"
    return body


def _pattern_of(plan: DialPlan | None, e164: str | None) -> str:
    """The plan's dial pattern that matched (most specific first, as the engine picks)."""
    import re

    from .dialplan import dial_pattern_regex, specificity

    if plan is None or not e164:
        return ""
    for pattern in sorted(plan.patterns.values_list("pattern", flat=True), key=specificity):
        if re.search(dial_pattern_regex(pattern), e164):
            return pattern
    return ""
