"""How the call engine routes a dial string from a line, explained step by step (the call-routing test).

`route_call()` walks the same rendered state the engine holds (`render.DesiredState`: routes, dialplan rules,
class-of-service blocks, gateways) in the same order as `route[DIAL]` in deploy/kamailio.cfg, so what the
portal and `/v1` explain is what a call does; tests/integration/test_dial_plan_engine.py places the same calls
through Kamailio and compares. Pure: no database, no engine.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from .render import DesiredState, GatewayRow, apply_replacement, location_policy, match_rule

DIALLABLE = re.compile(r"^\+?[0-9]{1,32}$")
INTERNAL_CALL = "INTERNAL_CALL"
# dialplan rule attrs (render.dialplan_rules) in an administrator's words
NORMALISATIONS = {
    "e164": "+E.164 as dialled",
    "international": "international prefix",
    "national": "national prefix",
    "national-no-prefix": "national number",
    "odd-international": "outside dial digit, then the international prefix",
    "odd-national": "outside dial digit, then the national prefix",
    "odd-national-no-prefix": "outside dial digit, then a national number",
}


@dataclass
class Step:
    name: str        # normalise | translate | line | classify | permission | route
    detail: str
    data: dict = field(default_factory=dict)


@dataclass
class RoutingResult:
    dialled: str
    status: int                              # the SIP answer the engine gives before ringing: 100 = routed
    reason: str
    destination: str                         # LINE | GATEWAY | NONE
    steps: list[Step] = field(default_factory=list)
    line_user: str | None = None
    e164: str | None = None
    call_type: str | None = None
    translation: str | None = None           # the translation pattern key that applied (attrs "tp:<key>")
    translated: str | None = None
    gateways: list[GatewayRow] = field(default_factory=list)
    dial_plan_key: str | None = None         # premises dial plan whose pattern matched
    dial_pattern_regex: str | None = None

    @property
    def rejected(self) -> bool:
        return self.status >= 400


def route_call(state: DesiredState, caller_line: str, dialled: str) -> RoutingResult:
    """What the engine does with `dialled` from the line `caller_line` of this organisation."""
    dialled = (dialled or "").strip()
    line = next((x for x in state.lines if x.line_user == caller_line), None)
    if line is None:
        return RoutingResult(dialled, 403, "Forbidden - line not provisioned", "NONE",
                             [Step("caller", "The caller has no line on the call engine.")])
    blocked = {b.call_type for b in state.blocks if b.policy == line.policy} if line.policy else set()
    loc = line.location_key
    result = RoutingResult(dialled, 100, "Routed", "NONE")
    steps = result.steps
    policy_name = "the location's" if line.policy == location_policy(loc) else "the person's own"
    if not DIALLABLE.match(dialled):
        result.status, result.reason = 404, "Not Found"
        steps.append(Step("normalise", "Only digits, with an optional leading +, can be dialled."))
        return result
    routes = {r.dial_key: r for r in state.routes}

    def to_line(key: str, kinds: tuple[str, ...]) -> bool:
        route = routes.get(key)
        if route is None or route.kind not in kinds:
            return False
        result.call_type = INTERNAL_CALL
        steps.append(Step("line", f"{key} is the {route.kind} of a line in this organization.",
                          {"lineUser": route.line_user, "kind": route.kind}))
        if not permit(INTERNAL_CALL):
            return True
        result.destination, result.line_user = "LINE", route.line_user
        return True

    def permit(call_type: str) -> bool:
        if call_type in blocked:
            result.status, result.reason = 403, f"Forbidden - {call_type} calls are blocked"
            steps.append(Step("permission", f"{call_type} calls are blocked by {policy_name} outgoing "
                                            "permissions.", {"callType": call_type, "action": "BLOCK"}))
            return False
        steps.append(Step("permission", f"{call_type} calls are allowed by {policy_name} outgoing permissions.",
                          {"callType": call_type, "action": "ALLOW"}))
        return True

    kinds_any = ("extension", "esn", "number")
    if to_line(dialled, kinds_any):
        return result
    current = dialled
    rule = match_rule(state.translations.get(loc, []), current)
    if rule is not None:
        current = apply_replacement(rule.match, rule.repl, current)
        result.translation = rule.attrs.removeprefix("tp:")
        result.translated = current
        steps.append(Step("translate", f"Translation pattern turns {dialled} into {current}.",
                          {"patternKey": result.translation, "translated": current}))
        if to_line(current, kinds_any):
            return result
    rule = match_rule(state.dialplans.get(loc, []), current)
    if rule is None:
        result.status, result.reason = 404, "Not Found"
        steps.append(Step("normalise", f"{current} is no extension, number or dialable number of this location."))
        return result
    e164 = apply_replacement(rule.match, rule.repl, current)
    result.e164 = e164
    how = NORMALISATIONS.get(rule.attrs, rule.attrs)
    detail = (f"{current} is already in +E.164." if current == e164
              else f"{current} is {e164} (the location's dial plan: {how}).")
    steps.append(Step("normalise", detail, {"rule": rule.attrs, "e164": e164}))
    if to_line(e164, ("number",)):
        return result
    rule = match_rule(state.call_types.get(loc, []), e164)
    if rule is None:   # cannot happen: the last rule matches any +E.164
        result.status, result.reason = 404, "Not Found"
        return result
    result.call_type = rule.attrs
    steps.append(Step("classify", f"{e164} is a {rule.attrs} call from this location.", {"callType": rule.attrs}))
    if not permit(rule.attrs):
        return result
    rule = match_rule(state.premises.get(loc, []), e164)
    if rule is not None:
        result.dial_plan_key, result.dial_pattern_regex = rule.attrs, rule.match
        result.gateways = list(state.route_choices.get(rule.attrs, []))
        steps.append(Step("route", "A premises dial plan's dial pattern matches: its trunk or route group.",
                          {"dialPlanKey": rule.attrs}))
    else:
        result.gateways = list(state.gateways.get(loc, []))
        steps.append(Step("route", "Off-net: the location's PSTN connection."))
    if not result.gateways:
        result.status, result.reason = 503, "No Gateway Available"
        steps.append(Step("route", "No local gateway is configured for this route."))
        return result
    result.destination = "GATEWAY"
    return result
