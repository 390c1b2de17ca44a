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


def new_sip_users(count: int) -> list[str]:
    """`count` of what `new_sip_user` makes, from one read of the random source (bulk imports)."""
    digits = secrets.token_hex(10 * count)
    return [digits[i:i + 20] for i in range(0, 20 * count, 20)]


class Line(OrgOwned):
    """One SIP address of record on the call engine, owned by a person or a workspace (features later).

    Extensions are unique per organisation across every owner, which one constraint here enforces.
    """

    # No index of its own: the (organization, extension) unique index serves the organisation's lines (every
    # line is in it: a line without an extension has a NULL there, which never clashes) — one index entry fewer
    # per line written, 100k of them in a users CSV import.
    organization = models.ForeignKey("controlhub.Organization", on_delete=models.CASCADE, related_name="+",
                                     db_index=False)
    location = models.ForeignKey("controlhub.Location", on_delete=models.PROTECT, related_name="lines",
                                 verbose_name=_("location"))
    person = models.OneToOneField("users.Person", null=True, blank=True, on_delete=models.CASCADE,
                                  related_name="line")
    # Unique where set, on PostgreSQL through a partial index (migration calling 0007): a person's line has no
    # workspace, and a line with an extension only has no number; neither writes an entry into these indexes.
    workspace = models.OneToOneField("users.Workspace", null=True, blank=True, on_delete=models.CASCADE,
                                     related_name="line")
    # Unique through Meta.constraints rather than unique=True, which on PostgreSQL also builds a second,
    # pattern-matching index (text_pattern_ops) that nothing here queries: one index less per line written.
    sip_user = models.CharField(max_length=40, default=new_sip_user, editable=False)
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
            # Over every line, not only those with an extension: it is also the organisation's index (above).
            models.UniqueConstraint(fields=["organization", "extension"], name="line_extension_unique_in_org",
                                    violation_error_message=_("This extension is already in use.")),
            models.UniqueConstraint(fields=["sip_user"], name="line_sip_user_unique"),
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


# --------------------------------------------------------------------------------------------- local gateways


class TrunkType(models.TextChoices):
    REGISTERING = "REGISTERING", _("Registering")
    CERTIFICATE_BASED = "CERTIFICATE_BASED", _("Certificate-based")


class TrunkTransport(models.TextChoices):
    UDP = "udp", "UDP"
    TCP = "tcp", "TCP"
    TLS = "tls", "TLS"


class PChargeInfoPolicy(models.TextChoices):
    DISABLED = "DISABLED", _("Disabled")
    ASSERTED_IDENTITY = "ASSERTED_IDENTITY", _("Asserted identity")
    CONFIGURABLE_CHARGE_NUMBER = "CONFIGURABLE_CHARGE_NUMBER", _("Configurable charge number")


CUBE_DEVICE_TYPE = "Cisco Unified Border Element"


def new_otg_dtg_id() -> str:
    # Webex style "<prefix><digits>_lgu": the trunk group ID the CUBE sends as otg/dtg; also the SIP user part.
    return f"lgw{secrets.randbelow(10**8):08d}"


def new_trunk_password() -> str:
    return secrets.token_urlsafe(12) + "9aA"


class Trunk(OrgOwned):
    """A local gateway (Cisco CUBE): the premises PSTN connection of one or more locations.

    Registering trunks register with the call engine like a phone, with generated credentials (`sip_username`,
    `password`); certificate-based trunks are reached at `address`:`port` and trusted by their source address.
    """

    location = models.ForeignKey("controlhub.Location", on_delete=models.PROTECT, related_name="trunks",
                                 verbose_name=_("location"))
    name = models.CharField(_("name"), max_length=100)
    trunk_type = models.CharField(_("trunk type"), max_length=20, choices=TrunkType.choices,
                                  default=TrunkType.REGISTERING)
    device_type = models.CharField(_("device type"), max_length=60, default=CUBE_DEVICE_TYPE)
    otg_dtg_id = models.CharField(_("OTG/DTG"), max_length=40, unique=True, default=new_otg_dtg_id, editable=False)
    sip_username = models.CharField(_("SIP user name"), max_length=60, unique=True, editable=False)
    password = models.CharField(_("password"), max_length=64, default=new_trunk_password)
    address = models.CharField(_("address"), max_length=253, blank=True, default="",
                               help_text=_("FQDN or IP address of the gateway (certificate-based)."))
    port = models.PositiveIntegerField(_("port"), null=True, blank=True)
    domain = models.CharField(_("domain"), max_length=253, blank=True, default="")
    transport = models.CharField(_("transport"), max_length=3, choices=TrunkTransport.choices,
                                 default=TrunkTransport.TLS)
    peer_identity = models.CharField(_("peer identity"), max_length=253, blank=True, default="")
    max_concurrent_calls = models.PositiveIntegerField(_("maximum concurrent calls"), default=250)
    dual_identity_support_enabled = models.BooleanField(_("dual identity support"), default=False)
    p_charge_info_support_policy = models.CharField(_("P-Charge-Info support"), max_length=30,
                                                    choices=PChargeInfoPolicy.choices,
                                                    default=PChargeInfoPolicy.DISABLED)

    admin_area = Area.ORGANIZATION
    audit_fields = ("name", "location", "trunk_type", "address", "port", "domain", "transport",
                    "max_concurrent_calls", "dual_identity_support_enabled", "p_charge_info_support_policy")

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="trunk_name_unique_in_org",
                                    violation_error_message=_("A trunk with this name already exists.")),
        ]

    def save(self, *args, **kwargs):
        if not self.sip_username:
            self.sip_username = f"{self.otg_dtg_id}_lgu"
        super().save(*args, **kwargs)

    def __str__(self) -> str:
        return self.name

    @property
    def is_registering(self) -> bool:
        return self.trunk_type == TrunkType.REGISTERING

    @property
    def line_port(self) -> str:
        return f"{self.sip_username}@{self.organization.sip_domain}"


