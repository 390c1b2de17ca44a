"""Portal forms for people and workspaces. Plain forms: they parse; the domain actions validate and save."""
from django import forms
from django.utils.translation import gettext_lazy as _

from controlhub.models import Location

from .models import License, LicenseKind, PersonStatus, WorkspaceType


def location_choices(account, organization):
    return Location.objects.restrict(account).filter(organization=organization).order_by("name")


class PersonForm(forms.Form):
    email = forms.EmailField(label=_("Email"), max_length=254,
                             widget=forms.EmailInput(attrs={"autocomplete": "off"}))
    first_name = forms.CharField(label=_("First name"), max_length=64, required=False)
    last_name = forms.CharField(label=_("Last name"), max_length=64, required=False)
    display_name = forms.CharField(label=_("Display name"), max_length=128, required=False,
                                   help_text=_("Leave empty to use the first and last name."))
    title = forms.CharField(label=_("Title"), max_length=128, required=False)
    department = forms.CharField(label=_("Department"), max_length=128, required=False)
    status = forms.ChoiceField(label=_("Status"), choices=PersonStatus.choices, initial=PersonStatus.INVITE_PENDING)
    location = forms.ModelChoiceField(label=_("Location"), queryset=Location.objects.none(), required=False,
                                      empty_label=_("No location"))

    def __init__(self, *args, account=None, organization=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.organization = organization
        self.fields["location"].queryset = location_choices(account, organization)

    PERSON_FIELDS = ("email", "first_name", "last_name", "display_name", "title", "department", "status", "location")

    def person_data(self) -> dict:
        return {name: self.cleaned_data.get(name) for name in self.PERSON_FIELDS}


def person_licenses(organization):
    # Workspaces use their own calling licence; people choose among the others.
    return License.objects.filter(organization=organization).exclude(kind=LicenseKind.CALLING_WORKSPACES)


class ServicesForm(forms.Form):
    licenses = forms.ModelMultipleChoiceField(label=_("Services"), queryset=License.objects.none(), required=False,
                                              widget=forms.CheckboxSelectMultiple)

    def __init__(self, *args, organization=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["licenses"].queryset = person_licenses(organization)


class WorkspaceForm(forms.Form):
    display_name = forms.CharField(label=_("Name"), max_length=128)
    location = forms.ModelChoiceField(label=_("Location"), queryset=Location.objects.none())
    capacity = forms.IntegerField(label=_("Capacity"), min_value=0, max_value=10000, required=False)
    type = forms.ChoiceField(label=_("Type"), choices=WorkspaceType.choices, initial=WorkspaceType.NOT_SET)

    def __init__(self, *args, account=None, organization=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["location"].queryset = location_choices(account, organization)

    def workspace_data(self) -> dict:
        return {name: self.cleaned_data.get(name) for name in ("display_name", "location", "capacity", "type")}
