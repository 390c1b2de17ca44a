"""Every URL the project serves, walked from the URL resolver, checked per role: no page or endpoint is
reachable by someone who should not reach it, and a new URL is covered the day it is added.

- Public URLs (sign-in, password reset, invitation links, SSO endpoints, API docs) are named in PUBLIC with the
  reason; personal pages (any signed-in account, about itself) in PERSONAL. Everything else is admin-only.
- Every admin portal page: anonymous -> sign-in redirect; a person without an admin role -> 403; another
  organisation's object in the path -> 404 (GET and POST); and per admin role the outcome follows from the page's
  (area, action) in PORTAL and the role rights written out by hand in test_roles.py.
- Every /v1 endpoint and method: anonymous -> 401; a person without an admin role -> 403 (except `people/me`);
  another organisation's object in the path -> 404; a read-only admin reads (GET 200) but every write is 403.
- A URL in none of these tables fails the walk with a message saying where to classify it.
"""
import itertools
import re
from dataclasses import dataclass

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from calling.actions import create_dial_plan, create_route_group, create_translation_pattern, create_trunk
from controlhub.api.ids import webex_id
from controlhub.models import AuditEvent, Job
from controlhub.roles import CHANGE, VIEW, Role
from controlhub.sync.models import SyncTarget
from tests.conftest import SYSTEM, licence, org_location
from tests.integration.api_fixtures import DEVICE, LOCATION, ORG, PEOPLE, WORKSPACE, Api, lic_id, wid
from tests.integration.portal_support import client_for, make_device, make_workspace
from tests.integration.test_roles import CHANGES, VIEWS
from users.invitations import account_for_person

pytestmark = pytest.mark.django_db
_seq = itertools.count(1)

# Reachable without signing in, and why that is safe.
PUBLIC = {
    "account_login": "the sign-in page",
    "sso:account_login": "the email-first sign-in page",
    "account_logout": "sign-out (a POST with a CSRF token; GET only asks)",
    "account_inactive": "tells a disabled account it is disabled",
    "account_signup": "answers that sign-up is closed (administrators invite people)",
    "account_reset_password": "password reset request",
    "account_reset_password_done": "password reset: check your mail",
    "account_reset_password_from_key": "password reset link (the key is the credential)",
    "account_reset_password_from_key_done": "password reset done",
    "account_confirm_login_code": "allauth sign-in code step (codes are off: nothing to confirm)",
    "account_confirm_email": "allauth email confirmation link (the key is the credential)",
    "account_email_verification_sent": "allauth: verification mail sent",
    "invitation:accept": "invitation link (the token is the credential)",
    "set_language": "language switch (cookie only)",
    "sso:metadata": "our SP metadata, published for IdPs",
    "sso:login": "starts SP-initiated SSO",
    "sso:acs": "the IdP posts assertions here (the signed assertion is the credential)",
    "sso:acs_finish": "same, re-posted from our origin",
    "sso:sls": "single logout from the IdP (signed messages)",
    "openapi": "the API description",
    "api-docs": "browsable API docs",
    "api-not-found": "Webex-shaped 404 for unknown /v1 paths",
}
# Any signed-in account, about itself only (no object from the request).
PERSONAL = {"me:home", "me:account_email", "account_email", "account_change_password", "account_set_password",
            "account_reauthenticate", "account_request_reauthentication_code",
            "account_confirm_reauthentication_code"}
SKIPPED_PREFIXES = ("django-admin/",)   # Django's own admin site: staff only, enforced by Django

