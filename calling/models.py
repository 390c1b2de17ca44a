"""Phone numbers and lines (the SIP addresses of record that numbers and extensions route to).

Calling features, dial plan, trunks and per-person call settings join this app (DESIGN section 4); their
models arrive with the issues that build them.
"""
import secrets

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from controlhub.models import OrgOwned
from controlhub.roles import Area


class NumberState(models.TextChoices):
    ACTIVE = "ACTIVE", _("Active")
    INACTIVE = "INACTIVE", _("Inactive")


class Number(OrgOwned):
    """A PSTN number in a location's inventory, stored as +E.164; unique across all organisations."""

    e164 = models.CharField(_("phone number"), max_length=16, unique=True)
    location = models.ForeignKey("controlhub.Location", on_delete=models.PROTECT, related_name="numbers",
                                 verbose_name=_("location"))
    state = models.CharField(_("state"), max_length=8, choices=NumberState.choices, default=NumberState.INACTIVE)
    is_main = models.BooleanField(_("main number"), default=False)
    is_toll_free = models.BooleanField(_("toll-free"), default=False)

    admin_area = Area.NUMBERS
    audit_fields = ("e164", "location", "state", "is_main", "is_toll_free")

    class Meta:
        ordering = ["e164"]
        constraints = [
            models.UniqueConstraint(fields=["location"], condition=Q(is_main=True), name="number_one_main_per_location",
                                    violation_error_message=_("This location already has a main number.")),
        ]
        indexes = [models.Index(fields=["organization", "location", "e164"])]

    def __str__(self) -> str:
        return self.e164

    @property
    def owner(self):
        """The person or workspace this number is assigned to, through its line (None when free)."""
        line = getattr(self, "line", None)
        return line.owner if line is not None else None


def new_sip_user() -> str:
    # Opaque and not guessable: the user part of a SIP address must not reveal a name, extension or number.
    return secrets.token_hex(10)


class Line(OrgOwned):
    """One SIP address of record on the call engine, owned by a person or a workspace (features later).

    Extensions are unique per organisation across every owner, which one constraint here enforces.
    """

    location = models.ForeignKey("controlhub.Location", on_delete=models.PROTECT, related_name="lines",
                                 verbose_name=_("location"))
    person = models.OneToOneField("users.Person", null=True, blank=True, on_delete=models.CASCADE,
                                  related_name="line")
    workspace = models.OneToOneField("users.Workspace", null=True, blank=True, on_delete=models.CASCADE,
                                     related_name="line")
    sip_user = models.CharField(max_length=40, unique=True, default=new_sip_user, editable=False)
    extension = models.CharField(_("extension"), max_length=10, null=True, blank=True)
    number = models.OneToOneField(Number, null=True, blank=True, on_delete=models.SET_NULL, related_name="line",
                                  verbose_name=_("phone number"))

    admin_area = Area.NUMBERS
    audit_fields = ("location", "extension", "number")

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(person__isnull=False, workspace__isnull=True) | Q(person__isnull=True,
                                                                              workspace__isnull=False),
                name="line_exactly_one_owner",
            ),
            models.CheckConstraint(condition=Q(extension__isnull=False) | Q(number__isnull=False),
                                   name="line_has_extension_or_number"),
            models.UniqueConstraint(fields=["organization", "extension"], condition=Q(extension__isnull=False),
                                    name="line_extension_unique_in_org",
                                    violation_error_message=_("This extension is already in use.")),
        ]

    def __str__(self) -> str:
        # What an admin recognises (owner and extension/number); the SIP address is opaque by design.
        return f"{self.owner} · {self.extension or self.number}"

    @property
    def owner(self):
        return self.person or self.workspace

    @property
    def sip_address(self) -> str:
        return f"{self.sip_user}@{self.organization.sip_domain}"

    @property
    def esn(self) -> str | None:
        """Enterprise significant number: the location's routing prefix followed by the extension."""
        if self.extension and self.location.routing_prefix:
            return f"{self.location.routing_prefix}{self.extension}"
        return None
