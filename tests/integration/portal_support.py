"""Helpers shared by the portal tests (test_portal_*.py): logged-in clients and small builders."""
import itertools

from django.test import Client

from calling.actions import assign_calling
from controlhub.models import AuditEvent
from devices.actions import create_device
from tests.conftest import SYSTEM, free_number, org_location
from users.actions import create_workspace

_mac = itertools.count(0x10)


def client_for(account) -> Client:
    client = Client()
    client.force_login(account)
    return client


def next_mac() -> str:
    return f"00:56:2b:aa:{next(_mac) // 256:02x}:{next(_mac) % 256:02x}"


def make_workspace(org, name="Lobby", location_name="HQ", extension=None):
    workspace = create_workspace(SYSTEM, org, display_name=name, location=org_location(org, location_name))
    if extension:
        assign_calling(SYSTEM, workspace, location=workspace.location, extension=extension, phone_number=None)
    return workspace


def make_device(org, owner, model="DMS Cisco 8851"):
    return create_device(SYSTEM, org, mac=next_mac(), model=model, owner=owner)


def audit_count() -> int:
    return AuditEvent.objects.count()


def errors_of(response, field: str) -> list[str]:
    """The errors a re-rendered form shows next to `field` (or the non-field errors for None)."""
    form = response.context["form"]
    return form.non_field_errors() if field is None else form.errors.get(field, [])


__all__ = ["client_for", "free_number", "make_device", "make_workspace", "next_mac", "audit_count", "errors_of"]
