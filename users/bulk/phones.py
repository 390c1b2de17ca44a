"""Bulk phones CSV (`User ID/Email or Workspace`, `Model`, `MAC Address`, `Location`): validate every row in bulk,
then add each phone through the single-object action `devices.actions.create_device` (Control Hub caps phone
files at 1,000 rows, so one savepoint per row is cheap and keeps every device rule in one place)."""
from collections import defaultdict

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models.functions import Lower
from django.utils.translation import gettext as _

from calling.models import Line
from controlhub.actions import Actor
from controlhub.models import Location, Organization
from devices.actions import create_device
from devices.models import Device, SupportedDevice
from devices.validators import normalize_mac
from users.models import Person, Workspace

from . import columns as C
from .parse import EXTRA_CELLS, ROW_NUMBER, ParsedFile
from .validate import CREATE, ERROR, RowPlan, Validation

KIND = "devices.csv_import"
MAX_ROWS = 1000


def _model_index() -> dict[str, SupportedDevice]:
    """Every name a phone model goes by (as `devices.actions.find_model` accepts them), lower-cased."""
    index = {}
    for device in SupportedDevice.objects.all():
        for name in (device.model, device.display_name, device.product_code, f"CP-{device.product_code}-3PCC"):
            index[name.casefold()] = device
    return index


def validate_phones(org: Organization, parsed: ParsedFile, mode: str = "", account=None) -> Validation:
    mapped, _services, problems = C.match_headers(parsed.headers, [], known_columns=C.PHONE_COLUMNS,
                                                  required=(C.PHONE_OWNER, C.PHONE_MODEL, C.PHONE_MAC))
    if problems:
        return Validation(problems, [])
    if len(parsed.frame) > MAX_ROWS:
        return Validation([_("A phones file holds at most %(max)s rows; this one has %(n)s.")
                           % {"max": MAX_ROWS, "n": len(parsed.frame)}], [])
    frame = parsed.frame
    labels = {column: f"{parsed.headers.index(header)}:{header}" for header, column in mapped.items()}

    def values(column: str) -> list[str]:
        return frame[labels[column]].tolist() if column in labels else [""] * len(frame)

    owners, models_, macs, locations = (values(c) for c in C.PHONE_COLUMNS)
    # bulk lookups
    emails = sorted({o.lower() for o in owners if "@" in o})
    people = {p["email"].lower(): p for p in Person.objects.filter(organization=org).alias(e=Lower("email"))
              .filter(e__in=emails).values("pk", "email")}
    names = sorted({o.casefold() for o in owners if o and "@" not in o})
    spaces = {w["display_name"].casefold(): w for w in Workspace.objects.filter(organization=org)
              .alias(n=Lower("display_name")).filter(n__in=names).values("pk", "display_name")}
    lines = {(line["person_id"] or line["workspace_id"]): line for line in Line.objects.filter(
        organization=org).filter(
        person_id__in=[p["pk"] for p in people.values()]) .values("person_id", "workspace_id", "location_id")}
    lines.update({line["workspace_id"]: line for line in Line.objects.filter(
        workspace_id__in=[w["pk"] for w in spaces.values()]).values("person_id", "workspace_id", "location_id")})
    location_names = {loc.pk: loc.name for loc in Location.objects.filter(organization=org)}
    model_index = _model_index()
    normalised: dict[int, str] = {}
    plans = []
    for i, (owner, model, mac, location) in enumerate(zip(owners, models_, macs, locations, strict=True)):
        plan = RowPlan(row=int(frame[ROW_NUMBER].iat[i]), email=owner, index=i)
        plans.append(plan)
        if frame[EXTRA_CELLS].iat[i]:
            plan.error(None, _("This row has more cells than the header has columns; check for an unquoted "
                               "separator."))
        try:
            normalised[i] = normalize_mac(mac)
        except ValidationError as exc:
            plan.error(C.PHONE_MAC, exc.messages[0])
        supported = model_index.get(model.casefold()) if model else None
        if supported is None:
            plan.error(C.PHONE_MODEL, _("“%(model)s” is not a supported phone model.") % {"model": model})
        target = people.get(owner.lower()) if "@" in owner else spaces.get(owner.casefold())
        if not owner:
            plan.error(C.PHONE_OWNER, _("This column is required."))
        elif target is None:
            plan.error(C.PHONE_OWNER, _("No user or workspace “%(name)s” in this organization.") % {"name": owner})
        else:
            line = lines.get(target["pk"])
            if line is None:
                plan.error(C.PHONE_OWNER, _("%(name)s has no calling (number or extension); set up calling before "
                                            "adding a phone.") % {"name": owner})
            elif location and location.casefold() != location_names[line["location_id"]].casefold():
                plan.error(C.PHONE_LOCATION, _("A phone is in its owner's location (%(location)s).")
                           % {"location": location_names[line["location_id"]]})
            plan.fields = {"owner": ("person" if "@" in owner else "workspace", target["pk"]),
                           "model": supported.pk if supported else None}
    rows_by_mac = defaultdict(list)
    for i, mac in normalised.items():
        rows_by_mac[mac].append(i)
    taken = set(Device.objects.filter(mac__in=list(rows_by_mac)).values_list("mac", flat=True))
    for mac, idxs in rows_by_mac.items():
        pretty = ":".join(mac[j:j + 2] for j in range(0, 12, 2)).upper()
        for i in idxs:
            if len(idxs) > 1:
                plans[i].error(C.PHONE_MAC, _("%(mac)s appears in more than one row (rows %(rows)s).") % {
                    "mac": pretty, "rows": ", ".join(str(plans[j].row) for j in idxs)})
            if mac in taken:
                plans[i].error(C.PHONE_MAC, _("A device with MAC %(mac)s already exists.") % {"mac": pretty})
            plans[i].fields["mac"] = mac
    for plan in plans:
        plan.kind = ERROR if plan.errors else CREATE
    return Validation([], plans)


def apply_phones(actor: Actor, org: Organization, plans: list[RowPlan]) -> list[tuple[RowPlan, str]]:
    """Add each phone through `create_device`, one savepoint per row: a refused row never stops the others."""
    failed = []
    for plan in plans:
        kind, pk = plan.fields["owner"]
        owner = (Person if kind == "person" else Workspace).objects.select_related("line").get(pk=pk)
        try:
            with transaction.atomic():
                create_device(actor, org, mac=plan.fields["mac"], model=plan.fields["model"], owner=owner)
        except ValidationError as exc:
            failed.append((plan, "; ".join(exc.messages)))
        except (PermissionDenied, IntegrityError) as exc:
            failed.append((plan, str(exc) or _("Refused.")))
    return failed