ANY = None   # any administrator
# Admin portal pages: url name -> (area, action). Location create/delete are organisation-wide (roles.ORG_WIDE_ONLY).
PORTAL = {
    "portal:overview": (ANY, VIEW),
    "portal:switch_organization": (ANY, VIEW),
    "portal:location_list": ("locations", VIEW),
    "portal:location_add": ("locations", "create"),
    "portal:location_detail": ("locations", VIEW),
    "portal:location_edit": ("locations", CHANGE),
    "portal:location_delete": ("locations", "delete"),
    "portal:audit_log": ("audit", VIEW),
    "portal:sync_retry": ("devices", CHANGE),
    "sso:settings": ("organization", VIEW),
    "sso:test": ("organization", CHANGE),
    "invitation:resend": ("people", CHANGE),
    "users:person_list": ("people", VIEW),
    "users:person_add": ("people", "create"),
    "users:person_detail": ("people", VIEW),
    "users:person_edit": ("people", CHANGE),
    "users:person_services": ("people", CHANGE),
    "users:person_delete": ("people", "delete"),
    "users:workspace_list": ("workspaces", VIEW),
    "users:workspace_add": ("workspaces", "create"),
    "users:workspace_detail": ("workspaces", VIEW),
    "users:workspace_edit": ("workspaces", CHANGE),
    "users:workspace_delete": ("workspaces", "delete"),
    "calling:number_list": ("numbers", VIEW),
    "calling:number_add": ("numbers", "create"),
    "calling:number_bulk": ("numbers", CHANGE),
    "calling:free_numbers": ("numbers", VIEW),
    "calling:trunk_list": ("organization", VIEW),
    "calling:trunk_add": ("organization", "create"),
    "calling:trunk_detail": ("organization", VIEW),
    "calling:trunk_edit": ("organization", CHANGE),
    "calling:trunk_delete": ("organization", "delete"),
    "calling:location_pstn": ("locations", CHANGE),
    "calling:route_group_add": ("organization", "create"),
    "calling:route_group_edit": ("organization", CHANGE),
    "calling:route_group_delete": ("organization", "delete"),
    "calling:person_calling": ("people", CHANGE),
    "calling:person_calling_remove": ("people", CHANGE),
    "calling:workspace_calling": ("workspaces", CHANGE),
    "calling:workspace_calling_remove": ("workspaces", CHANGE),
    "devices:device_list": ("devices", VIEW),
    "devices:device_add": ("devices", "create"),
    "devices:owner_suggestions": ("devices", VIEW),
    "devices:device_detail": ("devices", VIEW),
    "devices:device_lines": ("devices", CHANGE),
    "devices:device_delete": ("devices", "delete"),
    "devices:device_reset_first_contact": ("devices", CHANGE),
    "calling:location_outgoing_permissions": ("locations", CHANGE),
    "calling:person_outgoing_permissions": ("people", CHANGE),
    "calling:call_routing": ("organization", VIEW),
    "calling:call_routing_test": ("organization", VIEW),
    "calling:translation_pattern_add": ("organization", "create"),
    "calling:translation_pattern_delete": ("organization", "delete"),
    "calling:dial_plan_add": ("organization", "create"),
    "calling:dial_plan_edit": ("organization", CHANGE),
    "calling:dial_plan_delete": ("organization", "delete"),
    "bulk:phones_template": ("devices", VIEW),
    "bulk:import_users": ("people", "create"),
    "bulk:export_users": ("people", VIEW),
    "bulk:import_phones": ("devices", "create"),
    "bulk:task_list": ("people", VIEW),
    "bulk:task_detail": ("people", VIEW),
    "bulk:task_confirm": ("people", VIEW),
    "bulk:task_cancel": ("people", VIEW),
    "bulk:task_errors": ("people", VIEW),
}
# Pages whose allowed answer is not a plain 200/302 in this world, and why.
ALLOWED_ANSWERS = {
    "sso:test": ((302, 404), "404 while the organisation has uploaded no IdP metadata"),
    "bulk:task_errors": ((200, 404), "404 while the job has no error report"),
}
ADMIN_ROLES = (Role.FULL_ADMIN, Role.READ_ONLY_ADMIN, Role.USER_DEVICE_ADMIN, Role.LOCATION_ADMIN)
ORG_WIDE_ONLY = {("locations", "create"), ("locations", "delete")}


@dataclass
class Route:
    route: str          # e.g. "users/<uuid:pk>/edit/"
    name: str | None    # namespaced url name
    pattern: URLPattern

    @property
    def is_api(self) -> bool:
        return self.route.startswith("v1/")

    @property
    def view_class(self):
        return getattr(self.pattern.callback, "view_class", None)


