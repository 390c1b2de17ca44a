"""Webex error bodies: {message, errors[{description, errorCode}], trackingId} for every non-2xx answer."""
import uuid

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response


def tracking_id(request) -> str:
    incoming = request.META.get("HTTP_TRACKINGID") if request is not None else None
    return incoming or f"CONTROLHUB_{uuid.uuid4()}"


def flatten_messages(detail, prefix: str = "") -> list[str]:
    """DRF/Django error structures → ["field: reason", …], field names as the client sent them."""
    if isinstance(detail, dict):
        out = []
        for key, value in detail.items():
            if isinstance(key, int):  # a list item: emails[0]
                out += flatten_messages(value, f"{prefix}[{key}]")
                continue
            name = "" if key in ("__all__", "non_field_errors") else str(key)
            out += flatten_messages(value, f"{prefix}{name}" if not prefix or not name else f"{prefix}.{name}")
        return out
    if isinstance(detail, list | tuple):
        out = []
        for i, item in enumerate(detail):
            # a list of objects (many=True): name the item, e.g. members[1].port
            out += flatten_messages(item, f"{prefix}[{i}]" if isinstance(item, dict) and prefix else prefix)
        return out
    return [f"{prefix}: {detail}" if prefix else str(detail)]


def error_body(request, http_status: int, messages: list[str], code: int | None = None) -> dict:
    return {
        "message": "; ".join(messages) or "Request failed",
        "errors": [{"description": m, "errorCode": code or http_status * 10} for m in messages],
        "trackingId": tracking_id(request),
    }


def webex_exception_handler(exc, context):
    request = context.get("request")
    if isinstance(exc, DjangoValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else exc.messages
        exc = exceptions.ValidationError(detail)
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound(str(exc) or "Not found")
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    elif isinstance(exc, IntegrityError):
        # A concurrent writer won a race our validation already checks for: report, do not 500.
        return Response(error_body(request, 409, ["The change conflicts with another change made at the same "
                                                  "time; reload and try again."]), status=status.HTTP_409_CONFLICT)
    if not isinstance(exc, exceptions.APIException):
        return None
    code = exc.status_code
    messages = flatten_messages(exc.detail)
    headers = {}
    if getattr(exc, "wait", None):
        headers["Retry-After"] = str(int(exc.wait))
    if code == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="controlhub"'
    response = Response(error_body(request, code, messages), status=code, headers=headers)
    response["TrackingID"] = response.data["trackingId"]
    return response
