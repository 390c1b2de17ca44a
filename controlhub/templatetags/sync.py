"""{% sync_status obj part … %}: whether an object's latest change reached the call engine and the phones."""
from django import template

from controlhub.sync import ENGINE, PROVISIONING, object_status

register = template.Library()

TARGET_LABELS = {ENGINE: "Call engine", PROVISIONING: "Phone configuration"}


@register.inclusion_tag("portal/_sync_status.html", takes_context=True)
def sync_status(context, *objects) -> dict:
    request = context.get("request")
    states = object_status(*objects)
    return {
        "states": [(TARGET_LABELS.get(s.target, s.target), s) for s in states],
        "can_retry": bool(context.get("can_edit")),
        "request": request,
        "csrf_token": context.get("csrf_token"),
    }