def all_routes() -> list[Route]:
    def walk(resolver, prefix="", namespace=None):
        for p in resolver.url_patterns:
            if isinstance(p, URLResolver):
                ns = ":".join(filter(None, [namespace, p.namespace])) or None
                yield from walk(p, prefix + str(p.pattern), ns)
            else:
                name = f"{namespace}:{p.name}" if namespace and p.name else p.name
                yield Route(prefix + str(p.pattern), name, p)

    return [r for r in walk(get_resolver()) if not r.route.startswith(SKIPPED_PREFIXES)]


def test_every_url_is_classified():
    unclassified = [f"{r.route} (name {r.name})" for r in all_routes()
                    if r.name not in PUBLIC and r.name not in PERSONAL and r.name not in PORTAL and not r.is_api]
    assert not unclassified, ("New portal URLs need an entry in PORTAL (area, action), PERSONAL or PUBLIC in "
                              f"{__file__}: {unclassified}")
    stale = set(PORTAL) - {r.name for r in all_routes()}
    assert not stale, f"PORTAL names URLs that no longer exist: {stale}"


# --------------------------------------------------------------------------------------------- the world


def objects_of(org) -> dict:
    """One object of every kind a path can name, at HQ (inside a location admin's scope)."""
    hq = org_location(org, "HQ")
    person = _calling_person(org)
    workspace = make_workspace(org, f"Lobby {next(_seq)}", extension=str(1500 + next(_seq)))
    device = make_device(org, person)
    trunk = create_trunk(SYSTEM, org, name=f"LGW {next(_seq)}", location=hq)
    group = create_route_group(SYSTEM, org, name=f"RG {next(_seq)}", members=[(trunk, 1)])
    job = Job.objects.create(organization=org, kind="users.csv_import", source_name="users.csv")
    org_pattern = create_translation_pattern(SYSTEM, org, name=f"TP {next(_seq)}", matching_pattern="7XXX",
                                             replacement_pattern="1XXX")
    hq_pattern = create_translation_pattern(SYSTEM, org, name=f"TP {next(_seq)}", matching_pattern="6XXX",
                                            replacement_pattern="1XXX", location=hq)
    plan = create_dial_plan(SYSTEM, org, name=f"PBX {next(_seq)}", route=trunk, dial_patterns=["+1212555XXXX"])
    sync = SyncTarget.objects.filter(organization=org).first()
    assert sync is not None
    return {"org": org, "location": hq, "person": person, "workspace": workspace, "device": device, "trunk": trunk,
            "route_group": group, "job": job, "sync": sync, "org_pattern": org_pattern,
            "hq_pattern": hq_pattern, "dial_plan": plan}


def _calling_person(org):
    from calling.actions import assign_calling
    from tests.conftest import free_number
    from users.actions import create_person

    person = create_person(SYSTEM, org, email=f"walk{next(_seq)}@{org.sip_domain}", first_name="Walk",
                           last_name="Person", location=org_location(org, "HQ"), licenses=[licence(org)],
                           send_welcome=False)
    assign_calling(SYSTEM, person, location=person.location, extension=str(1200 + next(_seq)),
                   phone_number=free_number(person.location))
    return person


def portal_kwargs(route: Route, objs: dict) -> dict:
    """Path parameters of a portal URL, filled with the objects of one organisation."""
    by_prefix = [("locations/", "location"), ("users/", "person"), ("workspaces/", "workspace"),
                 ("devices/", "device"), ("pstn/trunks/", "trunk"), ("pstn/route-groups/", "route_group"),
                 ("tasks/", "job"), ("sync/", "sync"), ("sso/", "org"),
                 ("call-routing/translation-patterns/", "org_pattern"), ("call-routing/dial-plans/", "dial_plan")]
    kwargs = {}
    for key in route.pattern.pattern.converters:
        kind = next((k for prefix, k in by_prefix if route.route.startswith(prefix)), None)
        assert kind is not None and key in ("pk", "org_id"), (
            f"test_role_walk.py does not know how to fill <{key}> in {route.route}: add it to portal_kwargs")
        kwargs[key] = objs[kind].pk
    return kwargs


