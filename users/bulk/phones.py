"""Bulk phones CSV: `User ID/Email or Workspace`, `Model`, `MAC Address`, `Location`, and optional line columns
`Line N User ID/Email or Workspace` / `Line N Label` (N = 2…16: another user's or workspace's line shared on port
N of the phone, and its label).

Validated in bulk (a few queries per file, MACs in any notation via `normalize_mac`, duplicates in the file and
against the database reported per row), then applied in the same atomic batches as the users CSV: devices and
their line appearances written set-based, one audit event and one provisioning push bump per device. The rules
are `devices.actions.create_device`'s and `set_device_members`'s: the owner needs calling, the phone sits in its
owner's location, a line appears once per phone, ports exist on the model, shared lines must be visible to the
administrator, and the phone's location must be in their scope.
"""
import uuid
from collections import defaultdict
from functools import cache

from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext as _

from calling.models import Line
from controlhub.actions import Actor, record_changes_bulk
from controlhub.bulkwrite import insert_rows, new_row_defaults
from controlhub.models import AuditAction, Location, Organization
from devices.models import Device, DeviceLine, LineType, SupportedDevice
from devices.validators import normalize_mac
from users.models import Person, Workspace

from . import columns as C
from .apply import _stubs, apply_batch_or_rows, snapshot
from .parse import EXTRA_CELLS, ROW_NUMBER, ParsedFile
from .validate import CREATE, ERROR, ORG_SCAN_ROWS, RowPlan, Validation, _chunks, rows_text

KIND = "devices.csv_import"
LABEL_MAX = DeviceLine._meta.get_field("line_label").max_length


def _model_index() -> dict[str, SupportedDevice]:
    """Every name a phone model goes by (as `devices.actions.find_model` accepts them), lower-cased."""
    index = {}
    for device in SupportedDevice.objects.all():
        for name in (device.model, device.display_name, device.product_code, f"CP-{device.product_code}-3PCC"):
            index[name.casefold()] = device
    return index


def _pretty_mac(mac: str) -> str:
    return ":".join(mac[j:j + 2] for j in range(0, 12, 2)).upper()


class _Owners:
    """The people and workspaces a file names (as owners or shared lines), their lines, and what the acting
    administrator may see — each read in bulk."""

    def __init__(self, org: Organization, account, names: set[str]):
        emails = sorted({n.lower() for n in names if "@" in n})
        people = Person.objects.filter(organization=org)
        fields = ("pk", "email", "display_name")
        self.people: dict[str, tuple] = {}
        if len(emails) > ORG_SCAN_ROWS:
            wanted = set(emails)
            for pk, email, display in people.values_list(*fields).iterator(chunk_size=10000):
                if email.lower() in wanted:
                    self.people[email.lower()] = (pk, display or email)
        else:
            for chunk in _chunks(emails):
                for pk, email, display in people.alias(e=Lower("email")).filter(e__in=chunk).values_list(*fields):
                    self.people[email.lower()] = (pk, display or email)
        self.spaces = {name.casefold(): (pk, name) for pk, name in Workspace.objects.filter(organization=org)
                       .values_list("pk", "display_name")}
        self.lines: dict = {}  # owner pk -> (line pk, location pk)
        lines = Line.objects.filter(organization=org)
        person_ids = [pk for pk, _name in self.people.values()]
        if len(person_ids) > ORG_SCAN_ROWS:
            rows = lines.filter(person__isnull=False).values_list("person_id", "pk", "location_id").iterator(
                chunk_size=10000)
        else:
            rows = (row for chunk in _chunks(person_ids) for row in lines.filter(person_id__in=chunk)
                    .values_list("person_id", "pk", "location_id"))
        for owner, pk, location_id in rows:
            self.lines[owner] = (pk, location_id)
        for owner, pk, location_id in lines.filter(workspace__isnull=False).values_list("workspace_id", "pk",
                                                                                          "location_id"):
            self.lines[owner] = (pk, location_id)
        # What a scoped administrator may use (None: everything in the organisation).
        self.visible_owners = self.visible_lines = self.locations = None
        if account is not None and not account.is_superuser:
            self.visible_owners = set(Person.objects.restrict(account).filter(organization=org)
                                      .values_list("pk", flat=True).iterator(chunk_size=10000))
            self.visible_owners |= set(Workspace.objects.restrict(account).filter(organization=org)
                                       .values_list("pk", flat=True))
            self.visible_lines = set(Line.objects.restrict(account).filter(organization=org)
                                     .values_list("pk", flat=True).iterator(chunk_size=10000))
            self.locations = set(Location.objects.restrict(account).filter(organization=org)
                                 .values_list("pk", flat=True))

    def find(self, name: str) -> tuple[str, object, str] | None:
        """(kind, pk, display name) of the person (by email) or workspace (by name) called `name`."""
        if "@" in name:
            found = self.people.get(name.lower())
            return ("person", *found) if found else None
        found = self.spaces.get(name.casefold())
        return ("workspace", *found) if found else None


