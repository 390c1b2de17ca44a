"""Shared plumbing of every /v1 view: the organisation asked for, who acts, IDs, query parameters, field names.

Views stay thin (STYLE.md): parse with these helpers, fetch through `restrict`ed querysets, call a domain action,
render a Webex-shaped dict. Objects named in the path that the caller cannot see are 404; malformed input is 400
naming the field as the client sent it.
"""
import re
import uuid
from collections.abc import Iterable
from contextlib import contextmanager
from datetime import UTC, datetime

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from drf_spectacular.utils import OpenApiParameter
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.views import APIView

from controlhub.actions import Actor
from controlhub.models import AuditSource, Location, Organization
from controlhub.roles import VIEW
from controlhub.tenancy import organization_for

from .errors import tracking_id
from .ids import license_id, webex_id, webex_kind_and_tail

# Webex ID TYPEs accepted for each kind of object we hand out (workspaces: Webex itself uses PLACES in places).
KINDS = {
    "PEOPLE": ("PEOPLE",),
    "ORGANIZATION": ("ORGANIZATION",),
    "LOCATION": ("LOCATION",),
    "DEVICE": ("DEVICE",),
    "WORKSPACE": ("WORKSPACE", "PLACE", "PLACES"),
}
KIND_WORDS = {"PEOPLE": "person", "ORGANIZATION": "organization", "LOCATION": "location", "DEVICE": "device",
              "WORKSPACE": "workspace"}


# --------------------------------------------------------------------------------------------- ids out


def org_webex_id(org_or_pk) -> str:
    return webex_id("ORGANIZATION", getattr(org_or_pk, "pk", org_or_pk))


def location_webex_id(location_or_pk) -> str:
    return webex_id("LOCATION", getattr(location_or_pk, "pk", location_or_pk))


def person_webex_id(person_or_pk) -> str:
    return webex_id("PEOPLE", getattr(person_or_pk, "pk", person_or_pk))


def workspace_webex_id(workspace_or_pk) -> str:
    return webex_id("WORKSPACE", getattr(workspace_or_pk, "pk", workspace_or_pk))


def device_webex_id(device_or_pk) -> str:
    return webex_id("DEVICE", getattr(device_or_pk, "pk", device_or_pk))


def licence_webex_id(licence) -> str:
    return license_id(licence.organization_id, licence.kind, licence.licence_uuid)


def iso(value: datetime | None) -> str | None:
    """Webex timestamps: UTC, milliseconds, `Z`."""
    if value is None:
        return None
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def blank_to_none(value: str | None) -> str | None:
    return value or None


# --------------------------------------------------------------------------------------------- ids in


def parse_id(value, kind: str, field: str) -> uuid.UUID:
    """The UUID inside a Webex ID of `kind` (a bare UUID is accepted too); 400 naming `field` otherwise."""
    word = KIND_WORDS.get(kind, kind.lower())
    if not isinstance(value, str) or not value.strip():
        raise ValidationError({field: f"Give a {word} ID."})
    text = value.strip()
    try:
        return uuid.UUID(text)
    except ValueError:
        pass
    decoded = webex_kind_and_tail(text) if re.fullmatch(r"[A-Za-z0-9+/=_-]+", text) else None
    if decoded is not None and decoded[0] in KINDS.get(kind, (kind,)):
        try:
            return uuid.UUID(decoded[1])
        except ValueError:
            pass
    raise ValidationError({field: f"“{text[:100]}” is not a valid {word} ID."})


def parse_id_list(raw: str | None, kind: str, field: str, limit: int = 85) -> list[uuid.UUID] | None:
    if raw in (None, ""):
        return None
    items = [item for item in raw.split(",") if item.strip()]
    if len(items) > limit:
        raise ValidationError({field: f"List at most {limit} IDs."})
    return [parse_id(item, kind, field) for item in items]


def get_or_404(queryset, pk, what: str):
    obj = queryset.filter(pk=pk).first()
    if obj is None:
        raise Http404(f"{what} not found")
    return obj


# --------------------------------------------------------------------------------------------- query parameters


def query_bool(request, name: str) -> bool | None:
    raw = request.query_params.get(name)
    if raw in (None, ""):
        return None
    low = raw.strip().lower()
    if low in ("true", "1"):
        return True
    if low in ("false", "0"):
        return False
    raise ValidationError({name: f"Must be true or false, not “{raw[:50]}”."})


def query_choice(request, name: str, choices: Iterable[str]) -> str | None:
    raw = request.query_params.get(name)
    if raw in (None, ""):
        return None
    choices = list(choices)
    if raw not in choices:
        raise ValidationError({name: f"Must be one of {', '.join(choices)}, not “{raw[:50]}”."})
    return raw


