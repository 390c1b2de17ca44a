"""Core tenancy: accounts, partners, organisations, locations, admin roles, audit log."""
import secrets
import uuid
import zoneinfo
from dataclasses import dataclass
from functools import cached_property

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.core.exceptions import FieldDoesNotExist
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .roles import CHANGE, ORG_WIDE_ONLY, ROLE_RIGHTS, VIEW, Area, Role

# --------------------------------------------------------------------------------------------- accounts


class AccountManager(BaseUserManager):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **extra) -> "Account":
        email = self.normalize_email(email).lower()
        account = self.model(email=email, **extra)
        account.set_password(password) if password else account.set_unusable_password()
        account.save(using=self._db)
        return account

    def create_superuser(self, email: str, password: str | None = None, **extra) -> "Account":
        extra.update(is_staff=True, is_superuser=True)
        return self.create_user(email, password, **extra)


class Account(AbstractBaseUser, PermissionsMixin):
    """Who signs in: an administrator or a person of an organisation. Email is the sign-in name."""

    email = models.EmailField(_("email"), unique=True)
    name = models.CharField(_("name"), max_length=150, blank=True)
    is_staff = models.BooleanField(default=False)
    is_active = models.BooleanField(default=True)
    date_joined = models.DateTimeField(default=timezone.now)

    objects = AccountManager()
    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    def __str__(self) -> str:
        return self.email

    @cached_property
    def grants(self) -> list["Grant"]:
        """The account's admin roles, loaded once per request (the account object lives for one request)."""
        return [
            Grant(
                role=r.role,
                partner_id=r.partner_id,
                organization_id=r.organization_id,
                location_ids=frozenset(r.locations.values_list("pk", flat=True))
                if r.role == Role.LOCATION_ADMIN
                else None,
            )
            for r in self.admin_roles.all()
        ]

    @property
    def is_admin(self) -> bool:
        return self.is_superuser or bool(self.grants)


# --------------------------------------------------------------------------------------------- scoping


@dataclass(frozen=True)
class Grant:
    role: str
    partner_id: uuid.UUID | None
    organization_id: uuid.UUID | None
    location_ids: frozenset | None  # None: the whole organisation

    def allows(self, area: str, action: str) -> bool:
        if self.location_ids is not None and (area, action) in ORG_WIDE_ONLY:
            return False
        base = CHANGE if action in ("create", "delete") else action
        return base in ROLE_RIGHTS[self.role].get(area, frozenset())


class RestrictedQuerySet(models.QuerySet):
    """A queryset that knows who is asking (NetBox's `RestrictedQuerySet.restrict`).

    The model declares `admin_area`, `tenant_path` (path to its Organization, "" for Organization itself) and
    `location_path` (path to its Location, None when it belongs to no location).
    """

    def restrict(self, account, action: str = VIEW) -> "RestrictedQuerySet":
        if account is None or not getattr(account, "is_authenticated", False):
            return self.none()
        if account.is_superuser:
            return self
        model = self.model
        tenant = model.tenant_path
        org_field = "pk" if tenant == "" else f"{tenant}_id"
        partner_field = "partner_id" if tenant == "" else f"{tenant}__partner_id"
        condition = Q(pk__in=[])
        for grant in account.grants:
            if not grant.allows(model.admin_area, action):
                continue
            if grant.partner_id:
                scope = Q(**{partner_field: grant.partner_id})
            else:
                scope = Q(**{org_field: grant.organization_id})
            if grant.location_ids is not None and model.location_path is not None:
                scope &= Q(**{f"{model.location_path}__in": grant.location_ids})
            condition |= scope
        return self.filter(condition)


