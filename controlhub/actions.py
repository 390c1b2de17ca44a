"""The single write path's shared half: who acts, and the audit record every change leaves.

Every domain action (`controlhub.locations`, `users.actions`, `calling.actions`, `devices.actions`) runs inside a
transaction and ends with `record_change`, so the audit row commits with the change or not at all. The push
pipeline's desired-version bump will hang off the same call (DESIGN section 5).
"""
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from .bulkwrite import insert_rows
from .models import Account, AuditAction, AuditEvent, AuditSource, Location, Organization, TimestampedModel
from .sync import bump, bump_bulk


@dataclass(frozen=True)
class Actor:
    """Who performs a change and through which door (portal, API, CSV, SSO, system)."""

    account: Account | None
    source: str = AuditSource.UI

    @classmethod
    def system(cls) -> "Actor":
        return cls(account=None, source=AuditSource.SYSTEM)

    def require(self, model: type, action: str, obj=None) -> None:
        """Refuse a write the actor's roles do not allow. Visibility (404) is checked by the caller's queryset."""
        if self.account is None:
            return  # system jobs (seed, migrations) act with full rights
        allowed = model.objects.restrict(self.account, action)
        if obj is not None:
            if not allowed.filter(pk=obj.pk).exists():
                raise PermissionDenied("Your administrator role does not allow this change.")
        elif not any(g.allows(model.admin_area, action) for g in self.account.grants) and not self.account.is_superuser:
            raise PermissionDenied("Your administrator role does not allow this change.")


def object_type_of(obj: TimestampedModel) -> str:
    return obj._meta.model_name


def record_change(actor: Actor, action: str, obj: TimestampedModel, before: dict | None,
                  after: dict | None = None) -> AuditEvent | None:
    """Write the audit event for a change; for updates only the fields that changed are kept.

    `after` defaults to the object's audit snapshot; pass it for changes to related rows (a device's lines).
    Returns None for an update that changed nothing (no event, nothing to push).
    """
    if after is None and action != AuditAction.DELETE:
        after = obj.audit_snapshot()
    if action == AuditAction.UPDATE:
        changed = {k for k in after if before.get(k) != after.get(k)}
        if not changed:
            return None
        before = {k: before.get(k) for k in changed}
        after = {k: after[k] for k in changed}
    org = obj if isinstance(obj, Organization) else getattr(obj, "organization", None)
    bump([obj])  # the outbox: same transaction as the change, pushed after commit
    return AuditEvent.objects.create(
        organization=org,
        actor=actor.account,
        actor_email=actor.account.email if actor.account else "",
        source=actor.source,
        action=action,
        object_type=object_type_of(obj),
        object_id=str(obj.pk),
        object_repr=str(obj)[:200],
        before=before,
        after=after,
    )


def record_changes(actor: Actor, changes: list[tuple[str, TimestampedModel, dict | None]],
                   batch_size: int = 2000) -> int:
    """Bulk twin of `record_change` for batched writes (CSV import): one INSERT per `batch_size` events.

    `changes` holds (action, object, before-snapshot) with the object already saved (or about to be deleted).
    Updates that changed nothing are skipped. Returns the number of events written. Callers load what
    `str(obj)` and `audit_snapshot()` read (select_related/prefetch) so a batch costs constant queries.
    """
    events = []
    for action, obj, before in changes:
        after = obj.audit_snapshot() if action != AuditAction.DELETE else None
        if action == AuditAction.UPDATE:
            changed = {k for k in after if (before or {}).get(k) != after.get(k)}
            if not changed:
                continue
            before = {k: before.get(k) for k in changed}
            after = {k: after[k] for k in changed}
        events.append(AuditEvent(
            # ids, not objects: touching obj.organization would cost one query per row of a batch
            organization_id=obj.pk if isinstance(obj, Organization) else getattr(obj, "organization_id", None),
            actor=actor.account, actor_email=actor.account.email if actor.account else "", source=actor.source,
            action=action, object_type=object_type_of(obj), object_id=str(obj.pk), object_repr=str(obj)[:200],
            before=before, after=after,
        ))
    AuditEvent.objects.bulk_create(events, batch_size=batch_size)
    bump([obj for _, obj, _ in changes])
    return len(events)