def query_int(request, name: str, low: int | None = None) -> int | None:
    raw = request.query_params.get(name)
    if raw in (None, ""):
        return None
    try:
        value = int(raw)
    except ValueError:
        raise ValidationError({name: f"Must be a whole number, not “{raw[:50]}”."}) from None
    if low is not None and value < low:
        raise ValidationError({name: f"Must be at least {low}."})
    return value


def validated(serializer_class: type[serializers.Serializer], data, **kwargs) -> dict:
    """Validate a request body with a (camelCase) serializer; 400 naming each bad field."""
    if not isinstance(data, dict):
        raise ValidationError("The request body must be a JSON object.")
    serializer = serializer_class(data=data, **kwargs)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


# --------------------------------------------------------------------------------------------- field names


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


@contextmanager
def webex_field_names(**renames: str):
    """Report domain validation errors under the field names the client sent (`time_zone` → `timeZone`)."""
    try:
        yield
    except DjangoValidationError as exc:
        if not hasattr(exc, "error_dict"):
            raise
        renamed = {}
        for name, errors in exc.message_dict.items():
            key = name if name == "__all__" else renames.get(name, camel(name))
            renamed.setdefault(key, []).extend(errors)
        error = DjangoValidationError(renamed)
        if hasattr(exc, "problems"):
            error.problems = exc.problems  # NumberErrors: keep the per-number detail
        raise error from exc


# --------------------------------------------------------------------------------------------- list helpers


class ChainedRows:
    """Several querysets paged as one list (numbers, then extension-only lines) with constant queries per page:
    one COUNT per queryset before the last and one SELECT per queryset the page touches."""

    def __init__(self, *querysets):
        self.querysets = querysets

    def __getitem__(self, item: slice) -> list:
        start, stop = item.start or 0, item.stop
        rows: list = []
        offset = 0  # where the current queryset begins in the combined list
        for i, queryset in enumerate(self.querysets):
            local_start = max(start - offset, 0)
            if i == len(self.querysets) - 1:
                rows += list(queryset[local_start:stop - offset])
                break
            size = queryset.count()
            if start < offset + size:
                rows += list(queryset[local_start:min(stop, offset + size) - offset])
            offset += size
            if offset >= stop:
                break
        return rows


# --------------------------------------------------------------------------------------------- the view base


class WebexAPIView(APIView):
    """Base of every /v1 view: the organisation asked for (`orgId`), the acting admin, Webex IDs."""

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        for name, values in request.query_params.lists():
            if any("\x00" in value for value in values):
                # PostgreSQL cannot compare text with NUL in it: refuse here instead of failing in the database
                raise ValidationError({name: "Null characters are not allowed."})

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        if "TrackingID" not in response:
            response["TrackingID"] = tracking_id(request)
        return response

    def organization(self, request, body_org: str | None = None) -> Organization:
        """The organisation to act on: `orgId` (query, or body for calls that send it there) if the caller may
        see it — another organisation is 404 — else the caller's own."""
        cached = getattr(request, "_webex_org", None)
        if cached is not None:
            return cached
        raw = request.query_params.get("orgId") or body_org
        org_uuid = parse_id(raw, "ORGANIZATION", "orgId") if raw else None
        org = organization_for(request.user, org_uuid, VIEW)
        request._webex_org = org
        return org

    @staticmethod
    def actor(request) -> Actor:
        return Actor(account=request.user, source=AuditSource.API)

    @staticmethod
    def visible(model, request, org: Organization, action: str = VIEW):
        """The objects of `model` in `org` the caller may see (location admins: their locations only)."""
        return model.objects.restrict(request.user, action).filter(organization=org)

    def location_ref(self, request, org: Organization, raw, field: str = "locationId") -> Location:
        """A location named in a request body: 400 naming the field when unknown or not visible."""
        pk = parse_id(raw, "LOCATION", field)
        location = self.visible(Location, request, org).filter(pk=pk).first()
        if location is None:
            raise ValidationError({field: "Location not found."})
        return location


# --------------------------------------------------------------------------------------------- schema helpers


ORG_ID = OpenApiParameter("orgId", str, description="Act on this (customer) organization: partner administrators "
                          "name their customer here.")


class IdResponse(serializers.Serializer):
    id = serializers.CharField()


def one_of(values, **kwargs) -> serializers.CharField:
    """A documented response field with a fixed set of values (plain strings in the schema, so the enum names of
    many Webex objects never collide)."""
    return serializers.CharField(help_text="One of: " + ", ".join(str(v) for v in values), **kwargs)
