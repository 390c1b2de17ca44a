"""Writes to devices and their line appearances: validate, save, audit — one path for portal, API and CSV."""
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from calling.models import Line
from controlhub.actions import Actor, record_change, same_org
from controlhub.models import AuditAction, Organization
from users.models import Person, Workspace

from .models import Device, DeviceLine, DeviceStatus, LineType, SupportedDevice, new_secret
from .validators import normalize_mac


def find_model(name: str) -> SupportedDevice:
    """Accept Webex's model name ("DMS Cisco 8851"), the display name ("Cisco 8851") or the product code."""
    text = (name or "").strip()
    found = SupportedDevice.objects.filter(model__iexact=text).first() \
        or SupportedDevice.objects.filter(display_name__iexact=text).first() \
        or SupportedDevice.objects.filter(product_code=text.removeprefix("CP-").removesuffix("-3PCC")).first()
    if found is None:
        raise ValidationError({"model": _("“%(model)s” is not a supported phone model.") % {"model": text}})
    return found


@dataclass
class MacStatus:
    mac: str
    state: str            # AVAILABLE | UNAVAILABLE | DUPLICATE_IN_LIST | INVALID (Webex validateMacs states)
    message: str = ""


def validate_macs(macs: list[str]) -> list[MacStatus]:
    """Check a list of MACs before adding phones: format, duplicates in the list, already in use anywhere."""
    statuses: list[MacStatus] = []
    seen: set[str] = set()
    normalised: dict[int, str] = {}
    for i, raw in enumerate(macs):
        try:
            mac = normalize_mac(raw)
        except ValidationError as exc:
            statuses.append(MacStatus(str(raw), "INVALID", exc.messages[0]))
            continue
        if mac in seen:
            statuses.append(MacStatus(mac, "DUPLICATE_IN_LIST", _("listed more than once")))
            continue
        seen.add(mac)
        normalised[i] = mac
        statuses.append(MacStatus(mac, "AVAILABLE"))
    taken = set(Device.objects.filter(mac__in=seen).values_list("mac", flat=True))
    for status in statuses:
        if status.state == "AVAILABLE" and status.mac in taken:
            status.state, status.message = "UNAVAILABLE", _("already added as a device")
    return statuses


def _owner_line(owner: Person | Workspace) -> Line:
    line = getattr(owner, "line", None)
    if line is None:
        who = "personId" if isinstance(owner, Person) else "workspaceId"
        raise ValidationError({who: _("%(name)s has no calling (number or extension); set up calling before adding "
                                      "a phone.") % {"name": owner}})
    return line


@transaction.atomic
def create_device(actor: Actor, organization: Organization, *, mac: str, model: str | SupportedDevice,
                  owner: Person | Workspace) -> Device:
    """Add a desk phone by MAC for a person or workspace; its first port carries the owner's line."""
    actor.require(Device, "create")
    errors = {}
    try:
        mac = normalize_mac(mac)
    except ValidationError as exc:
        errors["mac"] = exc.messages[0]
    else:
        if Device.objects.filter(mac=mac).exists():
            errors["mac"] = _("A device with MAC %(mac)s already exists.") % {"mac": mac.upper()}
    try:
        supported = model if isinstance(model, SupportedDevice) else find_model(model)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)
    same_org(organization, "personId" if isinstance(owner, Person) else "workspaceId", owner)
    actor.require(type(owner), "view", owner)
    line = _owner_line(owner)
    device = Device(organization=organization, mac=mac, model=supported, location=line.location,
                    **{"person" if isinstance(owner, Person) else "workspace": owner})
    device.save()
    actor.require(Device, "create", device)  # its location (the owner's line's) must be in the actor's scope
    DeviceLine.objects.create(device=device, line=line, port=1, line_type=LineType.PRIMARY)
    record_change(actor, AuditAction.CREATE, device, None)
    return device


@transaction.atomic
def delete_device(actor: Actor, device: Device) -> None:
    actor.require(Device, "delete", device)
    record_change(actor, AuditAction.DELETE, device, device.audit_snapshot())
    device.delete()


