"""Every portal page renders for a full admin; sign-in, non-admins, the language switch and the org switcher."""
import pytest
from django.test import Client

from controlhub.models import Account
from controlhub.roles import Role
from tests.conftest import org_location
from tests.integration.portal_support import client_for, make_device, make_workspace
from users.models import License, LicenseKind

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(org, full_admin, make_calling_person):
    person = make_calling_person(org, "1001", with_number=True)
    workspace = make_workspace(org, extension="1900")
    device = make_device(org, person)
    return {"person": person, "workspace": workspace, "device": device, "location": org_location(org, "HQ")}


def page_urls(world) -> list[str]:
    p, w, d, loc = world["person"].pk, world["workspace"].pk, world["device"].pk, world["location"].pk
    return [
        "/", "/locations/", "/locations/add/", f"/locations/{loc}/", f"/locations/{loc}/edit/",
        f"/locations/{loc}/delete/", "/audit/", "/users/", "/users/add/", f"/users/{p}/", f"/users/{p}/edit/",
        f"/users/{p}/services/", f"/users/{p}/calling/", f"/users/{p}/calling/remove/", f"/users/{p}/delete/",
        "/workspaces/", "/workspaces/add/", f"/workspaces/{w}/", f"/workspaces/{w}/edit/", f"/workspaces/{w}/calling/",
        f"/workspaces/{w}/calling/remove/", f"/workspaces/{w}/delete/", "/numbers/", "/numbers/add/",
        f"/numbers/free/?location={loc}", "/devices/", "/devices/add/", f"/devices/{d}/", f"/devices/{d}/lines/",
        f"/devices/{d}/delete/",
    ]


def test_every_page_renders_for_a_full_admin(world, full_admin):
    client = client_for(full_admin)
    for url in page_urls(world):
        response = client.get(url)
        assert response.status_code == 200, url


def test_pages_require_sign_in(world):
    client = Client()
    for url in page_urls(world):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/"), url


def test_sign_in_page_is_styled_and_signs_in(full_admin):
    client = Client()
    page = client.get("/accounts/login/")
    assert page.status_code == 200
    assert b"portal.css" in page.content and b'name="login"' in page.content
    response = client.post("/accounts/login/", {"login": full_admin.email, "password": "correct-horse-battery"})
    assert response.status_code == 302
    assert client.get("/").status_code == 200


def test_wrong_password_shows_an_error(full_admin):
    response = Client().post("/accounts/login/", {"login": full_admin.email, "password": "wrong"})
    assert response.status_code == 200
    assert response.context["form"].errors


def test_a_person_without_admin_role_gets_the_plain_page(org, make_calling_person):
    person = make_calling_person(org, "1500")
    account = Account.objects.create_user("plain@example.com", "correct-horse-battery")
    person.account = account
    person.save()
    client = client_for(account)
    response = client.get("/")
    assert response.status_code == 403
    assert b"admin portal is for administrators" in response.content
    assert client.get("/users/").status_code == 403
    assert client.get(f"/users/{person.pk}/").status_code == 403


def test_values_that_are_not_ids_are_404_not_500(world, full_admin):
    client = client_for(full_admin)
    assert client.get("/users/not-a-uuid/").status_code == 404
    assert client.get("/users/?page=abc&location=zzz&service=nope&status=x&calling=maybe&sort=bogus").status_code == 200
    assert client.get("/numbers/?page=-5&location=zzz&state=X&assigned=q").status_code == 200
    assert client.get("/audit/?since=notadate&action=NOPE&page=999999999").status_code == 200
    assert client.get("/devices/?model=zz&status=zz&q=%00").status_code == 200
    assert client.get("/numbers/free/?location=zzz").status_code == 200
    assert client.get("/devices/add/?person=zzz").status_code == 200


def test_swedish_by_cookie_and_by_accept_language(world, full_admin):
    client = client_for(full_admin)
    client.cookies["django_language"] = "sv"
    page = client.get("/users/")
    assert "Användare" in page.content.decode() and 'lang="sv"' in page.content.decode()
    other = client_for(full_admin)
    page = other.get("/locations/", HTTP_ACCEPT_LANGUAGE="sv")
    assert "Platser" in page.content.decode()
    assert "Platser" not in client_for(full_admin).get("/locations/").content.decode()


def test_language_switcher_sets_the_language(full_admin):
    client = client_for(full_admin)
    response = client.post("/i18n/setlang/", {"language": "sv", "next": "/"})
    assert response.status_code == 302
    assert "Översikt" in client.get("/").content.decode()


def test_nav_shows_only_areas_the_role_may_view(org, make_admin):
    location_admin = make_admin(Role.LOCATION_ADMIN, org=org, locations=[org_location(org, "HQ")])
    content = client_for(location_admin).get("/").content.decode()
    assert 'href="/users/"' in content and 'href="/audit/"' not in content
    assert client_for(location_admin).get("/audit/").status_code == 403
    full = client_for(make_admin(Role.FULL_ADMIN, org=org)).get("/").content.decode()
    assert 'href="/audit/"' in full


def test_partner_admin_switches_between_its_customers(make_org, make_admin, partner, make_calling_person):
    acme, globex = make_org("Acme"), make_org("Globex")
    stranger = make_org("Stranger", partner_=None)
    person = make_calling_person(globex, "1234")
    admin = make_admin(Role.PARTNER_FULL_ADMIN, partner=partner)
    client = client_for(admin)
    page = client.get("/").content.decode()
    assert 'id="org-switch"' in page and "Globex" in page and "Stranger" not in page
    assert client.get(f"/users/{person.pk}/").status_code in (200, 404)
    response = client.post("/organization/switch/", {"org": str(globex.pk), "next": f"/users/{person.pk}/"})
    assert response.status_code == 302 and response["Location"] == "/users/"
    assert client.get(f"/users/{person.pk}/").status_code == 200
    assert "Globex" in client.get("/").context["current_org"].display_name
    # An organisation the partner does not manage is refused and the current choice stays.
    client.post("/organization/switch/", {"org": str(stranger.pk)})
    assert client.get("/").context["current_org"].pk == globex.pk
    client.post("/organization/switch/", {"org": "garbage"})
    assert client.get("/").context["current_org"].pk == globex.pk
    assert acme.pk != globex.pk


def test_a_forged_session_org_falls_back_to_home(org, other_org, full_admin):
    client = client_for(full_admin)
    session = client.session
    session["portal_organization"] = str(other_org.pk)
    session.save()
    assert client.get("/").context["current_org"].pk == org.pk
    session = client.session
    session["portal_organization"] = "not-a-uuid"
    session.save()
    assert client.get("/").status_code == 200


def test_customer_admin_sees_no_switcher(full_admin):
    assert 'id="org-switch"' not in client_for(full_admin).get("/").content.decode()


def test_overview_counts_the_units_in_use_as_the_licence_api_does(world, full_admin):
    """Users holding each licence, and workspaces with calling for Webex Calling - Workspaces: one definition
    (`License.objects.with_usage()`) for the overview and /v1/licenses."""
    shown = {lic.kind: lic.consumed for lic in client_for(full_admin).get("/").context["licenses"]}
    org = world["person"].organization
    assert shown[LicenseKind.CALLING_PROFESSIONAL] == 1  # the world's calling person
    assert shown[LicenseKind.CALLING_WORKSPACES] == 1    # the world's workspace with calling
    assert shown == {lic.kind: lic.consumed for lic in License.objects.filter(organization=org).with_usage()}