class TimestampedModel(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    # Fields recorded in the audit log's before/after snapshots; subclasses list theirs.
    audit_fields: tuple[str, ...] = ()
    # Labels of what a snapshot records beyond its fields (e.g. a person's services), as the audit log shows them.
    audit_labels: dict[str, str] = {}

    class Meta:
        abstract = True

    def audit_snapshot(self) -> dict:
        """JSON-safe values of `audit_fields` (foreign keys by their display text) for the audit log."""
        snapshot = {}
        for name in self.audit_fields:
            field = self._meta.get_field(name)
            if field.many_to_many:
                value = sorted(str(o) for o in getattr(self, name).all()) if self.pk else []
            elif field.is_relation:
                related = getattr(self, name)
                value = str(related) if related is not None else None
            else:
                value = getattr(self, name)
                if value is not None and not isinstance(value, str | int | float | bool):
                    value = str(value)
            snapshot[name] = value
        return snapshot


class OrgOwned(TimestampedModel):
    """Base of every customer-owned object: organisation, timestamps, a restricted manager."""

    organization = models.ForeignKey("controlhub.Organization", on_delete=models.CASCADE, related_name="+")

    objects = RestrictedQuerySet.as_manager()
    tenant_path = "organization"
    location_path: str | None = "location"
    admin_area: str = Area.ORGANIZATION

    class Meta:
        abstract = True


# --------------------------------------------------------------------------------------------- tenancy


class Partner(TimestampedModel):
    name = models.CharField(_("name"), max_length=120, unique=True)

    def __str__(self) -> str:
        return self.name


def new_provisioning_key() -> str:
    return secrets.token_urlsafe(24)


country_code = RegexValidator(r"^[A-Z]{2}$", _("Use a two-letter ISO country code, e.g. SE or US."))


class Organization(TimestampedModel):
    """A customer organisation (Webex: org)."""

    partner = models.ForeignKey(Partner, null=True, blank=True, on_delete=models.PROTECT, related_name="customers")
    display_name = models.CharField(_("name"), max_length=120)
    country = models.CharField(_("country"), max_length=2, default="US", validators=[country_code])
    sip_domain = models.CharField(_("SIP domain"), max_length=200, unique=True)
    # Phones find their organisation's files under /<provisioning_key>/… (reference/mpp-provisioning.md §4):
    # long and random so one organisation's key cannot be guessed from another's.
    provisioning_key = models.CharField(_("provisioning key"), max_length=64, unique=True,
                                        default=new_provisioning_key, editable=False)

    objects = RestrictedQuerySet.as_manager()
    tenant_path = ""
    location_path = None
    admin_area = Area.ORGANIZATION
    audit_fields = ("display_name", "country", "sip_domain")

    class Meta:
        ordering = ["display_name"]

    def __str__(self) -> str:
        return self.display_name


def validate_time_zone(value: str) -> None:
    from django.core.exceptions import ValidationError

    if value not in zoneinfo.available_timezones():
        raise ValidationError(_("“%(value)s” is not a time zone name such as Europe/Stockholm."),
                              params={"value": value})


LANGUAGE_CHOICES = [
    ("en_us", "English (United States)"),
    ("en_gb", "English (United Kingdom)"),
    ("sv_se", "Svenska"),
    ("de_de", "Deutsch"),
    ("fr_fr", "Français"),
    ("es_es", "Español"),
]

routing_prefix_validator = RegexValidator(r"^[1-9][0-9]{0,6}$",
                                          _("A routing prefix is 1 to 7 digits, not starting with 0."))
outside_dial_digit_validator = RegexValidator(r"^[0-9]$", _("The outside dial digit is a single digit 0–9."))


class Location(OrgOwned):
    """A site of an organisation: address, time zone, languages, inter-site routing prefix."""

    name = models.CharField(_("name"), max_length=80)
    time_zone = models.CharField(_("time zone"), max_length=64, validators=[validate_time_zone])
    preferred_language = models.CharField(_("preferred language"), max_length=10, choices=LANGUAGE_CHOICES,
                                          default="en_us")
    announcement_language = models.CharField(_("announcement language"), max_length=10, choices=LANGUAGE_CHOICES,
                                             default="en_us")
    address1 = models.CharField(_("address"), max_length=200)
    address2 = models.CharField(_("address line 2"), max_length=200, blank=True)
    city = models.CharField(_("city"), max_length=100)
    state = models.CharField(_("state or region"), max_length=100, blank=True)
    postal_code = models.CharField(_("postal code"), max_length=20, blank=True)
    country = models.CharField(_("country"), max_length=2, validators=[country_code])
    routing_prefix = models.CharField(_("routing prefix"), max_length=7, null=True, blank=True,
                                      validators=[routing_prefix_validator])
    outside_dial_digit = models.CharField(_("outside dial digit"), max_length=1, null=True, blank=True,
                                          validators=[outside_dial_digit_validator])

    location_path = "pk"
    admin_area = Area.LOCATIONS
    audit_fields = ("name", "time_zone", "preferred_language", "announcement_language", "address1", "address2",
                    "city", "state", "postal_code", "country", "routing_prefix", "outside_dial_digit")

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(Lower("name"), "organization", name="location_name_unique_in_org",
                                    violation_error_message=_("A location with this name already exists.")),
            models.UniqueConstraint(fields=["organization", "routing_prefix"], name="location_prefix_unique_in_org",
                                    condition=Q(routing_prefix__isnull=False),
                                    violation_error_message=_("Another location already uses this routing prefix.")),
        ]

    def __str__(self) -> str:
        return self.name


