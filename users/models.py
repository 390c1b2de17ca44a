"""People, workspaces and the organisation's service licences."""
import uuid

from django.conf import settings
from django.db import models
from django.db.models import Case, Count, OuterRef, Q, Subquery, Value, When
from django.db.models.functions import Coalesce, Lower
from django.utils.translation import gettext_lazy as _

from controlhub.models import OrgOwned, RestrictedQuerySet
from controlhub.roles import Area


class LicenseKind(models.TextChoices):
    # Webex recognises calling licences by name only (reference/webex-api.md section 6): keep these names exact.
    CALLING_PROFESSIONAL = "CALLPRO", "Webex Calling - Professional"
    CALLING_BASIC = "CALLBASIC", "Webex Calling - Basic"
    CALLING_WORKSPACES = "CALLWS", "Webex Calling - Workspaces"
    MESSAGING = "MSG", "Basic Messaging"
    MEETINGS = "MTG", "Basic Meetings"


CALLING_PERSON_KINDS = (LicenseKind.CALLING_PROFESSIONAL, LicenseKind.CALLING_BASIC)
# The services a person can hold, each a flag on the person's row (DESIGN §4: services are an attribute of a
# person): a flag stands for the organisation's licence of that kind, which is unique per (organisation, kind).
# Rows of a person-licence table cost a CSV import of 100k users 200k rows and their index entries (about a tenth
# of its time). Webex Calling - Workspaces is for workspaces only.
PERSON_SERVICE_FLAGS: dict[str, str] = {
    LicenseKind.CALLING_PROFESSIONAL: "has_calling_professional",
    LicenseKind.CALLING_BASIC: "has_calling_basic",
    LicenseKind.MESSAGING: "has_messaging",
    LicenseKind.MEETINGS: "has_meetings",
}


def service_names(values) -> list[str]:
    """The sorted names of the services a person's values (by column: a row or an instance's `__dict__`) hold:
    what the audit log records under "licenses"."""
    return sorted(LicenseKind(kind).label for kind, flag in PERSON_SERVICE_FLAGS.items() if values[flag])


class LicenseQuerySet(RestrictedQuerySet):
    def with_users(self) -> "LicenseQuerySet":
        """Annotate `users`: the people holding each licence (the flag of its kind, in its organisation)."""
        holders = {kind: Person.objects.filter(organization=OuterRef("organization"), **{flag: True}).order_by()
                   .values("organization").annotate(n=Count("pk")).values("n")
                   for kind, flag in PERSON_SERVICE_FLAGS.items()}
        return self.annotate(users=Case(*(When(kind=kind, then=Coalesce(Subquery(q), 0))
                                          for kind, q in holders.items()), default=Value(0)))

    def with_usage(self) -> "LicenseQuerySet":
        """Annotate `users` and `workspaces`: the units in use by people holding each licence, and by workspaces
        with calling (which use the organisation's Webex Calling - Workspaces licence). See `License.consumed`."""
        calling_workspaces = (Workspace.objects.filter(organization=OuterRef("organization"), line__isnull=False)
                              .order_by().values("organization").annotate(n=Count("pk")).values("n"))
        return self.with_users().annotate(workspaces=Case(
            When(kind=LicenseKind.CALLING_WORKSPACES, then=Coalesce(Subquery(calling_workspaces), 0)),
            default=Value(0)))


class License(OrgOwned):
    """A service subscription of an organisation with its number of units."""

    organization = models.ForeignKey("controlhub.Organization", on_delete=models.CASCADE, related_name="licenses")
    kind = models.CharField(max_length=16, choices=LicenseKind.choices)
    total_units = models.PositiveIntegerField(default=0)
    subscription_id = models.CharField(max_length=40, blank=True)
    licence_uuid = models.UUIDField(default=uuid.uuid4, editable=False)

    objects = LicenseQuerySet.as_manager()
    location_path = None
    admin_area = Area.LICENSES
    audit_fields = ("kind", "total_units")

    class Meta:
        ordering = ["kind"]
        constraints = [models.UniqueConstraint(fields=["organization", "kind"], name="license_kind_unique_in_org")]

    def __str__(self) -> str:
        return self.get_kind_display()

    @property
    def name(self) -> str:
        return self.get_kind_display()

    @property
    def consumed(self) -> int:
        """Units in use, of a licence read `with_usage()`."""
        return self.users + self.workspaces

    @property
    def is_calling(self) -> bool:
        return self.kind in CALLING_PERSON_KINDS


class PersonQuerySet(RestrictedQuerySet):
    def with_email(self, email: str) -> "PersonQuerySet":
        """People with this email, any case. Emails are stored lower-cased; matching LOWER(email) lets
        PostgreSQL use the unique index (`iexact` compiles to UPPER(…) and scans every row)."""
        return self.alias(email_lower=Lower("email")).filter(email_lower=(email or "").strip().lower())

    def holding(self, *kinds: str) -> "PersonQuerySet":
        """People holding any of these services."""
        condition = Q()
        for kind in kinds:
            condition |= Q(**{PERSON_SERVICE_FLAGS[kind]: True})
        return self.filter(condition) if kinds else self.none()


class PersonStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    INVITE_PENDING = "invite_pending", _("Invite pending")
    INACTIVE = "inactive", _("Deactivated")