class RouteGroup(OrgOwned):
    """Trunks, by priority, that share a location's PSTN traffic (the lower the number the earlier tried)."""

    name = models.CharField(_("name"), max_length=100)
    trunks = models.ManyToManyField(Trunk, through="RouteGroupMember", related_name="route_groups")

    admin_area = Area.ORGANIZATION
    location_path = None
    audit_fields = ("name", "trunks")

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="route_group_name_unique_in_org",
                                    violation_error_message=_("A route group with this name already exists.")),
        ]

    def __str__(self) -> str:
        return self.name


class RouteGroupMember(models.Model):
    route_group = models.ForeignKey(RouteGroup, on_delete=models.CASCADE, related_name="members")
    trunk = models.ForeignKey(Trunk, on_delete=models.PROTECT, related_name="memberships")
    priority = models.PositiveSmallIntegerField(_("priority"))

    class Meta:
        ordering = ["priority", "trunk__name"]
        constraints = [
            models.UniqueConstraint(fields=["route_group", "trunk"], name="route_group_trunk_once"),
            models.CheckConstraint(condition=Q(priority__gte=1, priority__lte=10), name="route_group_priority_1_10"),
        ]

    def __str__(self) -> str:
        return f"{self.trunk} ({self.priority})"


class PremisesRoute:
    """A route to the PSTN through a trunk or a route group (exactly one is set): a location's PSTN connection,
    a premises dial plan."""

    trunk: "Trunk | None"
    route_group: "RouteGroup | None"

    @property
    def route(self):
        return self.trunk or self.route_group

    def trunks_by_priority(self) -> list[Trunk]:
        if self.trunk_id:
            return [self.trunk]
        return [m.trunk for m in self.route_group.members.select_related("trunk").order_by("priority", "trunk__name")]


class LocationPstn(PremisesRoute, OrgOwned):
    """A location's premises PSTN connection: one trunk or one route group (no row: no PSTN connection)."""

    location = models.OneToOneField("controlhub.Location", on_delete=models.CASCADE, related_name="pstn",
                                    verbose_name=_("location"))
    trunk = models.ForeignKey(Trunk, null=True, blank=True, on_delete=models.PROTECT, related_name="pstn_locations",
                              verbose_name=_("trunk"))
    route_group = models.ForeignKey(RouteGroup, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="pstn_locations", verbose_name=_("route group"))

    admin_area = Area.LOCATIONS
    audit_fields = ("trunk", "route_group")

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(trunk__isnull=False, route_group__isnull=True)
                                   | Q(trunk__isnull=True, route_group__isnull=False),
                                   name="location_pstn_trunk_or_route_group"),
        ]

    def __str__(self) -> str:
        return f"{self.location} · {self.trunk or self.route_group}"


# --------------------------------------------------------------------------------------------- dial plan


class CallType(models.TextChoices):
    """Outgoing call types (Webex `callType`); the engine classifies every call it routes into one of them."""

    INTERNAL_CALL = "INTERNAL_CALL", _("Internal calls")
    LOCAL = "LOCAL", _("Local calls")
    TOLL_FREE = "TOLL_FREE", _("Toll-free calls")
    TOLL = "TOLL", _("Toll calls")
    NATIONAL = "NATIONAL", _("National calls")
    INTERNATIONAL = "INTERNATIONAL", _("International calls")
    OPERATOR_ASSISTED = "OPERATOR_ASSISTED", _("Operator assisted calls")
    CHARGEABLE_DIRECTORY_ASSISTED = "CHARGEABLE_DIRECTORY_ASSISTED", _("Chargeable directory assisted calls")
    SPECIAL_SERVICES_I = "SPECIAL_SERVICES_I", _("Special services I")
    SPECIAL_SERVICES_II = "SPECIAL_SERVICES_II", _("Special services II")
    PREMIUM_SERVICES_I = "PREMIUM_SERVICES_I", _("Premium services I")
    PREMIUM_SERVICES_II = "PREMIUM_SERVICES_II", _("Premium services II")


class PermissionAction(models.TextChoices):
    ALLOW = "ALLOW", _("Allow")
    BLOCK = "BLOCK", _("Block")


