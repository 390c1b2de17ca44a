"""Forms of the SSO settings page: upload IdP metadata, and the sign-in options."""
from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from controlhub.models import Account
from controlhub.roles import Role

from .sso import MAPPABLE_ROLES

MAX_METADATA_BYTES = 1_000_000


class MetadataUploadForm(forms.Form):
    metadata = forms.FileField(label=_("IdP metadata file (XML)"),
                               help_text=_("Download it from your identity provider: it names the IdP's entity ID, "
                                           "single sign-on URL and signing certificate."))

    def clean_metadata(self) -> bytes:
        upload = self.cleaned_data["metadata"]
        if upload.size > MAX_METADATA_BYTES:
            raise ValidationError(_("The metadata file is larger than 1 MB."))
        return upload.read()


class SsoSettingsForm(forms.Form):
    email_attribute = forms.CharField(
        label=_("Email attribute"), required=False, max_length=200,
        help_text=_("Attribute with the person's email when the NameID is not an email address (transient). "
                    "Empty: mail, email or the emailaddress claim."))
    group_attribute = forms.CharField(label=_("Group attribute"), required=False, max_length=200,
                                      help_text=_("Attribute listing the person's groups, e.g. groups or memberOf."))
    role_mapping = forms.CharField(
        label=_("Groups that grant administrator roles"), required=False, widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("One per line: group = role, where role is one of %(roles)s.")
        % {"roles": ", ".join(MAPPABLE_ROLES)})
    break_glass = forms.ModelMultipleChoiceField(
        label=_("Break-glass administrators"), required=False, queryset=Account.objects.none(),
        widget=forms.CheckboxSelectMultiple,
        help_text=_("These administrators may still sign in with their password while single sign-on is on."))

    def __init__(self, *args, organization=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["break_glass"].queryset = Account.objects.filter(
            admin_roles__organization=organization, admin_roles__role=Role.FULL_ADMIN).distinct().order_by("email")

    def clean_role_mapping(self) -> dict:
        mapping = {}
        for number, line in enumerate(self.cleaned_data["role_mapping"].splitlines(), start=1):
            if not line.strip():
                continue
            group, sep, role = line.partition("=")
            group, role = group.strip(), role.strip().upper()
            if not sep or not group or role not in MAPPABLE_ROLES:
                raise ValidationError(_("Line %(n)s: write group = role, with role one of %(roles)s."),
                                      params={"n": number, "roles": ", ".join(MAPPABLE_ROLES)})
            mapping[group] = role
        return mapping

    @staticmethod
    def mapping_text(mapping: dict) -> str:
        return "\n".join(f"{group} = {role}" for group, role in sorted(mapping.items()))