def record_changes_bulk(actor: Actor, changes: list[tuple[str, str, object, object, str, dict | None, dict | None]],
                        objects: list, keys: list | None = None) -> int:
    """`record_changes` for batches whose objects were written without model instances (the CSV import's COPY).

    `changes` holds (action, object_type, object_id, organization_id, object_repr, before, after) with the
    snapshots taken as `audit_snapshot()` would; updates keep only the fields that changed and are skipped when
    nothing did. `objects` are what changed, for the push pipeline (`bump_bulk`: same keys as `bump`, or each
    object's `keys` when the caller names them). The events are written with `insert_rows` (one COPY on
    PostgreSQL). Returns the events written.
    """
    now = timezone.now()
    actor_id = actor.account.pk if actor.account else None
    actor_email = actor.account.email if actor.account else ""
    rows = []
    for action, object_type, object_id, organization_id, object_repr, before, after in changes:
        if action == AuditAction.UPDATE:
            changed = [k for k in after if (before or {}).get(k) != after.get(k)]
            if not changed:
                continue
            before = {k: before.get(k) for k in changed}
            after = {k: after[k] for k in changed}
        rows.append((organization_id, actor_id, actor_email, actor.source, action, object_type, str(object_id),
                     str(object_repr)[:200], before, after, now))
    insert_rows(AuditEvent, ("organization_id", "actor_id", "actor_email", "source", "action", "object_type",
                             "object_id", "object_repr", "before", "after", "created"), rows)
    bump_bulk(objects, keys)
    return len(rows)


# --------------------------------------------------------------------------------------------- helpers shared by
# every app's actions


def apply_fields(obj, data: dict, allowed: tuple[str, ...]) -> None:
    """Set the given fields, refusing unknown ones so a typo in a caller never passes silently."""
    unknown = set(data) - set(allowed)
    if unknown:
        raise ValidationError({name: _("This field cannot be set here.") for name in sorted(unknown)})
    for name, value in data.items():
        setattr(obj, name, value)


def clean_or_raise(obj, exclude: tuple[str, ...] = ()) -> None:
    """Run field validators and unique constraints; errors come back keyed by field name."""
    obj.full_clean(exclude=list(exclude))


def same_org(organization: Organization, field: str, *objects) -> None:
    for obj in objects:
        if obj is not None and obj.organization_id != organization.pk:
            raise ValidationError({field: _("Not found in this organization.")})


# --------------------------------------------------------------------------------------------- locations

LOCATION_FIELDS = ("name", "time_zone", "preferred_language", "announcement_language", "address1", "address2",
                   "city", "state", "postal_code", "country", "routing_prefix", "outside_dial_digit")


@transaction.atomic
def create_location(actor: Actor, organization: Organization, **data) -> Location:
    actor.require(Location, "create")
    location = Location(organization=organization)
    apply_fields(location, data, LOCATION_FIELDS)
    _normalise_location(location)
    clean_or_raise(location)
    location.save()
    actor.require(Location, "create", location)  # in an organisation the actor administers; else rolled back
    record_change(actor, AuditAction.CREATE, location, None)
    return location


@transaction.atomic
def update_location(actor: Actor, location: Location, **data) -> Location:
    actor.require(Location, "change", location)
    before = location.audit_snapshot()
    apply_fields(location, data, LOCATION_FIELDS)
    _normalise_location(location)
    clean_or_raise(location)
    location.save()
    record_change(actor, AuditAction.UPDATE, location, before)
    return location


@transaction.atomic
def delete_location(actor: Actor, location: Location) -> None:
    actor.require(Location, "delete", location)
    in_use = {
        _("people"): location.people.count(),
        _("workspaces"): location.workspaces.count(),
        _("phone numbers"): location.numbers.count(),
        _("devices"): location.devices.count(),
        _("local gateways"): location.trunks.count(),
    }
    blocking = ", ".join(f"{count} {what}" for what, count in in_use.items() if count)
    if blocking:
        raise ValidationError(_("%(name)s still has %(what)s; move or remove them first.")
                              % {"name": location.name, "what": blocking})
    before = location.audit_snapshot()
    record_change(actor, AuditAction.DELETE, location, before)
    location.delete()


def _normalise_location(location: Location) -> None:
    location.name = (location.name or "").strip()
    location.country = (location.country or location.organization.country or "").strip().upper()
    location.routing_prefix = (location.routing_prefix or "").strip() or None
    location.outside_dial_digit = (location.outside_dial_digit or "").strip() or None