class Person(OrgOwned):
    """A user of an organisation (Webex: people). Calling data (extension, number) lives on its calling line."""

    # No index of its own: every index below starts with the organisation (one index fewer to keep up per row
    # written; the CSV import writes 100k at a time).
    organization = models.ForeignKey("controlhub.Organization", on_delete=models.CASCADE, related_name="+",
                                     db_index=False)
    email = models.EmailField(_("email"))
    first_name = models.CharField(_("first name"), max_length=64, blank=True)
    last_name = models.CharField(_("last name"), max_length=64, blank=True)
    display_name = models.CharField(_("display name"), max_length=128)
    title = models.CharField(_("title"), max_length=128, blank=True)
    department = models.CharField(_("department"), max_length=128, blank=True)
    # Indexed only where set (Meta.indexes): most people have no manager, and a CSV import of 100k writes them all.
    manager = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="reports",
                                db_index=False)
    status = models.CharField(_("status"), max_length=16, choices=PersonStatus.choices,
                              default=PersonStatus.INVITE_PENDING)
    # Indexed by (location, organization) below: one index serves both a location's people (its deletion check) and
    # the Users table filtered by location.
    location = models.ForeignKey("controlhub.Location", null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="people", verbose_name=_("location"), db_index=False)
    # A default in the database too: rows copied in without these columns (bulk writes) hold no services.
    has_calling_professional = models.BooleanField(LicenseKind.CALLING_PROFESSIONAL.label, default=False,
                                                   db_default=False)
    has_calling_basic = models.BooleanField(LicenseKind.CALLING_BASIC.label, default=False, db_default=False)
    has_messaging = models.BooleanField(LicenseKind.MESSAGING.label, default=False, db_default=False)
    has_meetings = models.BooleanField(LicenseKind.MEETINGS.label, default=False, db_default=False)
    # Unique where set, on PostgreSQL through a partial index (migration users 0007): most people have no account.
    account = models.OneToOneField(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="person")

    objects = PersonQuerySet.as_manager()
    admin_area = Area.PEOPLE
    audit_fields = ("email", "first_name", "last_name", "display_name", "title", "department", "status",
                    "location")  # and "licenses", the names of the services held (audit_snapshot)
    audit_labels = {"licenses": _("services")}

    class Meta:
        ordering = ["display_name", "email"]
        constraints = [
            # Globally unique, compared case-insensitively: Bob@x and bob@x are one person.
            models.UniqueConstraint(Lower("email"), name="person_email_unique",
                                    violation_error_message=_("A user with this email already exists.")),
        ]
        indexes = [
            models.Index(fields=["organization", "display_name", "id"]),
            models.Index(fields=["organization", "last_name", "first_name", "id"]),
            models.Index(fields=["organization", "email"]),
            models.Index(fields=["location", "organization"]),
            models.Index(fields=["manager"], condition=Q(manager__isnull=False), name="person_manager_set"),
        ]

    def __str__(self) -> str:
        return self.display_name or self.email

    @property
    def service_kinds(self) -> frozenset[str]:
        """The kinds of licence this person holds."""
        return frozenset(kind for kind, flag in PERSON_SERVICE_FLAGS.items() if getattr(self, flag))

    def set_service_kinds(self, kinds) -> None:
        for kind, flag in PERSON_SERVICE_FLAGS.items():
            setattr(self, flag, kind in kinds)

    @property
    def licenses(self) -> list[License]:
        """The organisation's licences this person holds, by kind. Prefetch `organization__licenses` for a list of
        people (`person_queryset`): one query for the page, not one per person."""
        held = self.service_kinds
        return [lic for lic in self.organization.licenses.all() if lic.kind in held]  # License orders by kind

    @property
    def has_calling_licence(self) -> bool:
        return bool(self.service_kinds & set(CALLING_PERSON_KINDS))

    def audit_snapshot(self) -> dict:
        return {**super().audit_snapshot(), "licenses": service_names(self.__dict__)}


class WorkspaceType(models.TextChoices):
    NOT_SET = "notSet", _("Not set")
    DESK = "desk", _("Desk")
    HUDDLE = "huddle", _("Huddle")
    MEETING_ROOM = "meetingRoom", _("Meeting room")
    OPEN = "open", _("Open space")
    OTHER = "other", _("Other")


class Workspace(OrgOwned):
    """A shared space (lobby, meeting room) with a common-area phone."""

    display_name = models.CharField(_("name"), max_length=128)
    location = models.ForeignKey("controlhub.Location", on_delete=models.PROTECT, related_name="workspaces",
                                 verbose_name=_("location"))
    capacity = models.PositiveIntegerField(_("capacity"), null=True, blank=True)
    type = models.CharField(_("type"), max_length=16, choices=WorkspaceType.choices, default=WorkspaceType.NOT_SET)

    admin_area = Area.WORKSPACES
    audit_fields = ("display_name", "location", "capacity", "type")

    class Meta:
        ordering = ["display_name"]
        constraints = [
            models.UniqueConstraint(Lower("display_name"), "organization", name="workspace_name_unique_in_org",
                                    violation_error_message=_("A workspace with this name already exists.")),
        ]

    def __str__(self) -> str:
        return self.display_name


from .sso_models import IdentityProvider, SeenAssertion, SsoSignIn  # noqa: E402,F401  (SSO models, users.sso)
