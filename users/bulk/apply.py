"""The bulk domain action: apply validated CSV row plans in batches, each batch one transaction.

Same rules as the single-object actions (the plans come from `validate`, which reuses their validators and
helpers; names are normalised by `users.actions._normalise_person`). The writes are set-based: a batch reads the
current state of the people it updates with two queries, then writes people (their services are flags on
their rows), lines, audit events and the push outbox with one COPY (or one `UPDATE … FROM`) per table — no model
instances, no per-row queries; their foreign keys are checked once per referenced table, not once per row
(`controlhub.bulkwrite`).
New rows are generated while they stream into their COPY, so the client's work overlaps the server's. The push
keys of what a batch touched are named here from what it wrote (one query for the phones of lines it found), not
asked of the generic key functions, which would look the whole batch up again.
Audit snapshots are taken from the values written, field by field as `audit_snapshot()` takes them, so the
events are the ones the single-object actions write. A batch that hits a constraint (someone changed the
organisation since validation) is split until the conflicting rows stand alone, so they never block the others.
"""
from collections import defaultdict
from collections.abc import Callable
from functools import cache
from operator import itemgetter

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, models, transaction
from django.db.models.base import ModelState
from django.utils import timezone
from django.utils.translation import gettext as _

from calling.models import Line, Number, new_sip_users
from calling.sync import engine_key
from controlhub.actions import Actor, record_changes_bulk
from controlhub.bulkwrite import insert_rows, new_ids, new_row_defaults, set_based_references, update_rows
from controlhub.models import AuditAction, Location, Organization
from devices.models import DeviceLine
from devices.sync import phone_file_key
from users.actions import _normalise_person
from users.models import PERSON_SERVICE_FLAGS, License, Person, service_names

from .validate import CREATE, UPDATE, RowPlan

# What a CSV row may change on a person (the columns `validate` plans; email is the row's identity).
PERSON_COLUMNS = ("first_name", "last_name", "display_name", "title", "department", "location_id")
LINE_COLUMNS = ("id", "person_id", "location_id", "extension", "number_id")


def apply_plans(actor: Actor, org: Organization, plans: list[RowPlan]) -> list[tuple[RowPlan, str]]:
    """Apply one batch of create/update plans. Returns [(plan, reason)] for rows that failed at apply time.

    Created rows get `plan.person_id` set to the new person's id (as text).
    """
    return apply_batch_or_rows(_apply_batch, actor, org, plans, lambda plan: _(
        "Changed by someone else since the file was checked (already in use); import the error report again."))