class AdminRole(TimestampedModel):
    """An account's administrator role for a partner (all its customers) or for one organisation."""

    account = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="admin_roles")
    role = models.CharField(_("role"), max_length=32, choices=Role.choices)
    partner = models.ForeignKey(Partner, null=True, blank=True, on_delete=models.CASCADE)
    organization = models.ForeignKey(Organization, null=True, blank=True, on_delete=models.CASCADE)
    locations = models.ManyToManyField(Location, blank=True, related_name="+")

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=(Q(role=Role.PARTNER_FULL_ADMIN, partner__isnull=False, organization__isnull=True)
                           | (~Q(role=Role.PARTNER_FULL_ADMIN) & Q(partner__isnull=True, organization__isnull=False))),
                name="adminrole_partner_roles_on_partner_others_on_org",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.account} — {self.get_role_display()}"


# --------------------------------------------------------------------------------------------- audit


class AuditSource(models.TextChoices):
    UI = "UI", _("Portal")
    API = "API", _("API")
    CSV = "CSV", _("CSV import")
    SSO = "SSO", _("Single sign-on")
    SYSTEM = "SYSTEM", _("System")


class AuditAction(models.TextChoices):
    CREATE = "CREATE", _("Created")
    UPDATE = "UPDATE", _("Updated")
    DELETE = "DELETE", _("Deleted")


