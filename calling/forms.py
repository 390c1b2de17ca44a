"""Portal forms for numbers and calling (location, number, extension of a person or workspace)."""
import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from controlhub.models import Location
from users.forms import PersonForm, location_choices, person_licenses
from users.models import License

from .models import Number, NumberState
from .validators import normalize_number

FREE_NUMBER_LIMIT = 300


def free_number_choices(location: Location | None, current: str | None = None) -> list[tuple[str, str]]:
    """Options for the number select: the location's numbers nobody owns (plus the one the owner has now)."""
    choices = [("", _("No phone number"))]
    if current:
        choices.append((current, current))
    if location is not None:
        free = (Number.objects.filter(location=location, line__isnull=True).exclude(e164=current or "")
                .order_by("e164").values_list("e164", "state")[:FREE_NUMBER_LIMIT])
        for e164, state in free:
            label = e164 if state == NumberState.ACTIVE else f"{e164} ({NumberState(state).label})"
            choices.append((e164, label))
    return choices


class CallingFieldsMixin:
    """Adds the free-number select for the location chosen in the bound data, else the initial one."""

    def _setup_number_choices(self, location_field: str = "location", current: str | None = None):
        location = None
        raw = self.data.get(self.add_prefix(location_field)) if self.is_bound else None
        queryset = self.fields[location_field].queryset
        if raw:
            try:
                location = queryset.filter(pk=raw).first()
            except (ValueError, TypeError, ValidationError):  # a malformed id is simply "no location"
                location = None
        if location is None and not self.is_bound:
            location = self.initial.get(location_field)
        self.fields["phone_number"].widget.choices = free_number_choices(location, current)


def _number_field():
    return forms.CharField(label=_("Phone number"), required=False, max_length=32, widget=forms.Select(),
                           help_text=_("Free numbers of the chosen location."))


def _extension_field():
    return forms.CharField(label=_("Extension"), required=False, max_length=10,
                           widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
                           help_text=_("2 to 10 digits, unique in the organization."))


class CallingForm(CallingFieldsMixin, forms.Form):
    location = forms.ModelChoiceField(label=_("Location"), queryset=Location.objects.none())
    phone_number = _number_field()
    extension = _extension_field()

    def __init__(self, *args, account=None, organization=None, line=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["location"].queryset = location_choices(account, organization)
        if line is not None:
            # The location of a calling user is fixed (Control Hub's rule); show it, don't offer to change it.
            self.fields["location"].disabled = True
            self.fields["location"].help_text = _("The location of a calling user cannot be changed.")
        self._setup_number_choices(current=line.number.e164 if line is not None and line.number else None)


class PersonCreateForm(CallingFieldsMixin, PersonForm):
    licenses = forms.ModelMultipleChoiceField(label=_("Services"), queryset=License.objects.none(), required=False,
                                              widget=forms.CheckboxSelectMultiple)
    phone_number = _number_field()
    extension = _extension_field()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["licenses"].queryset = person_licenses(self.organization)
        self.fields["phone_number"].help_text = _("Give a number and/or an extension to set up calling now "
                                                  "(a Webex Calling licence is added if none is chosen).")
        self._setup_number_choices()


class NumberRangeForm(forms.Form):
    location = forms.ModelChoiceField(label=_("Location"), queryset=Location.objects.none())
    start = forms.CharField(label=_("First number"), max_length=32,
                            widget=forms.TextInput(attrs={"inputmode": "tel", "placeholder": "+14085550100"}))
    end = forms.CharField(label=_("Last number"), max_length=32, required=False,
                          widget=forms.TextInput(attrs={"inputmode": "tel", "placeholder": "+14085550199"}),
                          help_text=_("Leave empty to add a single number. At most 1000 numbers at a time."))
    state = forms.ChoiceField(label=_("State"), choices=NumberState.choices, initial=NumberState.INACTIVE)

    def __init__(self, *args, account=None, organization=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["location"].queryset = Location.objects.restrict(account, "change").filter(
            organization=organization)

    def clean(self):
        """Read both ends with the location's country so a bad one is named next to its own field."""
        data = super().clean()
        location = data.get("location")
        for name in ("start", "end"):
            if location is not None and data.get(name):
                try:
                    data[name] = normalize_number(data[name], location.country)
                except ValidationError as exc:
                    self.add_error(name, exc.messages)
        return data


class NumberFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(field_name="e164", lookup_expr="contains", label=_("Number contains"))
    location = django_filters.ModelChoiceFilter(queryset=Location.objects.none(), label=_("Location"))
    state = django_filters.ChoiceFilter(choices=NumberState.choices, label=_("State"))
    assigned = django_filters.BooleanFilter(field_name="line", lookup_expr="isnull", exclude=True,
                                            label=_("Assigned"))

    class Meta:
        model = Number
        fields: list[str] = []

    def __init__(self, *args, organization=None, account=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.filters["location"].queryset = location_choices(account, organization)


class NumberBulkForm(forms.Form):
    ACTIONS = [("activate", _("Activate")), ("deactivate", _("Deactivate")), ("main", _("Set as main number")),
               ("remove", _("Remove"))]
    numbers = forms.ModelMultipleChoiceField(queryset=Number.objects.none(), label=_("Numbers"),
                                             error_messages={"required": _("Select at least one number.")})
    action = forms.ChoiceField(choices=ACTIONS, label=_("Action"))

    def __init__(self, *args, queryset=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["numbers"].queryset = queryset

    def clean(self):
        data = super().clean()
        if data.get("action") == "main" and len(data.get("numbers") or []) != 1:
            self.add_error("numbers", _("Select exactly one number to make it the main number."))
        return data
