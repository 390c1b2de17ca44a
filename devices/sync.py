"""What device-related changes mean for the provisioning server, and the provisioning server as a push target.

Its unit of pushing is one phone's file, keyed by organisation key and MAC (not by row id), so a deleted
device's file can still be removed after its row is gone.
"""
import logging

from calling.models import Line
from calling.sync import engine_key
from controlhub.models import Location
from controlhub.sync import PROVISIONING, NotConfigured, Pusher, PushFailed, TargetKey, register_keys, register_pusher
from users.models import Person, Workspace

from .models import Device

log = logging.getLogger(__name__)


def device_key(device: Device) -> TargetKey:
    return TargetKey(PROVISIONING, f"device:{device.organization.provisioning_key}/{device.mac}",
                     device.organization_id)


def _device(device: Device):
    # Its file, and the engine (its appearances' digest credentials live there).
    return [device_key(device), engine_key(device.organization_id)]


def _devices_showing_line(line: Line):
    devices = Device.objects.filter(lines__line=line).select_related("organization").distinct()
    return [device_key(d) for d in devices]


def _devices_of_owner(owner):
    line = getattr(owner, "line", None)
    return _devices_showing_line(line) if line is not None else []


def _devices_in_location(location: Location):
    # time zone and dial plan settings are in every phone file of the location
    return [device_key(d) for d in location.devices.select_related("organization")]


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
