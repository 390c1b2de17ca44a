"""Per-organisation SAML single sign-on: the organisation's IdP, assertions already used, and sign-in attempts.

Kept apart from `users.models` (imported at its end so Django registers them) because they belong to the
SSO integration (`users.sso`), not to the people directory.
"""
from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from controlhub.models import OrgOwned, RestrictedQuerySet
from controlhub.roles import Area


class IdentityProvider(OrgOwned):
    """An organisation's SAML IdP, from its uploaded metadata. One per organisation."""

    organization = models.OneToOneField("controlhub.Organization", on_delete=models.CASCADE,
                                        related_name="identity_provider")
    entity_id = models.CharField(_("IdP entity ID"), max_length=500)
    sso_url = models.URLField(_("single sign-on URL"), max_length=500)
    slo_url = models.URLField(_("single logout URL"), max_length=500, blank=True)
    # PEM bodies (base64, no headers) of the IdP's signing certificates; usually one, two during a rollover.
    signing_certificates = models.JSONField(default=list)
    certificate_not_after = models.DateTimeField(_("certificate valid until"), null=True, blank=True)
    name_id_format = models.CharField(_("NameID format"), max_length=200, blank=True)
    metadata_xml = models.TextField(blank=True)
    enabled = models.BooleanField(_("enabled"), default=False)
    # Set by a successful "Test SSO" run; cleared whenever new metadata is uploaded. Enabling requires it.
    tested_at = models.DateTimeField(_("last successful test"), null=True, blank=True)
    # Attribute carrying the person's email when the NameID is not one (transient NameIDs).
    email_attribute = models.CharField(_("email attribute"), max_length=200, blank=True)
    group_attribute = models.CharField(_("group attribute"), max_length=200, blank=True)
    role_mapping = models.JSONField(_("group to role mapping"), default=dict, blank=True)
    # Administrators who may still sign in with a password while SSO is enabled (when the IdP is down).
    break_glass_accounts = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="+",
                                                  verbose_name=_("break-glass administrators"))

    location_path = None
    admin_area = Area.ORGANIZATION
    audit_fields = ("entity_id", "sso_url", "slo_url", "certificate_not_after", "name_id_format", "enabled",
                    "tested_at", "email_attribute", "group_attribute", "role_mapping", "break_glass_accounts")

    class Meta:
        verbose_name = _("identity provider")

    def __str__(self) -> str:
        return self.entity_id


class SeenAssertion(models.Model):
    """An assertion ID already used to sign in, remembered until it expires (replay protection)."""

    id = models.BigAutoField(primary_key=True)
    organization = models.ForeignKey("controlhub.Organization", on_delete=models.CASCADE, related_name="+")
    assertion_id = models.CharField(max_length=200)
    expires = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organization", "assertion_id"],
                                               name="seenassertion_unique_per_org")]
        indexes = [models.Index(fields=["expires"])]

    def __str__(self) -> str:
        return self.assertion_id


class SignInOutcome(models.TextChoices):
    SIGNED_IN = "signed_in", _("Signed in")
    TESTED = "tested", _("Test succeeded")
    REFUSED = "refused", _("Refused")


class SsoSignIn(OrgOwned):
    """One SAML sign-in attempt (or test) at an organisation's ACS; its audit event carries the outcome."""

    outcome = models.CharField(_("outcome"), max_length=16, choices=SignInOutcome.choices)
    reason = models.CharField(_("reason"), max_length=500, blank=True)
    name_id = models.CharField(_("NameID"), max_length=254, blank=True)
    email = models.CharField(_("email"), max_length=254, blank=True)
    person = models.ForeignKey("users.Person", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    remote_addr = models.GenericIPAddressField(null=True, blank=True)

    objects = RestrictedQuerySet.as_manager()
    location_path = None
    admin_area = Area.AUDIT
    audit_fields = ("outcome", "reason", "name_id", "email", "person", "remote_addr")

    class Meta:
        verbose_name = _("SSO sign-in")
        ordering = ["-created"]

    def __str__(self) -> str:
        return f"{self.get_outcome_display()}: {self.email or self.name_id or '?'}"