API_IDS = {
    "org_id": lambda o: wid(ORG, o["org"]),
    "person_id": lambda o: wid(PEOPLE, o["person"]),
    "license_id": lambda o: lic_id(licence(o["org"])),
    "location_id": lambda o: wid(LOCATION, o["location"]),
    "trunk_id": lambda o: webex_id("TRUNK", o["trunk"].pk),
    "rg_id": lambda o: webex_id("ROUTE_GROUP", o["route_group"].pk),
    "device_id": lambda o: wid(DEVICE, o["device"]),
    "workspace_id": lambda o: wid(WORKSPACE, o["workspace"]),
    "job_id": lambda o: webex_id("JOB", o["job"].pk),
    "action": lambda o: "cancel",
    "pattern_id": lambda o, route: webex_id("TRANSLATION_PATTERN",
                                            o["hq_pattern" if "<str:location_id>" in route else "org_pattern"].pk),
    "plan_id": lambda o: webex_id("DIAL_PLAN", o["dial_plan"].pk),
}


def api_path(route: Route, objs: dict) -> str:
    path = route.route
    for key in route.pattern.pattern.converters:
        assert key in API_IDS, f"test_role_walk.py cannot fill <{key}> in {route.route}: add it to API_IDS"
        fill = API_IDS[key]
        value = fill(objs, route.route) if fill.__code__.co_argcount == 2 else fill(objs)
        path = re.sub(rf"<(\w+:)?{key}>", value, path)
    assert "<" not in path, path
    return "/" + path


def url_of(route: Route, objs: dict) -> str:
    from django.urls import reverse

    return reverse(route.name, kwargs=portal_kwargs(route, objs))


def api_methods(route: Route) -> list[str]:
    cls = route.view_class
    return [m for m in ("get", "post", "put", "patch", "delete") if hasattr(cls, m)]


@pytest.fixture
def world(org, other_org):
    return objects_of(org), objects_of(other_org)


@pytest.fixture
def accounts(org, make_admin, world):
    mine, _ = world
    person_account = account_for_person(mine["person"])
    return {
        Role.FULL_ADMIN: make_admin(Role.FULL_ADMIN, org=org),
        Role.READ_ONLY_ADMIN: make_admin(Role.READ_ONLY_ADMIN, org=org),
        Role.USER_DEVICE_ADMIN: make_admin(Role.USER_DEVICE_ADMIN, org=org),
        Role.LOCATION_ADMIN: make_admin(Role.LOCATION_ADMIN, org=org, locations=[mine["location"]]),
        "person": person_account,
    }


def portal_routes() -> list[Route]:
    return [r for r in all_routes() if r.name in PORTAL]


def allowed(role: str, area: str | None, action: str) -> bool:
    if area is ANY:
        return True
    if action == VIEW:
        return area in VIEWS[role]
    if role == Role.LOCATION_ADMIN and (area, action) in ORG_WIDE_ONLY:
        return False
    return area in CHANGES[role]


# --------------------------------------------------------------------------------------------- portal


def test_portal_anonymous_and_people_without_admin_role_are_kept_out(world, accounts):
    mine, _ = world
    person = client_for(accounts["person"])
    for route in portal_routes():
        url = url_of(route, mine)
        for method in ("get", "post"):
            anonymous = getattr(Client(), method)(url)
            assert anonymous.status_code in (302, 405), (method, url, anonymous.status_code)
            if anonymous.status_code == 302:
                assert anonymous.url.startswith("/accounts/login/?next="), (method, url)
            answer = getattr(person, method)(url)
            assert answer.status_code in (403, 405), (method, url, answer.status_code)


def test_personal_pages_need_a_sign_in(db):
    for route in all_routes():
        if route.name in PERSONAL and not route.pattern.pattern.converters:
            answer = Client().get("/" + route.route)
            assert answer.status_code == 302 and "/accounts/login/" in answer.url, route.route


def test_portal_another_organisations_objects_are_404(world, accounts):
    mine, theirs = world
    client = client_for(accounts[Role.FULL_ADMIN])
    events = AuditEvent.objects.count()
    checked = 0
    for route in portal_routes():
        if not route.pattern.pattern.converters:
            continue
        url = url_of(route, theirs)
        get = client.get(url)
        post = client.post(url, {"confirm": "yes"})
        assert get.status_code in (404, 405), (url, get.status_code)
        assert post.status_code in (404, 405), (url, post.status_code)
        assert 404 in (get.status_code, post.status_code), url
        checked += 1
    assert checked >= 20
    assert AuditEvent.objects.count() == events


