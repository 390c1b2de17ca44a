"""Supported Cisco MPP models, desk phones by MAC, and their line appearances."""
import secrets
import uuid

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from controlhub.models import OrgOwned
from controlhub.roles import Area


class SupportedDevice(models.Model):
    """A phone model we can provision (catalogue, shared by all organisations)."""

    model = models.CharField(max_length=40, primary_key=True)  # Webex's name, e.g. "DMS Cisco 8851"
    display_name = models.CharField(max_length=60)                # "Cisco 8851"
    product_code = models.CharField(max_length=8, unique=True)    # "8851": what the phone reports as CP-8851-3PCC
    family = models.CharField(max_length=40)                      # "Cisco 8800 Series"
    line_ports = models.PositiveSmallIntegerField()
    line_key_buttons = models.PositiveSmallIntegerField()
    kem_module_count = models.PositiveSmallIntegerField(default=0)
    touch_screen = models.BooleanField(default=False)

    class Meta:
        ordering = ["product_code"]

    def __str__(self) -> str:
        return self.display_name


class DeviceStatus(models.TextChoices):
    PENDING = "PENDING", _("Pending")      # added, never fetched its configuration
    ONLINE = "ONLINE", _("Online")
    OFFLINE = "OFFLINE", _("Offline")


def new_secret() -> str:
    return secrets.token_urlsafe(18)


class Device(OrgOwned):
    """A desk phone, identified by its MAC address, owned by a person or a workspace."""

    mac = models.CharField(_("MAC address"), max_length=12, unique=True)
    model = models.ForeignKey(SupportedDevice, on_delete=models.PROTECT, verbose_name=_("model"))
    person = models.ForeignKey("users.Person", null=True, blank=True, on_delete=models.CASCADE,
                               related_name="devices")
    workspace = models.ForeignKey("users.Workspace", null=True, blank=True, on_delete=models.CASCADE,
                                  related_name="devices")
    location = models.ForeignKey("controlhub.Location", on_delete=models.PROTECT, related_name="devices",
                                 verbose_name=_("location"))
    status = models.CharField(_("status"), max_length=8, choices=DeviceStatus.choices, default=DeviceStatus.PENDING)
    # HTTP credentials the phone presents to the provisioning server (per device, so one lost phone is revoked alone)
    provisioning_user = models.CharField(max_length=40, default=new_secret, editable=False)
    provisioning_password = models.CharField(max_length=40, default=new_secret, editable=False)
    first_seen = models.DateTimeField(null=True, blank=True)
    last_seen = models.DateTimeField(null=True, blank=True)
    # Trust on first fetch: while the device has never been seen, the provisioning server serves its file once
    # without HTTP auth under this token (the file carries the credentials); a new token re-opens that door once.
    first_contact_token = models.CharField(max_length=40, default=new_secret, editable=False)

    admin_area = Area.DEVICES
    audit_fields = ("mac", "model", "person", "workspace", "location", "status")

    class Meta:
        ordering = ["mac"]
        constraints = [
            models.CheckConstraint(
                condition=Q(person__isnull=False, workspace__isnull=True) | Q(person__isnull=True,
                                                                              workspace__isnull=False),
                name="device_exactly_one_owner",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.model.display_name} {self.mac_display}"

    @property
    def owner(self):
        return self.person or self.workspace

    @property
    def mac_display(self) -> str:
        return ":".join(self.mac[i:i + 2] for i in range(0, 12, 2)).upper()


class LineType(models.TextChoices):
    PRIMARY = "PRIMARY", _("Primary")
    SHARED_CALL_APPEARANCE = "SHARED_CALL_APPEARANCE", _("Shared line")


def new_auth_id() -> str:
    return secrets.token_hex(8)


class DeviceLine(models.Model):
    """One appearance of a line on a device port, with its own digest credentials (DESIGN section 4)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="lines")
    line = models.ForeignKey("calling.Line", on_delete=models.CASCADE, related_name="appearances")
    port = models.PositiveSmallIntegerField(_("port"))
    line_type = models.CharField(_("line type"), max_length=24, choices=LineType.choices, default=LineType.PRIMARY)
    line_label = models.CharField(_("line label"), max_length=64, blank=True)
    auth_id = models.CharField(max_length=32, unique=True, default=new_auth_id, editable=False)
    auth_password = models.CharField(max_length=40, default=new_secret, editable=False)

    class Meta:
        ordering = ["device", "port"]
        constraints = [
            models.UniqueConstraint(fields=["device", "port"], name="deviceline_port_unique"),
            models.UniqueConstraint(fields=["device", "line"], name="deviceline_line_once_per_device"),
            models.CheckConstraint(condition=Q(port__gte=1), name="deviceline_port_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.device} port {self.port}"