# What a location allows before its administrator changes anything (Control Hub's default): everything but
# international and premium calls.
DEFAULT_BLOCKED = frozenset({CallType.INTERNATIONAL, CallType.PREMIUM_SERVICES_I, CallType.PREMIUM_SERVICES_II})


def default_permissions() -> dict:
    return {ct.value: {"action": PermissionAction.BLOCK if ct in DEFAULT_BLOCKED else PermissionAction.ALLOW,
                       "transferEnabled": ct not in DEFAULT_BLOCKED} for ct in CallType}


class OutgoingPermission(OrgOwned):
    """Class of service: per call type ALLOW or BLOCK, for a location or (overriding it) for one person.

    A location without a row uses `default_permissions()`. A person's row counts only while `use_custom` is on,
    so an administrator can switch an override off without losing it.
    """

    location = models.OneToOneField("controlhub.Location", null=True, blank=True, on_delete=models.CASCADE,
                                    related_name="outgoing_permission")
    person = models.OneToOneField("users.Person", null=True, blank=True, on_delete=models.CASCADE,
                                  related_name="outgoing_permission")
    use_custom = models.BooleanField(_("use custom permissions"), default=True)
    # {CALL_TYPE: {"action": "ALLOW"|"BLOCK", "transferEnabled": bool}} for every CallType (actions fill gaps)
    permissions = models.JSONField(_("permissions"), default=default_permissions)

    admin_area = Area.LOCATIONS
    location_path = None
    audit_fields = ("use_custom", "permissions")

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(location__isnull=False, person__isnull=True)
                                   | Q(location__isnull=True, person__isnull=False),
                                   name="outgoing_permission_location_or_person"),
        ]

    def __str__(self) -> str:
        return _("Outgoing permissions of %(owner)s") % {"owner": self.location or self.person}

    def blocked(self) -> set[str]:
        return {ct for ct, p in self.permissions.items() if p.get("action") == PermissionAction.BLOCK}


class TranslationPattern(OrgOwned):
    """Rewrites dialled digits before routing (Webex translation pattern), for a location or the organisation.

    Pattern syntax as Control Hub: digits, `X` for any one digit, `!` (last) for one or more digits, an optional
    leading `+`. In the replacement, each run of `X` (or `!`) takes the digits of the matching pattern's run at
    the same position (calling/dialplan.py).
    """

    location = models.ForeignKey("controlhub.Location", null=True, blank=True, on_delete=models.CASCADE,
                                 related_name="translation_patterns", verbose_name=_("location"))
    name = models.CharField(_("name"), max_length=60)
    matching_pattern = models.CharField(_("matching pattern"), max_length=32)
    replacement_pattern = models.CharField(_("replacement pattern"), max_length=32)

    admin_area = Area.ORGANIZATION
    location_path = None
    audit_fields = ("name", "location", "matching_pattern", "replacement_pattern")

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "location", "name"],
                                    name="translation_pattern_name_unique",
                                    violation_error_message=_("A translation pattern with this name exists.")),
            models.UniqueConstraint(fields=["organization", "location", "matching_pattern"],
                                    name="translation_pattern_match_unique",
                                    violation_error_message=_("Another translation pattern already matches "
                                                              "this pattern.")),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.matching_pattern} → {self.replacement_pattern})"

    @property
    def level(self) -> str:
        return "Location" if self.location_id else "Organization"


class DialPlan(PremisesRoute, OrgOwned):
    """Premises dial plan: calls to numbers matching one of its dial patterns go to its trunk or route group
    instead of the caller location's PSTN connection (Webex `premisePstn/dialPlans`)."""

    name = models.CharField(_("name"), max_length=100)
    trunk = models.ForeignKey(Trunk, null=True, blank=True, on_delete=models.PROTECT, related_name="dial_plans",
                              verbose_name=_("trunk"))
    route_group = models.ForeignKey(RouteGroup, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="dial_plans", verbose_name=_("route group"))

    admin_area = Area.ORGANIZATION
    location_path = None
    audit_fields = ("name", "trunk", "route_group")

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="dial_plan_name_unique_in_org",
                                    violation_error_message=_("A dial plan with this name already exists.")),
            models.CheckConstraint(condition=Q(trunk__isnull=False, route_group__isnull=True)
                                   | Q(trunk__isnull=True, route_group__isnull=False),
                                   name="dial_plan_trunk_or_route_group"),
        ]

    def __str__(self) -> str:
        return self.name


class DialPattern(models.Model):
    """One pattern of a dial plan (+E.164 digits, `X` for a digit, `!` last for one or more); unique per
    organisation, so a number never has two premises routes."""

    organization = models.ForeignKey("controlhub.Organization", on_delete=models.CASCADE, related_name="+")
    dial_plan = models.ForeignKey(DialPlan, on_delete=models.CASCADE, related_name="patterns")
    pattern = models.CharField(_("dial pattern"), max_length=32)

    class Meta:
        ordering = ["pattern"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "pattern"], name="dial_pattern_unique_in_org",
                                    violation_error_message=_("This dial pattern is already in a dial plan.")),
        ]

    def __str__(self) -> str:
        return self.pattern
