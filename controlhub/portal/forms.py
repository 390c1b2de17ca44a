"""Portal forms for the hub core: locations, the organisation switcher, the audit-log filter."""
import zoneinfo

import django_filters
from django import forms
from django.forms.models import fields_for_model
from django.utils.translation import gettext_lazy as _

from controlhub.actions import LOCATION_FIELDS
from controlhub.models import AuditAction, AuditEvent, AuditSource, Location

TIME_ZONES = sorted(zoneinfo.available_timezones())


class LocationForm(forms.Form):
    """Plain form (not a ModelForm): the domain action validates and saves; the form only parses."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields.update(fields_for_model(Location, fields=LOCATION_FIELDS))
        self.fields["time_zone"] = forms.TypedChoiceField(
            label=_("time zone"), choices=[("", "—")] + [(tz, tz) for tz in TIME_ZONES])
        self.fields["country"].widget.attrs.update(maxlength=2, size=3, autocomplete="country",
                                                   style="text-transform: uppercase")
        self.fields["country"].help_text = _("Two-letter ISO code, e.g. US or SE.")
        self.fields["routing_prefix"].help_text = _("Digits dialled before an extension to reach this location.")
        self.fields["outside_dial_digit"].help_text = _("Digit dialled to reach an outside line, e.g. 9.")
        self.fields["address1"].widget.attrs["autocomplete"] = "address-line1"
        self.fields["address2"].widget.attrs["autocomplete"] = "address-line2"
        self.fields["city"].widget.attrs["autocomplete"] = "address-level2"
        self.fields["postal_code"].widget.attrs["autocomplete"] = "postal-code"

    def clean_country(self):
        return (self.cleaned_data.get("country") or "").strip().upper()

    def action_data(self) -> dict:
        return {name: self.cleaned_data.get(name) for name in LOCATION_FIELDS}


OBJECT_TYPES = [
    ("organization", _("Organization")),
    ("location", _("Location")),
    ("number", _("Phone number")),
    ("person", _("User")),
    ("workspace", _("Workspace")),
    ("line", _("Calling line")),
    ("device", _("Device")),
    ("license", _("Licence")),
]


class AuditEventFilterSet(django_filters.FilterSet):
    object_type = django_filters.ChoiceFilter(choices=OBJECT_TYPES, label=_("Object type"))
    action = django_filters.ChoiceFilter(choices=AuditAction.choices, label=_("Action"))
    actor = django_filters.CharFilter(field_name="actor_email", lookup_expr="icontains", label=_("Changed by"))
    source = django_filters.ChoiceFilter(choices=AuditSource.choices, label=_("Source"))
    since = django_filters.DateFilter(field_name="created", lookup_expr="date__gte", label=_("From date"),
                                      widget=forms.DateInput(attrs={"type": "date"}))
    until = django_filters.DateFilter(field_name="created", lookup_expr="date__lte", label=_("To date"),
                                      widget=forms.DateInput(attrs={"type": "date"}))
    q = django_filters.CharFilter(field_name="object_repr", lookup_expr="icontains", label=_("Object name"))

    class Meta:
        model = AuditEvent
        fields: list[str] = []