def validate_phones(org: Organization, parsed: ParsedFile, mode: str = "", account=None) -> Validation:
    mapped, _services, problems = C.match_headers(parsed.headers, [], known_columns=C.PHONE_ALL_COLUMNS,
                                                  required=(C.PHONE_OWNER, C.PHONE_MODEL, C.PHONE_MAC))
    if problems:
        return Validation(problems, [])
    frame = parsed.frame
    labels = {column: f"{parsed.headers.index(header)}:{header}" for header, column in mapped.items()}

    def values(column: str) -> list[str]:
        return frame[labels[column]].tolist() if column in labels else [""] * len(frame)

    owners, models_, macs, locations = (values(c) for c in C.PHONE_COLUMNS)
    ports = [port for port in range(2, C.PHONE_MAX_PORT + 1)
             if C.phone_line_owner(port) in labels or C.phone_line_label(port) in labels]
    shared = {port: (values(C.phone_line_owner(port)), values(C.phone_line_label(port))) for port in ports}
    names = {o for o in owners if o} | {v for line_owners, _labels in shared.values() for v in line_owners if v}
    known = _Owners(org, account, names)
    location_names = dict(Location.objects.filter(organization=org).values_list("pk", "name"))
    model_index = _model_index()
    rows = frame[ROW_NUMBER].tolist()
    extras = frame[EXTRA_CELLS].tolist()
    normalised: dict[int, str] = {}
    plans = []
    for i, (owner, model, mac, location) in enumerate(zip(owners, models_, macs, locations, strict=True)):
        plan = RowPlan(row=int(rows[i]), email=owner, index=i)
        plans.append(plan)
        if extras[i]:
            plan.error(None, _("This row has more cells than the header has columns; check for an unquoted "
                               "separator."))
        try:
            normalised[i] = normalize_mac(mac)
        except ValidationError as exc:
            plan.error(C.PHONE_MAC, exc.messages[0])
        supported = model_index.get(model.casefold()) if model else None
        if supported is None:
            plan.error(C.PHONE_MODEL, _("“%(model)s” is not a supported phone model.") % {"model": model})
        target = known.find(owner) if owner else None
        line = None
        if not owner:
            plan.error(C.PHONE_OWNER, _("This column is required."))
        elif target is None or (known.visible_owners is not None and target[1] not in known.visible_owners):
            plan.error(C.PHONE_OWNER, _("No user or workspace “%(name)s” in this organization.") % {"name": owner})
        else:
            line = known.lines.get(target[1])
            if line is None:
                plan.error(C.PHONE_OWNER, _("%(name)s has no calling (number or extension); set up calling before "
                                            "adding a phone.") % {"name": owner})
            elif location and location.casefold() != location_names[line[1]].casefold():
                plan.error(C.PHONE_LOCATION, _("A phone is in its owner's location (%(location)s).")
                           % {"location": location_names[line[1]]})
            elif known.locations is not None and line[1] not in known.locations:
                plan.error(C.PHONE_LOCATION, _("You can only add phones in locations you administer."))
        members = []
        on_phone = {line[0]} if line else set()
        for port, (line_owners, line_labels) in shared.items():
            name, label = line_owners[i], line_labels[i]
            column = C.phone_line_owner(port)
            if not name:
                if label:
                    plan.error(C.phone_line_label(port), _("A label needs a line: fill in “%(column)s”.")
                               % {"column": column})
                continue
            if supported is not None and port > supported.line_ports:
                plan.error(column, _("A %(model)s has %(n)s line ports; there is no port %(port)s.")
                           % {"model": supported.display_name, "n": supported.line_ports, "port": port})
                continue
            if len(label) > LABEL_MAX:
                plan.error(C.phone_line_label(port), _("Ensure this value has at most %(n)s characters.")
                           % {"n": LABEL_MAX})
            shared_target = known.find(name)
            shared_line = known.lines.get(shared_target[1]) if shared_target else None
            if shared_target is None:
                plan.error(column, _("No user or workspace “%(name)s” in this organization.") % {"name": name})
            elif shared_line is None:
                plan.error(column, _("%(name)s has no calling (number or extension), so no line to share.")
                           % {"name": name})
            elif known.visible_lines is not None and shared_line[0] not in known.visible_lines:
                plan.error(column, _("%(name)s is outside the locations you administer.") % {"name": name})
            elif shared_line[0] in on_phone:
                plan.error(column, _("%(name)s's line is already on this phone; a line can appear only once on a "
                                     "device.") % {"name": name})
            else:
                on_phone.add(shared_line[0])
                members.append((port, shared_line[0], label))
        plan.fields = {"owner": target[0] if target else None, "model": supported.pk if supported else None}
        if target is not None and line is not None and supported is not None:
            plan.extra = {"owner": target, "line": line, "model": supported.display_name, "members": members}
    # MACs: the same phone twice in the file, or already added (in any organisation: a MAC is one phone)
    rows_by_mac = defaultdict(list)
    for i, mac in normalised.items():
        rows_by_mac[mac].append(i)
    taken = set()
    for chunk in _chunks(sorted(rows_by_mac)):
        taken.update(Device.objects.filter(mac__in=chunk).values_list("mac", flat=True))
    for mac, idxs in rows_by_mac.items():
        repeated = _("%(mac)s appears in more than one row (rows %(rows)s).") % {
            "mac": _pretty_mac(mac), "rows": rows_text([plans[j].row for j in idxs])} if len(idxs) > 1 else None
        for i in idxs:
            if repeated:
                plans[i].error(C.PHONE_MAC, repeated)
            if mac in taken:
                plans[i].error(C.PHONE_MAC, _("A device with MAC %(mac)s already exists.") % {"mac": _pretty_mac(mac)})
            plans[i].fields["mac"] = mac
    for plan in plans:
        plan.kind = ERROR if plan.errors else CREATE
    return Validation([], plans)


