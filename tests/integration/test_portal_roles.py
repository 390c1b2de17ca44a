"""Roles in the portal: another organisation's objects are 404 (GET and POST), read-only admins get 403 on every
POST and see no edit buttons, location admins see only their locations' objects."""
import pytest

from calling.models import Number
from controlhub.models import AuditEvent
from controlhub.roles import Role
from tests.conftest import licence, org_location
from tests.integration.portal_support import client_for, make_device, make_workspace
from users.models import Person

pytestmark = pytest.mark.django_db


def objects_of(org, make_calling_person, ext="1001"):
    person = make_calling_person(org, ext, with_number=True)
    workspace = make_workspace(org, f"Lobby {ext}", extension=str(int(ext) + 800))
    return {"person": person, "workspace": workspace, "device": make_device(org, person),
            "location": org_location(org, "HQ")}


def object_urls(objs) -> list[str]:
    p, w, d, loc = objs["person"].pk, objs["workspace"].pk, objs["device"].pk, objs["location"].pk
    return [f"/locations/{loc}/", f"/locations/{loc}/edit/", f"/locations/{loc}/delete/",
            f"/users/{p}/", f"/users/{p}/edit/", f"/users/{p}/services/", f"/users/{p}/calling/",
            f"/users/{p}/calling/remove/", f"/users/{p}/delete/",
            f"/workspaces/{w}/", f"/workspaces/{w}/edit/", f"/workspaces/{w}/calling/",
            f"/workspaces/{w}/calling/remove/", f"/workspaces/{w}/delete/",
            f"/devices/{d}/", f"/devices/{d}/lines/", f"/devices/{d}/delete/"]


def test_another_orgs_objects_are_404_on_get_and_post(org, other_org, full_admin, make_calling_person):
    theirs = objects_of(other_org, make_calling_person)
    client = client_for(full_admin)
    events = AuditEvent.objects.count()
    for url in object_urls(theirs):
        assert client.get(url).status_code == 404, url
        # View-only pages refuse every POST (405) before looking anything up; the rest are 404.
        expected = 405 if url in view_only_urls(theirs) else 404
        assert client.post(url, {"email": "x@example.com", "extension": "1"}).status_code == expected, url
    assert AuditEvent.objects.count() == events
    assert Person.objects.filter(pk=theirs["person"].pk).exists()


def test_another_orgs_numbers_cannot_be_changed(org, other_org, full_admin):
    theirs = Number.objects.filter(organization=other_org)[:2]
    client = client_for(full_admin)
    for action in ("deactivate", "remove", "main"):
        client.post("/numbers/bulk/", {"numbers": [n.pk for n in theirs], "action": action, "confirm": "yes"})
    assert Number.objects.filter(organization=other_org).count() == 20
    assert set(Number.objects.filter(organization=other_org).values_list("state", flat=True)) == {"ACTIVE"}
    page = client.get("/numbers/", {"location": org_location(other_org, "HQ").pk})
    assert all(n.organization_id == org.pk for n in page.context["page"].items)


def view_only_urls(objs) -> set[str]:
    return {f"/locations/{objs['location'].pk}/", f"/users/{objs['person'].pk}/",
            f"/workspaces/{objs['workspace'].pk}/", f"/devices/{objs['device'].pk}/"}


def post_urls(objs, org) -> dict[str, dict]:
    urls = {url: {} for url in object_urls(objs) if url not in view_only_urls(objs)}
    urls.update({"/locations/add/": {"name": "X"}, "/users/add/": {"email": "x@example.com"},
                 "/workspaces/add/": {"display_name": "X"}, "/devices/add/": {"mac": "00:1a:2b:3c:4d:5e"},
                 "/numbers/add/": {"start": "+12125557000"},
                 "/numbers/bulk/": {"numbers": [n.pk for n in Number.objects.filter(organization=org)[:2]],
                                    "action": "deactivate"}})
    return urls


def test_read_only_admin_gets_403_on_every_post_and_sees_no_edit_buttons(org, make_admin, make_calling_person):
    objs = objects_of(org, make_calling_person)
    reader = make_admin(Role.READ_ONLY_ADMIN, org=org)
    client = client_for(reader)
    events = AuditEvent.objects.count()
    for url, data in post_urls(objs, org).items():
        assert client.post(url, data).status_code == 403, url
    assert AuditEvent.objects.count() == events
    for url in ("/users/", f"/users/{objs['person'].pk}/", f"/locations/{objs['location'].pk}/",
                f"/devices/{objs['device'].pk}/", "/numbers/", "/locations/", "/workspaces/", "/devices/"):
        page = client.get(url)
        assert page.status_code == 200, url
        content = page.content.decode()
        assert "/edit/" not in content and "/delete/" not in content and "/add/" not in content, url
        assert 'name="numbers"' not in content
    assert client.get(f"/users/{objs['person'].pk}/edit/").status_code == 403
    assert client.get("/users/add/").status_code == 403


def test_user_and_device_admin_may_edit_people_but_not_locations(org, make_admin, make_calling_person):
    objs = objects_of(org, make_calling_person)
    admin = make_admin(Role.USER_DEVICE_ADMIN, org=org)
    client = client_for(admin)
    assert client.get(f"/users/{objs['person'].pk}/edit/").status_code == 200
    assert client.post(f"/locations/{objs['location'].pk}/edit/", {}).status_code == 403
    assert client.post("/numbers/add/", {}).status_code == 403


def test_location_admin_sees_only_its_locations_objects(org, make_admin, make_calling_person):
    hq_objs = objects_of(org, make_calling_person)
    branch_person = make_calling_person(org, "2001", location_name="Branch")
    branch_device = make_device(org, branch_person)
    admin = make_admin(Role.LOCATION_ADMIN, org=org, locations=[org_location(org, "HQ")])
    client = client_for(admin)
    users = client.get("/users/").context["page"].items
    assert hq_objs["person"] in users and branch_person not in users
    assert {n.location.name for n in client.get("/numbers/").context["page"].items} == {"HQ"}
    assert [loc.name for loc in client.get("/locations/").context["locations"]] == ["HQ"]
    assert client.get(f"/users/{branch_person.pk}/").status_code == 404
    assert client.get(f"/devices/{branch_device.pk}/").status_code == 404
    assert client.get(f"/locations/{org_location(org, 'Branch').pk}/").status_code == 404
    assert client.get(f"/users/{hq_objs['person'].pk}/edit/").status_code == 200
    # Locations are created and deleted organisation-wide only.
    assert client.get("/locations/add/").status_code == 403
    assert client.post(f"/locations/{org_location(org, 'HQ').pk}/delete/").status_code == 403
    # May not place a new user in a location it does not administer.
    response = client.post("/users/add/", {"email": "n@example.com", "status": "active",
                                           "location": org_location(org, "Branch").pk,
                                           "licenses": [licence(org).pk]})
    assert response.status_code == 200 and not Person.objects.filter(email="n@example.com").exists()