class AuditEvent(models.Model):
    """Who changed what, when, from where, with the before/after values of the changed fields."""

    id = models.BigAutoField(primary_key=True)
    # Indexed by (organization, -created) below, which serves lookups by organisation too.
    organization = models.ForeignKey(Organization, null=True, on_delete=models.CASCADE, related_name="+",
                                     db_index=False)
    # Not indexed: nothing reads events by this column (the log's "Changed by" filter matches `actor_email`, within
    # the organisation's events by time), and a users import would write the same actor into 200k index entries.
    # Deleting an account, rare, scans the log once instead.
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+",
                              db_index=False)
    actor_email = models.CharField(max_length=254, blank=True)
    source = models.CharField(max_length=8, choices=AuditSource.choices)
    action = models.CharField(max_length=8, choices=AuditAction.choices)
    object_type = models.CharField(max_length=40)
    object_id = models.CharField(max_length=64)
    object_repr = models.CharField(max_length=200)
    before = models.JSONField(null=True)
    after = models.JSONField(null=True)
    created = models.DateTimeField(default=timezone.now)

    objects = RestrictedQuerySet.as_manager()
    tenant_path = "organization"
    location_path = None
    admin_area = Area.AUDIT

    class Meta:
        ordering = ["-created", "-id"]
        # No index by (object_type, object_id): nothing reads one object's history, and each event written (two
        # per CSV row in a users import) would pay for its wide entry.
        indexes = [
            models.Index(fields=["organization", "-created"]),
        ]

    def __str__(self) -> str:
        return f"{self.action} {self.object_type} {self.object_repr}"

    @property
    def object_model(self) -> type[models.Model] | None:
        from django.apps import apps

        for model in apps.get_models():
            if model._meta.model_name == self.object_type:
                return model
        return None

    @property
    def object_type_label(self) -> str:
        model = self.object_model
        return str(model._meta.verbose_name) if model else self.object_type

    @property
    def changed_fields(self) -> list[tuple[str, object, object]]:
        """(field label, before, after) for each recorded field, labelled as the portal's forms label them."""
        before, after = self.before or {}, self.after or {}
        model = self.object_model

        def label(name: str) -> str:
            if model is not None and name in model.audit_labels:
                return str(model.audit_labels[name])
            try:
                return str(model._meta.get_field(name).verbose_name) if model else name
            except FieldDoesNotExist:  # a field since renamed, or a synthetic key such as a device's "members"
                return name.replace("_", " ")

        def shown(value):
            # A list (a person's services) reads as its items, and an empty one as nothing: not as Python's repr.
            return (", ".join(map(str, value)) or None) if isinstance(value, list) else value

        return [(label(k), shown(before.get(k)), shown(after.get(k))) for k in sorted(set(before) | set(after))]


# --------------------------------------------------------------------------------------------- jobs


class JobState(models.TextChoices):
    QUEUED = "QUEUED", _("Queued")
    VALIDATING = "VALIDATING", _("Validating")
    READY = "READY", _("Ready to apply")          # validated; waiting for the administrator to confirm
    RUNNING = "RUNNING", _("Running")
    CANCELLING = "CANCELLING", _("Cancelling")
    SUCCEEDED = "SUCCEEDED", _("Completed")
    FAILED = "FAILED", _("Failed")
    CANCELLED = "CANCELLED", _("Cancelled")


ACTIVE_JOB_STATES = (JobState.QUEUED, JobState.VALIDATING, JobState.READY, JobState.RUNNING, JobState.CANCELLING)


class Job(OrgOwned):
    """A long-running bulk operation (CSV import, bulk phones, …) run by workers, shown on the Tasks page.

    Progress and counts live here, so a closed browser loses nothing: the page reads the job again.
    """

    kind = models.CharField(_("kind"), max_length=40)
    state = models.CharField(_("state"), max_length=12, choices=JobState.choices, default=JobState.QUEUED)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    source_name = models.CharField(_("file"), max_length=255, blank=True)
    options = models.JSONField(default=dict, blank=True)
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    counts = models.JSONField(default=dict, blank=True)      # e.g. {"create": 10, "update": 2, "error": 1}
    preview = models.JSONField(default=dict, blank=True)     # first rows of each outcome, for the preview page
    message = models.TextField(blank=True)
    input_file = models.CharField(max_length=255, blank=True)   # path under JOB_FILES_DIR
    error_file = models.CharField(max_length=255, blank=True)   # error report CSV, path under JOB_FILES_DIR
    started = models.DateTimeField(null=True, blank=True)
    finished = models.DateTimeField(null=True, blank=True)

    location_path = None
    admin_area = Area.PEOPLE
    audit_fields = ("kind", "state", "source_name", "total", "done")

    class Meta:
        ordering = ["-created"]
        indexes = [models.Index(fields=["organization", "-created"])]
        constraints = [
            # One active job per organisation and kind: a second import waits or is refused with a reason.
            models.UniqueConstraint(fields=["organization", "kind"], condition=Q(state__in=ACTIVE_JOB_STATES),
                                    name="job_one_active_per_org_and_kind",
                                    violation_error_message=_("Another job of this kind is still running.")),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.source_name or self.pk}"


from .sync.models import ObjectSync, SyncStatus, SyncTarget  # noqa: E402, F401  (the push pipeline's models)
