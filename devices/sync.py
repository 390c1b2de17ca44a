"""What device-related changes mean for the provisioning server, and the provisioning server as a push target.

Its unit of pushing is one phone's file, keyed by organisation key and MAC (not by row id), so a deleted
device's file can still be removed after its row is gone.
"""
import logging
from collections import defaultdict

from calling.models import Line
from calling.sync import engine_key
from controlhub.models import Location, Organization
from controlhub.sync import PROVISIONING, NotConfigured, Pusher, PushFailed, TargetKey, register_keys, register_pusher
from users.models import Person, Workspace

from .models import Device, DeviceLine

log = logging.getLogger(__name__)


def phone_file_key(provisioning_key: str, mac: str, organization_id) -> TargetKey:
    return TargetKey(PROVISIONING, f"device:{provisioning_key}/{mac}", organization_id)


def _device(devices: list[Device]) -> list[list[TargetKey]]:
    # Its file, and the engine (its appearances' digest credentials live there).
    keys = dict(Organization.objects.filter(pk__in={d.organization_id for d in devices})
                .values_list("pk", "provisioning_key"))
    return [[phone_file_key(keys[d.organization_id], d.mac, d.organization_id), engine_key(d.organization_id)]
            for d in devices]


def _files_by(group_field: str, **condition) -> dict:
    """group value -> phone file keys of the devices matching `condition`, in one query."""
    found: dict = defaultdict(set)
    rows = (DeviceLine.objects.filter(**condition)
            .values_list(group_field, "device__organization__provisioning_key", "device__mac",
                         "device__organization_id"))
    for group, org_key, mac, org_id in rows:
        found[group].add(phone_file_key(org_key, mac, org_id))
    return found


def _devices_showing_line(lines: list[Line]) -> list[set[TargetKey]]:
    found = _files_by("line_id", line__in=[line.pk for line in lines])
    return [found.get(line.pk, set()) for line in lines]


def _devices_of_owner(owners: list) -> list[set[TargetKey]]:
    # a display name or a deletion shows on every phone carrying the owner's line, shared appearances included
    field = "person" if isinstance(owners[0], Person) else "workspace"
    found = _files_by(f"line__{field}_id", **{f"line__{field}__in": [o.pk for o in owners]})
    return [found.get(o.pk, set()) for o in owners]


def _devices_in_location(locations: list[Location]) -> list[set[TargetKey]]:
    # time zone and dial plan settings are in every phone file of the location
    found: dict = defaultdict(set)
    rows = (Device.objects.filter(location__in=[loc.pk for loc in locations])
            .values_list("location_id", "organization__provisioning_key", "mac", "organization_id"))
    for location_id, org_key, mac, org_id in rows:
        found[location_id].add(phone_file_key(org_key, mac, org_id))
    return [found.get(loc.pk, set()) for loc in locations]


class ProvisioningPusher(Pusher):
    target = PROVISIONING

    def push(self, key: str) -> None:
        try:
            from .provisioning import client
        except ImportError:
            raise NotConfigured("Provisioning server client not available.") from None
        org_key, mac = key.split(":", 1)[1].split("/", 1)
        device = (Device.objects.select_related("organization", "model")
                  .filter(organization__provisioning_key=org_key, mac=mac).first())
        try:
            if device is None:
                client.remove_device(org_key, mac)
                return
            result = client.push_device(device)
        except client.ProvisioningNotConfigured as exc:
            raise NotConfigured(str(exc)) from None
        except client.ProvisioningUnavailable as exc:
            raise PushFailed(str(exc)) from None
        if result.changed:
            tell_phone_to_resync(device)


def tell_phone_to_resync(device: Device) -> int:
    """SIP NOTIFY check-sync to the registrations of the phone's own line, so a new file is fetched now rather
    than at the next periodic resync. Best effort: the file has landed either way (phones resync hourly)."""
    from calling.engine import EngineError, get_engine

    appearance = device.lines.select_related("line").order_by("port").first()
    if appearance is None:
        return 0
    try:
        return get_engine().check_sync(appearance.line.sip_user, device.organization.sip_domain)
    except EngineError as exc:
        log.warning("check-sync NOTIFY for %s not sent: %s", device.mac, exc.message)
        return 0


def register() -> None:
    register_keys(Device, _device)
    register_keys(Line, _devices_showing_line)
    register_keys(Person, _devices_of_owner)
    register_keys(Workspace, _devices_of_owner)
    register_keys(Location, _devices_in_location)
    register_pusher(ProvisioningPusher())
