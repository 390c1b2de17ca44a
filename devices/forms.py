"""Portal forms for desk phones: add by MAC for a person or workspace, and the lines on its ports."""
from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.urls import reverse_lazy
from django.utils.translation import gettext_lazy as _

from calling.models import Line
from calling.validators import normalize_number
from users.models import Person, Workspace

from .models import DeviceStatus, LineType, SupportedDevice
from .validators import normalize_mac


class OwnerKind:
    PERSON = "person"
    WORKSPACE = "workspace"
    CHOICES = [(PERSON, _("User")), (WORKSPACE, _("Workspace"))]


class DeviceAddForm(forms.Form):
    mac = forms.CharField(label=_("MAC address"), max_length=32,
                          widget=forms.TextInput(attrs={"placeholder": "00:1A:2B:3C:4D:5E", "autocomplete": "off",
                                                        "spellcheck": "false"}),
                          help_text=_("Printed on the phone's label; any common notation is accepted."))
    model = forms.ModelChoiceField(label=_("Model"), queryset=SupportedDevice.objects.all(),
                                   empty_label=_("Choose a model"))
    owner_kind = forms.ChoiceField(label=_("Assign to"), choices=OwnerKind.CHOICES, initial=OwnerKind.PERSON,
                                   widget=forms.RadioSelect)
    owner = forms.CharField(label=_("User email or workspace name"), max_length=254,
                            widget=forms.TextInput(attrs={
                                "autocomplete": "off", "list": "owner-suggestions",
                                "hx-get": reverse_lazy("devices:owner_suggestions"), "hx-target": "#owner-suggestions",
                                "hx-trigger": "input changed delay:250ms", "hx-include": "[name=owner_kind]"}))

    def __init__(self, *args, account=None, organization=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.account, self.organization = account, organization
        self.owner_object = None

    def clean_mac(self):
        return normalize_mac(self.cleaned_data["mac"])  # the shared validator: every bad MAC named at once

    def clean(self):
        data = super().clean()
        kind, text = data.get("owner_kind"), (data.get("owner") or "").strip()
        if kind and text:
            if kind == OwnerKind.PERSON:
                self.owner_object = Person.objects.restrict(self.account).with_email(text).filter(
                    organization=self.organization).select_related("line").first()
                if self.owner_object is None:
                    self.add_error("owner", _("No user with the email “%(value)s” in this organization.")
                                   % {"value": text})
            else:
                self.owner_object = Workspace.objects.restrict(self.account).filter(
                    organization=self.organization, display_name__iexact=text).select_related("line").first()
                if self.owner_object is None:
                    self.add_error("owner", _("No workspace named “%(value)s” in this organization.")
                                   % {"value": text})
        return data


class DeviceFilterForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False,
                        widget=forms.SearchInput(attrs={"placeholder": _("MAC, user or workspace")}))
    model = forms.ModelChoiceField(label=_("Model"), queryset=SupportedDevice.objects.all(), required=False,
                                   empty_label=_("All models"))
    status = forms.ChoiceField(label=_("Status"), required=False,
                               choices=[("", _("All statuses"))] + DeviceStatus.choices)

    def filter(self, queryset):
        if not self.is_valid():
            return queryset
        data = self.cleaned_data
        if data.get("q"):
            text = data["q"].strip()
            mac = "".join(c for c in text.lower() if c in "0123456789abcdef")
            condition = (Q(person__display_name__icontains=text) | Q(person__email__icontains=text)
                         | Q(workspace__display_name__icontains=text))
            if mac:
                condition |= Q(mac__contains=mac)
            queryset = queryset.filter(condition)
        if data.get("model"):
            queryset = queryset.filter(model=data["model"])
        if data.get("status"):
            queryset = queryset.filter(status=data["status"])
        return queryset


class DeviceLineForm(forms.Form):
    port = forms.IntegerField(label=_("Port"), min_value=1, max_value=99)
    line = forms.CharField(label=_("Line"), max_length=254,
                           help_text=_("Extension, phone number, user email or workspace name."))
    line_type = forms.ChoiceField(label=_("Appearance"), choices=LineType.choices,
                                  initial=LineType.SHARED_CALL_APPEARANCE)
    line_label = forms.CharField(label=_("Label"), max_length=64, required=False)

    def __init__(self, *args, lines=None, country="US", **kwargs):
        super().__init__(*args, **kwargs)
        self.lines = lines if lines is not None else Line.objects.none()
        self.country = country
        self.line_object = None

    def clean_line(self):
        text = self.cleaned_data["line"].strip()
        condition = Q(extension=text) | Q(person__email__iexact=text) | Q(workspace__display_name__iexact=text)
        try:
            condition |= Q(number__e164=normalize_number(text, self.country))
        except ValidationError:
            pass
        found = list(self.lines.filter(condition).select_related("person", "workspace", "number")[:2])
        if not found:
            raise ValidationError(_("No calling user or workspace has the extension, number, email or name "
                                    "“%(value)s”.") % {"value": text})
        if len(found) > 1:
            raise ValidationError(_("“%(value)s” matches more than one line; use the extension instead.")
                                  % {"value": text})
        self.line_object = found[0]
        return text


class BaseDeviceLineFormSet(forms.BaseFormSet):
    def __init__(self, *args, lines=None, country="US", **kwargs):
        self.lines, self.country = lines, country
        super().__init__(*args, **kwargs)

    def get_form_kwargs(self, index):
        return {**super().get_form_kwargs(index), "lines": self.lines, "country": self.country}

    @property
    def empty_form(self):
        form = self.form(auto_id=self.auto_id, prefix=self.add_prefix("__prefix__"), empty_permitted=True,
                         use_required_attribute=False, lines=self.lines, country=self.country)
        self.add_fields(form, None)
        return form


DeviceLineFormSet = forms.formset_factory(DeviceLineForm, formset=BaseDeviceLineFormSet, extra=2, can_delete=True,
                                          max_num=99, validate_max=True)
