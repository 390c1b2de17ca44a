"""Workspaces in the portal: add, edit, calling, delete; bad input re-rendered with nothing saved."""
import pytest

from calling.models import Line
from tests.conftest import free_number, org_location
from tests.integration.portal_support import audit_count, client_for, errors_of, make_device, make_workspace
from users.models import Workspace

pytestmark = pytest.mark.django_db


def test_add_edit_delete_workspace(org, full_admin):
    client = client_for(full_admin)
    hq = org_location(org, "HQ")
    response = client.post("/workspaces/add/", {"display_name": "Lobby", "location": hq.pk, "capacity": "4",
                                                "type": "open"})
    workspace = Workspace.objects.get(organization=org, display_name="Lobby")
    assert response.status_code == 302 and workspace.capacity == 4
    response = client.post(f"/workspaces/{workspace.pk}/edit/", {"display_name": "Front desk", "location": hq.pk,
                                                                 "capacity": "", "type": "desk"})
    assert response.status_code == 302
    workspace.refresh_from_db()
    assert workspace.display_name == "Front desk" and workspace.capacity is None
    assert "Front desk" in client.get("/workspaces/").content.decode()
    assert client.get(f"/workspaces/{workspace.pk}/delete/").status_code == 200
    assert client.post(f"/workspaces/{workspace.pk}/delete/").status_code == 302
    assert not Workspace.objects.filter(pk=workspace.pk).exists()


@pytest.mark.parametrize("change, field, message", [
    ({"display_name": ""}, "display_name", "This field is required."),
    ({"display_name": "lobby"}, "display_name", "A workspace with this name already exists."),
    ({"location": ""}, "location", "This field is required."),
    ({"capacity": "-1"}, "capacity", "greater than or equal to 0"),
    ({"capacity": "many"}, "capacity", "Enter a whole number."),
    ({"type": "castle"}, "type", "Select a valid choice."),
])
def test_bad_workspace_input(org, full_admin, change, field, message):
    make_workspace(org, "Lobby")
    before = (Workspace.objects.count(), audit_count())
    data = {"display_name": "Room 1", "location": org_location(org, "HQ").pk, "capacity": "", "type": "notSet"}
    response = client_for(full_admin).post("/workspaces/add/", {**data, **change})
    assert response.status_code == 200
    assert any(message in str(e) for e in errors_of(response, field)), response.context["form"].errors
    assert (Workspace.objects.count(), audit_count()) == before


def test_workspace_calling(org, full_admin):
    workspace = make_workspace(org, "Lobby")
    client = client_for(full_admin)
    number = free_number(org_location(org, "HQ"))
    response = client.post(f"/workspaces/{workspace.pk}/calling/", {
        "location": org_location(org, "HQ").pk, "phone_number": number, "extension": "1900"})
    assert response.status_code == 302
    line = Line.objects.get(workspace=workspace)
    assert line.number.e164 == number and line.extension == "1900"
    response = client.post(f"/workspaces/{workspace.pk}/calling/", {"phone_number": "", "extension": "x"})
    assert "not an extension" in str(errors_of(response, "extension"))
    assert Line.objects.get(workspace=workspace).extension == "1900"
    assert client.post(f"/workspaces/{workspace.pk}/calling/remove/").status_code == 302
    assert not Line.objects.filter(workspace=workspace).exists()


def test_workspace_with_phone_cannot_be_deleted(org, full_admin):
    workspace = make_workspace(org, "Lobby", extension="1900")
    make_device(org, workspace, model="DMS Cisco 7832")
    response = client_for(full_admin).post(f"/workspaces/{workspace.pk}/delete/")
    assert response.status_code == 200 and "still has phones" in response.context["error"]
    assert Workspace.objects.filter(pk=workspace.pk).exists()