@pytest.mark.parametrize("role", ADMIN_ROLES)
def test_portal_pages_per_role(role, world, accounts):
    mine, _ = world
    client = client_for(accounts[role])
    events = AuditEvent.objects.count()
    wrong = []
    for route in portal_routes():
        area, action = PORTAL[route.name]
        url = url_of(route, mine)
        expected_ok = allowed(role, area, action)
        got = client.get(url).status_code
        if got == 405:   # POST-only: only a refused role may POST here (an allowed POST would change things)
            if not expected_ok:
                got = client.post(url, {"confirm": "yes"}).status_code
                if got != 403:
                    wrong.append((url, "POST", got, "expected 403"))
            continue
        answers = ALLOWED_ANSWERS.get(route.name, ((200, 302), ""))[0]
        if expected_ok and got not in answers:
            wrong.append((url, "GET", got, f"expected {answers}"))
        if not expected_ok:
            if got != 403:
                wrong.append((url, "GET", got, "expected 403"))
            posted = client.post(url, {"confirm": "yes", "name": "x", "email": "x@example.com"}).status_code
            if posted not in (403, 405):   # 405: a read-only page refuses POST before anything else
                wrong.append((url, "POST", posted, "expected 403"))
    assert not wrong, wrong
    if role == Role.READ_ONLY_ADMIN:
        assert AuditEvent.objects.count() == events


# --------------------------------------------------------------------------------------------- /v1


def api_routes() -> list[Route]:
    return [r for r in all_routes() if r.is_api and r.name not in PUBLIC]


def test_api_anonymous_is_401_and_people_without_admin_role_403(world, accounts):
    mine, _ = world
    anonymous, person = Api(None), Api(accounts["person"])
    for route in api_routes():
        path = api_path(route, mine)
        for method in api_methods(route):
            assert getattr(anonymous, method)(path, {} if method != "get" else None).status_code == 401, \
                (method, path)
            answer = getattr(person, method)(path, {} if method != "get" else None)
            expected = 200 if (route.name, method) == ("api-people-me", "get") else 403
            assert answer.status_code == expected, (method, path, answer.status_code)


def test_api_another_organisations_objects_are_404(world, accounts):
    _, theirs = world
    api = Api(accounts[Role.FULL_ADMIN])
    events = AuditEvent.objects.count()
    checked = 0
    for route in api_routes():
        if not route.pattern.pattern.converters or set(route.pattern.pattern.converters) == {"action"}:
            continue
        path = api_path(route, theirs)
        for method in api_methods(route):
            answer = getattr(api, method)(path, {} if method != "get" else None)
            assert answer.status_code == 404, (method, path, answer.status_code, answer.content[:200])
            checked += 1
    assert checked >= 25
    assert AuditEvent.objects.count() == events


def test_api_read_only_admin_reads_everything_and_writes_nothing(world, accounts):
    mine, _ = world
    api = Api(accounts[Role.READ_ONLY_ADMIN])
    events = AuditEvent.objects.count()
    wrong = []
    for route in api_routes():
        path = api_path(route, mine)
        for method in api_methods(route):
            answer = getattr(api, method)(path, {} if method != "get" else None)
            expected = (200, 404) if route.name == "api-people-csv-job-errors" else (200,)   # no error report yet
            if method == "get" and answer.status_code not in expected:
                wrong.append((method, path, answer.status_code, answer.content[:200]))
            if method != "get" and answer.status_code != 403:
                wrong.append((method, path, answer.status_code, answer.content[:200]))
    assert not wrong, wrong
    assert AuditEvent.objects.count() == events


@pytest.mark.parametrize("role", (Role.USER_DEVICE_ADMIN, Role.LOCATION_ADMIN))
def test_api_scoped_admins_read_their_objects(role, world, accounts):
    mine, _ = world
    api = Api(accounts[role])
    for route in api_routes():
        if "get" not in api_methods(route) or route.name == "api-people-csv-job-errors":
            continue
        path = api_path(route, mine)
        answer = api.get(path)
        assert answer.status_code == 200, (role, path, answer.status_code, answer.content[:200])
