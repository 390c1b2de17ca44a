"""Portal forms for numbers and calling (location, number, extension of a person or workspace)."""
import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from controlhub.models import Location
from users.forms import PersonForm, location_choices, person_licenses
from users.models import License

from .models import CallType, Number, NumberState, PermissionAction, RouteGroup, Trunk, TrunkTransport, TrunkType
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


# --------------------------------------------------------------------------------------------- local gateways


class TrunkForm(forms.Form):
    """Add a local gateway: registering (credentials generated) or certificate-based (address, port, domain)."""

    name = forms.CharField(label=_("Name"), max_length=100)
    location = forms.ModelChoiceField(label=_("Location"), queryset=Location.objects.none())
    trunk_type = forms.ChoiceField(label=_("Trunk type"), choices=TrunkType.choices, initial=TrunkType.REGISTERING,
                                   widget=forms.RadioSelect,
                                   help_text=_("A registering gateway registers with generated credentials; a "
                                               "certificate-based one is reached at its address and port."))
    password = forms.CharField(label=_("Password"), max_length=64, required=False,
                               widget=forms.TextInput(attrs={"autocomplete": "off"}),
                               help_text=_("Leave empty to generate one."))
    address = forms.CharField(label=_("Address"), max_length=253, required=False,
                              help_text=_("FQDN or IP address of the gateway (certificate-based)."))
    port = forms.IntegerField(label=_("Port"), required=False, min_value=1, max_value=65535)
    domain = forms.CharField(label=_("Domain"), max_length=253, required=False,
                             help_text=_("The domain of the gateway's certificate (certificate-based)."))
    transport = forms.ChoiceField(label=_("Transport"), choices=TrunkTransport.choices, initial=TrunkTransport.TLS)
    max_concurrent_calls = forms.IntegerField(label=_("Maximum concurrent calls"), min_value=1, max_value=10000,
                                              initial=250)
    dual_identity_support_enabled = forms.BooleanField(label=_("Dual identity support"), required=False)

    def __init__(self, *args, account=None, organization=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["location"].queryset = location_choices(account, organization)

    def action_data(self) -> dict:
        data = dict(self.cleaned_data)
        if data["trunk_type"] == TrunkType.REGISTERING:
            for name in ("address", "port", "domain"):
                data.pop(name)
        return data


class TrunkEditForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    password = forms.CharField(label=_("Password"), max_length=64, required=False,
                               widget=forms.TextInput(attrs={"autocomplete": "off"}),
                               help_text=_("Leave empty to keep the current password."))
    port = forms.IntegerField(label=_("Port"), required=False, min_value=1, max_value=65535)
    transport = forms.ChoiceField(label=_("Transport"), choices=TrunkTransport.choices)
    max_concurrent_calls = forms.IntegerField(label=_("Maximum concurrent calls"), min_value=1, max_value=10000)
    dual_identity_support_enabled = forms.BooleanField(label=_("Dual identity support"), required=False)

    def __init__(self, *args, trunk=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.trunk = trunk
        if trunk is not None and trunk.is_registering:
            del self.fields["port"]
            del self.fields["transport"]

    def action_data(self) -> dict:
        data = dict(self.cleaned_data)
        if not data.get("password"):
            data.pop("password", None)
        return data


class LocationPstnForm(forms.Form):
    """A location's PSTN connection: none, one trunk or one route group of the organisation."""

    connection = forms.ChoiceField(label=_("PSTN connection"), required=False,
                                   help_text=_("Off-net calls of this location's users go out through this local "
                                               "gateway or route group."))

    def __init__(self, *args, organization=None, **kwargs):
        super().__init__(*args, **kwargs)
        trunks = Trunk.objects.filter(organization=organization).order_by("name")
        groups = RouteGroup.objects.filter(organization=organization).order_by("name")
        self.routes = {f"trunk:{t.pk}": t for t in trunks} | {f"rg:{g.pk}": g for g in groups}
        self.fields["connection"].choices = [("", _("No PSTN connection"))] + [
            (_("Trunks"), [(key, str(t)) for key, t in self.routes.items() if key.startswith("trunk:")]),
            (_("Route groups"), [(key, str(g)) for key, g in self.routes.items() if key.startswith("rg:")]),
        ]

    @staticmethod
    def key_of(route) -> str:
        if route is None:
            return ""
        return f"trunk:{route.pk}" if isinstance(route, Trunk) else f"rg:{route.pk}"

    def route(self):
        return self.routes.get(self.cleaned_data.get("connection") or "")


class RouteGroupForm(forms.Form):
    """A route group: its name and, per trunk of the organisation, a priority (empty: not a member)."""

    name = forms.CharField(label=_("Name"), max_length=100)

    def __init__(self, *args, organization=None, group=None, **kwargs):
        super().__init__(*args, **kwargs)
        current = {m.trunk_id: m.priority for m in group.members.all()} if group is not None else {}
        self.trunks = list(Trunk.objects.filter(organization=organization).select_related("location").order_by("name"))
        for trunk in self.trunks:
            self.fields[f"trunk_{trunk.pk}"] = forms.IntegerField(
                label=_("Priority of %(name)s") % {"name": trunk.name}, required=False, min_value=1, max_value=10,
                initial=current.get(trunk.pk), help_text=_("1 (first) to 10; empty: not in this route group."))

    def members(self) -> list:
        return [(t, self.cleaned_data[f"trunk_{t.pk}"]) for t in self.trunks
                if self.cleaned_data.get(f"trunk_{t.pk}") is not None]


# --------------------------------------------------------------------------------------------- dial plan


class OutgoingPermissionForm(forms.Form):
    """Per call type ALLOW/BLOCK (and whether transfers of such calls are allowed); for a person, whether their own
    permissions apply instead of their location's."""

    def __init__(self, *args, permissions: dict, for_person: bool = False, use_custom: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if for_person:
            self.fields["use_custom"] = forms.BooleanField(
                label=_("Use custom permissions for this person"), required=False, initial=use_custom,
                help_text=_("Off: the person's calls follow their location's outgoing permissions."))
        for call_type in CallType:
            current = permissions.get(call_type.value, {})
            self.fields[call_type.value] = forms.ChoiceField(
                label=call_type.label, choices=PermissionAction.choices,
                initial=current.get("action", PermissionAction.ALLOW))
            self.fields[f"{call_type.value}__transfer"] = forms.BooleanField(
                label=_("Allow transfer and forwarding of %(type)s") % {"type": call_type.label.lower()},
                required=False, initial=current.get("transferEnabled", True))

    def permissions(self) -> dict:
        return {ct: {"action": self.cleaned_data[ct], "transferEnabled": self.cleaned_data[f"{ct}__transfer"]}
                for ct in CallType.values}

    def rows(self):
        """(action field, transfer field) per call type, for a table."""
        return [(self[ct], self[f"{ct}__transfer"]) for ct in CallType.values]


class TranslationPatternForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=60)
    matching_pattern = forms.CharField(label=_("Matching pattern"), max_length=32,
                                       help_text=_("Digits, X for any digit, ! at the end for one or more digits; "
                                                   "e.g. 7XXX or 9011!."))
    replacement_pattern = forms.CharField(label=_("Replacement pattern"), max_length=32,
                                          help_text=_("Each group of X takes the digits of the matching pattern's "
                                                      "group in the same place, e.g. +14155550XXX."))
    location = forms.ModelChoiceField(label=_("Level"), queryset=None, required=False,
                                      empty_label=_("Organization (every location)"))

    def __init__(self, *args, locations=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["location"].queryset = locations


class DialPlanForm(LocationPstnForm):
    """A premises dial plan: name, its trunk or route group, one dial pattern per line."""

    name = forms.CharField(label=_("Name"), max_length=100)
    dial_patterns = forms.CharField(label=_("Dial patterns"), widget=forms.Textarea(attrs={"rows": 4}),
                                    required=False,
                                    help_text=_("One per line, +E.164 with X for a digit and ! at the end for "
                                                "more, e.g. +1212555XXXX."))

    field_order = ["name", "connection", "dial_patterns"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["connection"].label = _("Route calls to")
        self.fields["connection"].required = True
        self.fields["connection"].help_text = _("Calls to numbers matching a dial pattern leave through this trunk "
                                                "or route group instead of the caller location's PSTN connection.")

    def patterns(self) -> list[str]:
        return [p.strip() for p in self.cleaned_data.get("dial_patterns", "").splitlines() if p.strip()]


class CallRoutingTestForm(forms.Form):
    caller = forms.CharField(label=_("Caller"), max_length=254,
                             help_text=_("Email address, extension or number of a person or workspace."))
    destination = forms.CharField(label=_("Dialled digits"), max_length=64,
                                  help_text=_("What the caller dials: an extension, a number in any format."))
