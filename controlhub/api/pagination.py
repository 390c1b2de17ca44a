"""Webex list pagination: `start` + `max`, and an absolute `Link: <…>; rel="next"` carrying every filter."""
from urllib.parse import urlencode

from django.conf import settings
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

DEFAULT_MAX = 100
LIMIT_MAX = 1000


def page_bounds(request, default_max: int = DEFAULT_MAX) -> tuple[int, int]:
    def number(name: str, default: int, low: int, high: int) -> int:
        raw = request.query_params.get(name)
        if raw in (None, ""):
            return default
        try:
            value = int(raw)
        except ValueError:
            raise ValidationError({name: f"must be a whole number, got “{raw}”"}) from None
        if not low <= value <= high:
            raise ValidationError({name: f"must be between {low} and {high}"})
        return value

    return number("start", 0, 0, 10**9), number("max", default_max, 1, LIMIT_MAX)


def absolute_url(request, path: str, params: dict) -> str:
    base = settings.PUBLIC_BASE_URL.rstrip("/") or request.build_absolute_uri("/").rstrip("/")
    return f"{base}{path}?{urlencode(params, doseq=True)}"


def paginated(request, queryset, serialize, key: str = "items", default_max: int = DEFAULT_MAX) -> Response:
    """One page of `queryset` (a queryset or list) under `key`, with a next link when more rows exist.

    Fetches max+1 rows instead of counting, so a page costs the same at 1k and 100k rows.
    """
    start, size = page_bounds(request, default_max)
    rows = list(queryset[start:start + size + 1])
    more = len(rows) > size
    rows = rows[:size]
    response = Response({key: serialize(rows)})
    if more:
        params = {k: request.query_params.getlist(k) for k in request.query_params}
        params["start"], params["max"] = [str(start + size)], [str(size)]
        response["Link"] = f'<{absolute_url(request, request.path, params)}>; rel="next"'
    return response