def apply_batch_or_rows(apply_batch: Callable, actor: Actor, org: Organization, plans: list[RowPlan],
                        conflict: Callable[[RowPlan], str]) -> list[tuple[RowPlan, str]]:
    """Run `apply_batch(actor, org, plans)` as one transaction. If it is refused (a constraint: someone changed the
    organisation since validation), each half is tried on its own, and so on down to the refused rows: one bad row
    in 10,000 costs some 30 transactions, not 10,000, and never blocks the others. Returns [(plan, reason)] for
    the rows refused, in file order; `conflict` words the reason for a row that hit a constraint.

    Foreign keys are checked per batch, not per row (`set_based_references`).
    """
    failed: list[tuple[RowPlan, str]] = []

    def attempt(part: list[RowPlan]) -> None:
        try:
            with transaction.atomic(), set_based_references():
                apply_batch(actor, org, part)
            return
        except IntegrityError:
            refusal = None  # worded by `conflict`
        except PermissionDenied as exc:
            refusal = str(exc) or _("Refused.")
        except ValidationError as exc:
            refusal = "; ".join(exc.messages)
        if len(part) == 1:
            failed.append((part[0], conflict(part[0]) if refusal is None else refusal))
        else:
            attempt(part[:len(part) // 2])
            attempt(part[len(part) // 2:])

    if plans:
        attempt(plans)
    return failed


class _Values:
    """A row's values with attribute access, so `_normalise_person` (written for a Person) normalises it."""

    def __init__(self, values: dict):
        self.__dict__ = values


# Fields whose values are JSON as they are (text, numbers, flags): a snapshot takes them without a check per value.
_JSON_NATIVE = (models.CharField, models.TextField, models.BooleanField, models.IntegerField)


@cache
def _snapshot_spec(model) -> tuple:
    """How `snapshot` reads `model`'s audit fields: the plain fields' names and a getter of their values (by
    column), whether those values need a type check, and the relations (name, many-to-many?)."""
    names, attnames, relations, native = [], [], [], True
    for name in model.audit_fields:
        field = model._meta.get_field(name)
        if field.is_relation:
            relations.append((name, field.many_to_many))
        else:
            names.append(name)
            attnames.append(field.attname)
            native = native and isinstance(field, _JSON_NATIVE)
    if len(attnames) > 1:
        pick = itemgetter(*attnames)
    else:  # itemgetter of one name returns the value itself, of none fails
        pick = lambda values: tuple(values[a] for a in attnames)  # noqa: E731
    return tuple(names), pick, native, tuple(relations)


def snapshot(model, values: dict, related: dict) -> dict:
    """What `obj.audit_snapshot()` returns for an object holding `values` (by column), given the display text of
    its related objects in `related` (by field name; a sorted list for many-to-many fields). 200k of them per
    100k-row file: the plain fields are picked at once, not looked up one by one."""
    names, pick, native, relations = _snapshot_spec(model)
    result = dict(zip(names, pick(values), strict=True))
    if not native:
        for name, value in result.items():
            if value is not None and not isinstance(value, str | int | float | bool):
                result[name] = str(value)
    for name, many in relations:
        result[name] = related.get(name, [] if many else None)
    return result


def _refs(model, ids) -> list:
    """Instances of `model` carrying only their id: what the push outbox records objects by (type and id)."""
    new = model.__new__
    refs = []
    for pk in ids:
        obj = new(model)
        obj.__dict__ = {"id": pk}
        refs.append(obj)
    return refs


def _stubs(model, rows: list[dict]) -> list:
    """Saved instances of `model` carrying only the values in `rows` (ids), for the push pipeline's key functions:
    4,000 full `Model(...)` constructions per batch would cost more than the batch's writes."""
    new = model.__new__
    stubs = []
    for values in rows:
        obj = new(model)
        state = ModelState()
        state.adding, state.db = False, "default"
        values["_state"] = state
        obj.__dict__ = values
        stubs.append(obj)
    return stubs


@cache
def _person_defaults() -> tuple:
    return tuple(new_row_defaults(Person, ("id", "created", "updated", "organization_id", "email", *PERSON_COLUMNS)))


@cache
def _line_defaults() -> tuple:
    return tuple(new_row_defaults(Line, ("created", "updated", "organization_id", "sip_user", *LINE_COLUMNS)))


def _apply_batch(actor: Actor, org: Organization, plans: list[RowPlan]) -> None:
    creates = [p for p in plans if p.kind == CREATE]
    updates = [p for p in plans if p.kind == UPDATE]
    now = timezone.now()
    # As COPY's text, once: every new row carries them (insert_rows would look each occurrence up again).
    org_id, stamp = str(org.pk), now.isoformat()
    if creates:
        actor.require(Person, "create")
    location_names = dict(Location.objects.filter(organization=org).values_list("pk", "name"))
    licence_flags = {lic.pk: PERSON_SERVICE_FLAGS[lic.kind] for lic in License.objects.filter(organization=org)
                     if lic.kind in PERSON_SERVICE_FLAGS}

    # ---- the current state of the people this batch updates (services are flags on their rows), their lines
    current: dict = {}
    lines_before: dict = {}
    if updates:
        allowed = Person.objects.filter(organization=org, pk__in=[p.person_id for p in updates])
        if actor.account is not None:
            allowed = allowed.restrict(actor.account, "change")
        columns = [f.attname for f in Person._meta.concrete_fields]
        current = {row[0]: dict(zip(columns, row, strict=True)) for row in allowed.values_list(*columns)}
        if len(current) != len(updates):
            raise PermissionDenied(_("Your administrator role does not allow changing this user."))
        for row in Line.objects.filter(person_id__in=list(current)).values_list(*LINE_COLUMNS):
            lines_before[row[1]] = dict(zip(LINE_COLUMNS, row, strict=True))
    # The phones showing those lines (shared appearances included), read before a line is deleted: their files
    # change with the line or its owner's name, as the devices app's key functions say (see `_push_keys`).
    phone_files: dict = defaultdict(set)
    if lines_before:
        for line_id, org_key, mac, org_id in DeviceLine.objects.filter(
                line_id__in=[line["id"] for line in lines_before.values()]).values_list(
                "line_id", "device__organization__provisioning_key", "device__mac", "device__organization_id"):
            phone_files[line_id].add(phone_file_key(org_key, mac, org_id))
    number_ids = {p.number_id for p in plans if p.number_id} | {
        line["number_id"] for line in lines_before.values() if line["number_id"]}
    e164 = dict(Number.objects.filter(pk__in=number_ids).values_list("pk", "e164")) if number_ids else {}

    service_lists: dict = {}  # a batch holds a handful of service combinations: name each once
    flags = tuple(PERSON_SERVICE_FLAGS.values())
    held = itemgetter(*flags)

    def person_snapshot(values: dict) -> dict:
        key = held(values)
        names = service_lists.get(key)
        if names is None:
            names = service_lists[key] = service_names(values)
        result = snapshot(Person, values, {"location": location_names.get(values["location_id"])})
        result["licenses"] = names  # as `Person.audit_snapshot`
        return result

    def set_services(values: dict, plan: RowPlan) -> None:
        for pk in plan.add:
            values[licence_flags[pk]] = True
        for pk in plan.remove:
            values[licence_flags[pk]] = False

    def line_snapshot(values: dict) -> dict:
        return snapshot(Line, values, {"location": location_names.get(values["location_id"]),
                                       "number": e164.get(values["number_id"])})

    def line_repr(owner: dict, line: dict) -> str:
        return f"{owner['display_name'] or owner['email']} · {line['extension'] or e164.get(line['number_id'])}"

    changes: list[tuple] = []
    people: dict = {}  # person id -> values after the batch
    # ---- people
    # New rows are generated while they are copied: each row's audit snapshot is taken while PostgreSQL is still
    # indexing the rows sent before it, instead of the server waiting for the whole batch and then the client for
    # the server (same for lines below).
    person_columns = [f.attname for f in Person._meta.concrete_fields]
    defaults = _person_defaults()

    def new_people():
        for plan, person_id in zip(creates, new_ids(len(creates)), strict=True):
            values = {"id": person_id, "created": stamp, "updated": stamp, "organization_id": org_id,
                      "email": plan.email, "first_name": "", "last_name": "", "display_name": "", "title": "",
                      "department": "", "location_id": None, **plan.fields}
            _normalise_person(_Values(values))
            for column, make in defaults:
                values[column] = make()
            set_services(values, plan)
            plan.person_id = values["id"]
            people[plan.person_id] = values
            yield [values[c] for c in person_columns]
            changes.append((AuditAction.CREATE, "person", plan.person_id, org_id,
                            values["display_name"] or values["email"], None, person_snapshot(values)))

    insert_rows(Person, person_columns, new_people())
    changed_rows = []
    for plan in updates:
        before = current[plan.person_id]
        values = dict(before)
        if plan.fields or plan.add or plan.remove:
            values.update(plan.fields)
            _normalise_person(_Values(values))
            set_services(values, plan)
            values["updated"] = now
            changed_rows.append([plan.person_id, *(values[c] for c in PERSON_COLUMNS), *held(values), now])
        people[plan.person_id] = values
        changes.append((AuditAction.UPDATE, "person", plan.person_id, org.pk, values["display_name"] or values["email"],
                        person_snapshot(before), person_snapshot(values)))
    update_rows(Person, [*PERSON_COLUMNS, *flags, "updated"], changed_rows)

    # ---- calling lines
    touched_lines = []
    deleted = [lines_before[p.person_id] for p in updates if p.calling == "delete"]
    if deleted:
        Line.objects.filter(pk__in=[line["id"] for line in deleted]).delete()
        for line in deleted:
            changes.append((AuditAction.DELETE, "line", line["id"], org.pk, line_repr(people[line["person_id"]], line),
                            line_snapshot(line), None))
            touched_lines.append(line)
    changed_lines = []
    for plan in updates:
        if plan.calling == "update":
            before = lines_before[plan.person_id]
            line = {**before, "extension": plan.extension, "number_id": plan.number_id}
            changed_lines.append([line["id"], line["extension"], line["number_id"], now])
            changes.append((AuditAction.UPDATE, "line", line["id"], org.pk, line_repr(people[plan.person_id], line),
                            line_snapshot(before), line_snapshot(line)))
            touched_lines.append(line)
    update_rows(Line, ["extension", "number_id", "updated"], changed_lines)
    line_columns = [f.attname for f in Line._meta.concrete_fields]
    line_defaults = _line_defaults()

    def new_lines():
        creating = [plan for plan in plans if plan.calling == "create"]
        for plan, line_id, sip_user in zip(creating, new_ids(len(creating)), new_sip_users(len(creating)),
                                           strict=True):
            line = {"id": line_id, "created": stamp, "updated": stamp, "organization_id": org_id, "sip_user": sip_user,
                    "person_id": plan.person_id, "location_id": plan.line_location_id, "extension": plan.extension,
                    "number_id": plan.number_id}
            for column, make in line_defaults:
                line[column] = make()
            yield [line[c] for c in line_columns]
            changes.append((AuditAction.CREATE, "line", line["id"], org_id, line_repr(people[plan.person_id], line),
                            None, line_snapshot(line)))
            touched_lines.append(line)

    insert_rows(Line, line_columns, new_lines())

    if actor.account is not None and creates:
        # As `create_person`: the new people must be inside the actor's scope (a location admin's locations).
        in_scope = Person.objects.restrict(actor.account, "create").filter(pk__in=[p.person_id for p in creates])
        if in_scope.count() != len(creates):
            raise PermissionDenied(_("You can only use locations you administer."))

    # ---- audit and the push outbox: one COPY each
    line_after = {line["person_id"]: line["id"] for line in lines_before.values()}
    line_after.update((line["person_id"], line["id"]) for line in touched_lines)
    for line in deleted:
        del line_after[line["person_id"]]
    objects, keys = _push_keys(org, people, line_after, touched_lines, phone_files)
    record_changes_bulk(actor, changes, objects, keys)


def _push_keys(org: Organization, people: dict, line_after: dict, touched_lines: list, phone_files: dict):
    """The batch's people and deleted lines with each one's push target keys, named from what the batch wrote.

    The same keys the calling and devices apps' key functions give (`calling.sync`, `devices.sync`; a test
    compares them), without their queries over the whole batch: the engine's key is the organisation's, and a
    person matters to it only through a line; phone files are those showing the person's or the line's line
    (`phone_files`, one query for the lines the batch found; lines it creates are on no phone yet). A deleted
    line keeps the phones that showed it, as `remove_calling` records the deletion before deleting.

    A line the batch created or changed gets no record of its own: its owner's record names the same keys at the
    same version, and a line's state is only ever read with its owner's (`{% sync_status person line %}`, worst
    state wins). One sync record per CSV row instead of two (100k rows: ~1.5 s of the apply).
    """
    only_engine = {engine_key(org.pk)}

    def keys_of(line_id) -> set:
        return only_engine | phone_files[line_id] if line_id in phone_files else only_engine

    keys = [() if (line_id := line_after.get(person_id)) is None else keys_of(line_id) for person_id in people]
    deleted = [line for line in touched_lines if line_after.get(line["person_id"]) != line["id"]]
    keys += [keys_of(line["id"]) for line in deleted]
    return _refs(Person, people) + _refs(Line, [line["id"] for line in deleted]), keys
