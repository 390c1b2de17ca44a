"""The bulk domain action: apply validated CSV row plans in batches, each batch one transaction.

Same rules as the single-object actions (the plans come from `validate`, which reuses their validators and
helpers); writes are batched (bulk_create / bulk_update), every change is audited with `record_changes`, and a
batch costs a constant number of queries whatever its size. A batch that hits a constraint (someone changed the
organisation since validation) is retried row by row, so one conflicting row never blocks the others.
"""
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from calling.models import Line
from controlhub.actions import Actor, record_changes
from controlhub.models import AuditAction, Organization
from users.actions import _normalise_person
from users.models import Person

from .validate import CREATE, UPDATE, RowPlan

Through = Person.licenses.through
PERSON_COLUMNS = ("first_name", "last_name", "display_name", "title", "department", "location")


def apply_plans(actor: Actor, org: Organization, plans: list[RowPlan]) -> list[tuple[RowPlan, str]]:
    """Apply one batch of create/update plans. Returns [(plan, reason)] for rows that failed at apply time."""
    if len(plans) > 1:
        try:
            with transaction.atomic():
                _apply_batch(actor, org, plans)
            return []
        except (IntegrityError, ValidationError, PermissionDenied):
            pass  # find the offending rows below; the others still go in
    failed = []
    for plan in plans:
        try:
            with transaction.atomic():
                _apply_batch(actor, org, [plan])
        except IntegrityError:
            failed.append((plan, _("Changed by someone else since the file was checked (already in use); import "
                                   "the error report again.")))
        except (ValidationError, PermissionDenied) as exc:
            failed.append((plan, "; ".join(getattr(exc, "messages", [str(exc)]))))
    return failed


def _apply_batch(actor: Actor, org: Organization, plans: list[RowPlan]) -> None:
    creates = [p for p in plans if p.kind == CREATE]
    updates = [p for p in plans if p.kind == UPDATE]
    now = timezone.now()
    if creates:
        actor.require(Person, "create")
    # ---- people
    existing = {}
    befores: dict = {}
    line_befores: dict = {}
    if updates:
        allowed = Person.objects.filter(organization=org, pk__in=[p.person_id for p in updates])
        if actor.account is not None:
            allowed = allowed.restrict(actor.account, "change")
        existing = {p.pk: p for p in allowed.select_related("location", "line__number", "line__location")
                    .prefetch_related("licenses")}
        if len(existing) != len(updates):
            raise PermissionDenied(_("Your administrator role does not allow changing this user."))
        for pk, person in existing.items():
            befores[pk] = person.audit_snapshot()
            line = getattr(person, "line", None)
            if line is not None:
                line_befores[pk] = (line, line.audit_snapshot())
    new_people = []
    for plan in creates:
        person = Person(organization=org, email=plan.email, updated=now, created=now)
        for name, value in plan.fields.items():
            setattr(person, name, value)
        _normalise_person(person)
        plan.person_id = person.pk
        new_people.append(person)
    Person.objects.bulk_create(new_people)
    changed = []
    for plan in updates:
        if not plan.fields:
            continue
        person = existing[plan.person_id]
        for name, value in plan.fields.items():
            setattr(person, name, value)
        _normalise_person(person)
        person.updated = now
        changed.append(person)
    if changed:
        Person.objects.bulk_update(changed, [*PERSON_COLUMNS, "updated"])
    # ---- services
    removals = Q(pk__in=[])
    for plan in updates:
        for licence_id in plan.remove:
            removals |= Q(person_id=plan.person_id, license_id=licence_id)
    if any(plan.remove for plan in updates):
        Through.objects.filter(removals).delete()
    Through.objects.bulk_create([Through(person_id=plan.person_id, license_id=licence_id)
                                 for plan in plans for licence_id in plan.add])
    # ---- calling lines
    line_changes = []
    deleted = [line_befores[p.person_id] for p in updates if p.calling == "delete"]
    if deleted:
        for line, before in deleted:
            line_changes.append((AuditAction.DELETE, line, before))
        Line.objects.filter(pk__in=[line.pk for line, _before in deleted]).delete()
    changed_lines = []
    for plan in updates:
        if plan.calling == "update":
            line = line_befores[plan.person_id][0]
            line.extension, line.number_id = plan.extension, plan.number_id
            line.updated = now
            changed_lines.append(line)
    if changed_lines:
        Line.objects.bulk_update(changed_lines, ["extension", "number", "updated"])
    new_lines = [Line(organization=org, person_id=plan.person_id, location_id=plan.line_location_id,
                      extension=plan.extension, number_id=plan.number_id, created=now, updated=now)
                 for plan in plans if plan.calling == "create"]
    Line.objects.bulk_create(new_lines)
    ids = [plan.person_id for plan in plans]
    if actor.account is not None and creates:
        # As `create_person`: the new people must be inside the actor's scope (a location admin's locations).
        in_scope = Person.objects.restrict(actor.account, "create").filter(pk__in=[p.person_id for p in creates])
        if in_scope.count() != len(creates):
            raise PermissionDenied(_("You can only use locations you administer."))
    # ---- audit: reload what the snapshots read, a constant number of queries for the batch
    people = {p.pk: p for p in Person.objects.filter(pk__in=ids).select_related("location", "line")
              .prefetch_related("licenses")}
    changes = [(AuditAction.CREATE, people[plan.person_id], None) for plan in creates]
    changes += [(AuditAction.UPDATE, people[plan.person_id], befores[plan.person_id]) for plan in updates]
    touched = [line.pk for line in new_lines] + [line.pk for line in changed_lines]
    if touched:
        lines = {line.pk: line for line in Line.objects.filter(pk__in=touched)
                 .select_related("location", "number", "person", "workspace")}
        line_changes += [(AuditAction.CREATE, lines[line.pk], None) for line in new_lines]
        line_changes += [(AuditAction.UPDATE, lines[line.pk], line_befores[line.person_id][1])
                         for line in changed_lines]
    record_changes(actor, changes + line_changes)