def apply_phones(actor: Actor, org: Organization, plans: list[RowPlan]) -> list[tuple[RowPlan, str]]:
    """Add one batch of phones in one transaction (row by row if a MAC was added meanwhile). Returns [(plan,
    reason)] for the rows refused."""
    return apply_batch_or_rows(_apply_batch, actor, org, plans, lambda plan: _(
        "A device with MAC %(mac)s was added since the file was checked.") % {"mac": _pretty_mac(plan.fields["mac"])})


DEVICE_GIVEN = ("id", "created", "updated", "organization_id", "mac", "model_id", "person_id", "workspace_id",
                "location_id")
APPEARANCE_GIVEN = ("id", "device_id", "line_id", "port", "line_type", "line_label")


@cache
def _defaults(model, given: tuple) -> tuple:
    return tuple(new_row_defaults(model, given))


def _apply_batch(actor: Actor, org: Organization, plans: list[RowPlan]) -> None:
    actor.require(Device, "create")
    now = timezone.now()
    location_names = dict(Location.objects.filter(organization=org).values_list("pk", "name"))
    device_columns = [f.attname for f in Device._meta.concrete_fields]
    appearance_columns = [f.attname for f in DeviceLine._meta.concrete_fields]
    device_defaults = _defaults(Device, DEVICE_GIVEN)
    appearance_defaults = _defaults(DeviceLine, APPEARANCE_GIVEN)
    devices, appearances, changes, stubs = [], [], [], []
    for plan in plans:
        kind, owner_id, owner_name = plan.extra["owner"]
        line_id, location_id = plan.extra["line"]
        values = {"id": uuid.uuid4(), "created": now, "updated": now, "organization_id": org.pk,
                  "mac": plan.fields["mac"], "model_id": plan.fields["model"], "location_id": location_id,
                  "person_id": owner_id if kind == "person" else None,
                  "workspace_id": owner_id if kind == "workspace" else None}
        for column, make in device_defaults:
            values[column] = make()
        devices.append([values[c] for c in device_columns])
        members = [(1, line_id, LineType.PRIMARY, "")] + [
            (port, shared_id, LineType.SHARED_CALL_APPEARANCE, label) for port, shared_id, label in
            plan.extra["members"]]
        for port, member_line, line_type, label in members:
            appearance = {"id": uuid.uuid4(), "device_id": values["id"], "line_id": member_line, "port": port,
                          "line_type": line_type, "line_label": label}
            for column, make in appearance_defaults:
                appearance[column] = make()
            appearances.append([appearance[c] for c in appearance_columns])
        after = snapshot(Device, values, {"model": plan.extra["model"], kind: owner_name,
                                          "location": location_names.get(location_id)})
        if len(members) > 1:  # as `set_device_members` records them
            after["members"] = [f"{port}:{member_line}" for port, member_line, _t, _l in members]
        changes.append((AuditAction.CREATE, "device", values["id"], org.pk,
                        f"{plan.extra['model']} {_pretty_mac(values['mac'])}", None, after))
        stubs.append({"id": values["id"], "organization_id": org.pk, "mac": values["mac"],
                      "location_id": location_id, "person_id": values["person_id"],
                      "workspace_id": values["workspace_id"], "model_id": values["model_id"]})
    insert_rows(Device, device_columns, devices)
    insert_rows(DeviceLine, appearance_columns, appearances)
    if actor.account is not None:
        # As `create_device`: the phone (in its owner's line's location) must be inside the actor's scope.
        ids = [row["id"] for row in stubs]
        if Device.objects.restrict(actor.account, "create").filter(pk__in=ids).count() != len(ids):
            raise PermissionDenied(_("You can only add phones in locations you administer."))
    # one audit event and one push bump (the phone's file, and the engine for its credentials) per device
    record_changes_bulk(actor, changes, _stubs(Device, stubs))
