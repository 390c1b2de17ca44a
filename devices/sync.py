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


def _parse_key(key: str) -> tuple[str, str]:
    org_key, mac = key.split(":", 1)[1].split("/", 1)
    return org_key, mac


class ProvisioningPusher(Pusher):
    """Phone files, a batch at a time: render the batch with constant queries, one bulk request to the server
    (device files, one bootstrap file per model, removals), then check-sync NOTIFYs for the changed ones."""

    target = PROVISIONING

    def push(self, key: str) -> None:
        outcome = self.push_batch([key])[key]
        if outcome is not None:
            raise outcome

    def push_batch(self, keys: list[str]) -> dict[str, Exception | None]:
        try:
            from .provisioning import client
            from .provisioning.mpp import with_render_relations
        except ImportError:
            return {key: NotConfigured("Provisioning server client not available.") for key in keys}
        wanted = {_parse_key(key): key for key in keys}
        # MAC is unique across organisations: one query (plus one for the lines) for the whole batch. A device
        # found under another organisation's key moved: that key's file is removed.
        found = {}
        for device in with_render_relations(Device.objects.filter(mac__in={mac for _, mac in wanted})):
            if (device.organization.provisioning_key, device.mac) in wanted:
                found[(device.organization.provisioning_key, device.mac)] = device
        removed = [pair for pair in wanted if pair not in found]
        try:
            result = client.push_devices(list(found.values()), removed)
        except client.ProvisioningNotConfigured as exc:
            return {key: NotConfigured(str(exc)) for key in keys}
        except client.ProvisioningUnavailable as exc:
            return {key: PushFailed(str(exc)) for key in keys}
        outcomes: dict[str, Exception | None] = {}
        changed: list[Device] = []
        for pair, device in found.items():
            answer = result.devices.get(device.pk)
            if isinstance(answer, client.ProvisioningError):
                outcomes[wanted[pair]] = PushFailed(str(answer))
            elif isinstance(answer, Exception):
                outcomes[wanted[pair]] = answer   # a render bug: push_now records it against this key alone
            else:
                outcomes[wanted[pair]] = None
                if answer is not None and answer.changed:
                    changed.append(device)
        for pair in removed:
            answer = result.removed.get(pair)
            outcomes[wanted[pair]] = PushFailed(str(answer)) if isinstance(answer, Exception) else None
        tell_phones_to_resync(changed)
        return outcomes


def tell_phones_to_resync(devices: list[Device]) -> int:
    """SIP NOTIFY check-sync to the registrations of each phone's own line (its first port), so a new file is
    fetched now rather than at the next periodic resync. Best effort: the files have landed either way (phones
    resync hourly). The lines come from the batch's prefetch (`with_render_relations`); the engine looks the
    registrations of the whole batch up at once and notifies only phones that are registered."""
    from calling.engine import EngineError, get_engine

    lines = []
    for device in devices:
        appearance = min(device.lines.all(), key=lambda a: a.port, default=None)
        if appearance is not None:
            lines.append((appearance.line.sip_user, device.organization.sip_domain))
    engine = get_engine()
    if not lines or not engine.configured:
        return 0
    try:
        return engine.check_sync_many(lines)
    except EngineError as exc:
        log.warning("check-sync NOTIFY for %d phones not sent: %s", len(lines), exc.message)
        return 0


def register() -> None:
    register_keys(Device, _device)
    register_keys(Line, _devices_showing_line)
    register_keys(Person, _devices_of_owner)
    register_keys(Workspace, _devices_of_owner)
    register_keys(Location, _devices_in_location)
    register_pusher(ProvisioningPusher())
