"""People, workspaces and the organisation's service licences."""
import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
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


class License(OrgOwned):
    """A service subscription of an organisation with its number of units."""

    kind = models.CharField(max_length=16, choices=LicenseKind.choices)
    total_units = models.PositiveIntegerField(default=0)
    subscription_id = models.CharField(max_length=40, blank=True)
    licence_uuid = models.UUIDField(default=uuid.uuid4, editable=False)

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
    def is_calling(self) -> bool:
        return self.kind in CALLING_PERSON_KINDS


class PersonQuerySet(RestrictedQuerySet):
    def with_email(self, email: str) -> "PersonQuerySet":
        """People with this email, any case. Emails are stored lower-cased; matching LOWER(email) lets
        PostgreSQL use the unique index (`iexact` compiles to UPPER(…) and scans every row)."""
        return self.alias(email_lower=Lower("email")).filter(email_lower=(email or "").strip().lower())


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
    licenses = models.ManyToManyField(License, blank=True, related_name="people", verbose_name=_("services"),
                                      through="PersonLicense")
    account = models.OneToOneField(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="person")

    objects = PersonQuerySet.as_manager()
    admin_area = Area.PEOPLE
    audit_fields = ("email", "first_name", "last_name", "display_name", "title", "department", "status",
                    "location", "licenses")

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


class PersonLicense(models.Model):
    """A service a person holds: the rows of `Person.licenses`, declared so that the table has no index on
    `person` of its own. The unique (person, license) index already serves every lookup by person; the one
    Django adds for an implicit table cost a CSV import ~27% of its writes to this table (two rows per user).
    Same table and columns as the implicit one had (migration users 0005)."""

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="+", db_index=False)
    license = models.ForeignKey(License, on_delete=models.CASCADE, related_name="+")

    class Meta:
        db_table = "users_person_licenses"
        unique_together = [("person", "license")]

    def __str__(self) -> str:
        return f"{self.person} · {self.license}"


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