@dataclass
class Member:
    line: Line
    port: int
    line_type: str = LineType.SHARED_CALL_APPEARANCE
    line_label: str = ""


@transaction.atomic
def set_device_members(actor: Actor, device: Device, members: list[Member]) -> list[DeviceLine]:
    """Replace the device's line appearances. The owner's line stays on it; ports fit the model.

    An appearance that stays (same line) keeps its credentials, so unchanged phones need no re-registration.
    """
    actor.require(Device, "change", device)
    owner_line = _owner_line(device.owner)
    errors: list[str] = []
    ports = [m.port for m in members]
    max_ports = device.model.line_ports
    existing = {a.line_id: a for a in device.lines.all()}
    # Adding a line hands out credentials that register as it: only lines the actor can see (a location admin's
    # own locations). Appearances already on the device may stay.
    visible = set(existing)
    if actor.account is not None:
        visible |= set(Line.objects.restrict(actor.account).filter(pk__in=[m.line.pk for m in members])
                       .values_list("pk", flat=True))
    if len(members) > max_ports:
        errors.append(_("A %(model)s has %(n)s line ports; %(count)s lines were given.")
                      % {"model": device.model.display_name, "n": max_ports, "count": len(members)})
    for m in members:
        if not 1 <= m.port <= max_ports:
            errors.append(_("Port %(port)s does not exist on a %(model)s (ports 1–%(n)s).")
                          % {"port": m.port, "model": device.model.display_name, "n": max_ports})
        if m.line.organization_id != device.organization_id:
            errors.append(_("A line of another organization cannot be added."))
        elif actor.account is not None and m.line.pk not in visible:
            errors.append(_("%(line)s is outside the locations you administer.") % {"line": m.line.owner})
        if m.line_type not in LineType.values:
            errors.append(_("Line type must be PRIMARY or SHARED_CALL_APPEARANCE."))
    if len(set(ports)) != len(ports):
        errors.append(_("Each port can carry one line only."))
    lines = [m.line.pk for m in members]
    if len(set(lines)) != len(lines):
        errors.append(_("A line can appear only once on a device."))
    if owner_line.pk not in lines:
        errors.append(_("The owner's own line (%(owner)s) must stay on the device.") % {"owner": device.owner})
    if errors:
        raise ValidationError({"members": errors})
    before = {"members": [f"{a.port}:{a.line_id}" for a in existing.values()]}
    keep = {m.line.pk for m in members}
    device.lines.exclude(line_id__in=keep).delete()
    # Two passes so swapping ports between kept appearances never trips the (device, port) unique constraint.
    for offset, appearance in enumerate(a for lid, a in existing.items() if lid in keep):
        appearance.port = 1000 + offset
        appearance.save(update_fields=["port"])
    result = []
    for m in members:
        line_type = LineType.PRIMARY if m.line.pk == owner_line.pk else m.line_type
        appearance = existing.get(m.line.pk) or DeviceLine(device=device, line=m.line)
        appearance.port, appearance.line_type, appearance.line_label = m.port, line_type, m.line_label
        appearance.save()
        result.append(appearance)
    after = {"members": [f"{a.port}:{a.line_id}" for a in result]}
    if before != after:
        record_change(actor, AuditAction.UPDATE, device, before, after=after)
    return result


@transaction.atomic
def reset_first_contact(actor: Actor, device: Device) -> Device:
    """Let the phone fetch its file once more without HTTP auth (it was factory reset or replaced, so it no
    longer knows its credentials). Its HTTP password is renewed at the same time: a copy of the old file or a
    phone that was taken away can no longer fetch anything; the next file carries the new password."""
    actor.require(Device, "change", device)
    before = {"first_contact": "done" if device.first_seen else "open"}
    device.first_contact_token = new_secret()
    device.provisioning_password = new_secret()
    device.first_seen = None
    device.status = DeviceStatus.PENDING
    device.save(update_fields=["first_contact_token", "provisioning_password", "first_seen", "status", "updated"])
    record_change(actor, AuditAction.UPDATE, device, before, after={"first_contact": "reset"})
    return device
