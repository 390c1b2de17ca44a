"""Fixtures and helpers for the /v1 API tests: bearer-token clients for every admin role, Webex IDs of objects."""
import json

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from controlhub.api.ids import license_id, webex_id
from controlhub.models import Account, AuditEvent
from controlhub.roles import Role
from tests.conftest import org_location

PEOPLE, LOCATION, ORG, DEVICE, WORKSPACE = "PEOPLE", "LOCATION", "ORGANIZATION", "DEVICE", "WORKSPACE"


def wid(kind: str, obj) -> str:
    """The Webex ID of a model object (or of a UUID)."""
    return webex_id(kind, getattr(obj, "pk", obj))


def lic_id(licence) -> str:
    return license_id(licence.organization_id, licence.kind, licence.licence_uuid)


class Api:
    """A bearer-token client speaking JSON on every method (DELETE with a body included), Webex style."""

    def __init__(self, account: Account | None):
        self.account = account
        self.client = APIClient()
        if account is not None:
            token, _ = Token.objects.get_or_create(user=account)
            self.client.credentials(HTTP_AUTHORIZATION=f"Bearer {token.key}")

    def _call(self, method: str, path: str, body=None, params: dict | None = None, raw: str | None = None,
              **headers):
        url = path if path.startswith(("http://", "https://", "/v1/")) else f"/v1/{path.lstrip('/')}"
        if params:
            from urllib.parse import urlencode

            url += ("&" if "?" in url else "?") + urlencode(params, doseq=True)
        data = raw if raw is not None else (json.dumps(body) if body is not None else None)
        kwargs = {"content_type": "application/json;charset=utf-8"} if data is not None else {}
        return getattr(self.client, method)(url, data=data, **kwargs, **headers)

    def get(self, path, params=None, **headers):
        return self._call("get", path, params=params, **headers)

    def post(self, path, body=None, params=None, **kw):
        return self._call("post", path, body, params, **kw)

    def put(self, path, body=None, params=None, **kw):
        return self._call("put", path, body, params, **kw)

    def patch(self, path, body=None, params=None, **kw):
        return self._call("patch", path, body, params, **kw)

    def delete(self, path, body=None, params=None, **kw):
        return self._call("delete", path, body, params, **kw)


def assert_webex_error(response, status: int, *fragments: str) -> dict:
    """A Webex error body: message, errors[{description, errorCode}], trackingId; each fragment in the message."""
    assert response.status_code == status, (response.status_code, response.content[:500])
    body = response.json()
    assert set(body) >= {"message", "errors", "trackingId"}, body
    assert body["errors"] and all({"description", "errorCode"} <= set(e) for e in body["errors"])
    for fragment in fragments:
        assert fragment in body["message"], (fragment, body["message"])
    return body


def audit_count(**filters) -> int:
    return AuditEvent.objects.filter(**filters).count()


@pytest.fixture(name="api")
def api_fixture(full_admin) -> Api:
    """A full administrator of `org` with a bearer token."""
    return Api(full_admin)


@pytest.fixture(name="api_for")
def api_for_fixture(make_admin):
    """api_for(role, org=…, partner=…, locations=…) -> Api for a new admin with that role."""

    def make(role: str, **kwargs) -> Api:
        return Api(make_admin(role, **kwargs))

    return make


@pytest.fixture(name="read_only_api")
def read_only_api_fixture(make_admin, org) -> Api:
    return Api(make_admin(Role.READ_ONLY_ADMIN, org=org))


@pytest.fixture(name="hq_admin_api")
def hq_admin_api_fixture(make_admin, org) -> Api:
    """A location administrator of `org`'s HQ only."""
    return Api(make_admin(Role.LOCATION_ADMIN, org=org, locations=[org_location(org, "HQ")]))


@pytest.fixture(name="partner_api")
def partner_api_fixture(make_admin, partner) -> Api:
    return Api(make_admin(Role.PARTNER_FULL_ADMIN, partner=partner))
