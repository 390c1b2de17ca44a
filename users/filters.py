"""One filterset for people: the Users table, `/v1/people` and (later) the CSV export filter the same way."""
import django_filters
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from controlhub.models import Location

from .models import PERSON_SERVICE_FLAGS, LicenseKind, Person, PersonStatus

PERSON_ORDERINGS = {
    # public name -> model ordering; every ordering ends in a unique column so pages never overlap
    "name": ("display_name", "id"),
    "-name": ("-display_name", "-id"),
    "email": ("email",),
    "-email": ("-email",),
    "last_name": ("last_name", "first_name", "id"),
    "-last_name": ("-last_name", "-first_name", "-id"),
    "extension": ("line__extension", "id"),
    "-extension": ("-line__extension", "-id"),
    "location": ("location__name", "display_name", "id"),
    "-location": ("-location__name", "-display_name", "-id"),
}


class PersonFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label=_("Search"))
    email = django_filters.CharFilter(method="email_is", label=_("Email"))
    display_name = django_filters.CharFilter(field_name="display_name", lookup_expr="istartswith")
    location = django_filters.ModelChoiceFilter(queryset=Location.objects.none(), label=_("Location"))
    service = django_filters.ChoiceFilter(choices=[(kind, LicenseKind(kind).label) for kind in PERSON_SERVICE_FLAGS],
                                          method="holding", label=_("Service"), empty_label=_("All"))
    status = django_filters.ChoiceFilter(choices=PersonStatus.choices, label=_("Status"), empty_label=_("All"))
    calling = django_filters.BooleanFilter(field_name="line", lookup_expr="isnull", exclude=True,
                                           label=_("Has calling"))
    sort = django_filters.ChoiceFilter(choices=[(k, k) for k in PERSON_ORDERINGS], method="order",
                                       label=_("Sort"))

    class Meta:
        model = Person
        fields: list[str] = []

    def __init__(self, *args, organization=None, account=None, **kwargs):
        super().__init__(*args, **kwargs)
        if organization is not None:
            locations = Location.objects.filter(organization=organization)
            if account is not None:
                locations = locations.restrict(account)
            self.filters["location"].queryset = locations

    def holding(self, queryset, name, value):
        return queryset.holding(value)

    def email_is(self, queryset, name, value):
        return queryset.with_email(value)

    def search(self, queryset, name, value):
        """Free text over name, email, extension and number: what an admin types into the Users search box."""
        value = value.strip()
        if not value:
            return queryset
        condition = (Q(display_name__icontains=value) | Q(email__icontains=value)
                     | Q(first_name__icontains=value) | Q(last_name__icontains=value))
        if value.lstrip("+").isdigit():
            condition |= Q(line__extension__startswith=value) | Q(line__number__e164__contains=value)
        return queryset.filter(condition)

    def order(self, queryset, name, value):
        return queryset.order_by(*PERSON_ORDERINGS.get(value, PERSON_ORDERINGS["name"]))

    @property
    def qs(self):
        queryset = super().qs
        if not queryset.query.order_by:
            queryset = queryset.order_by(*PERSON_ORDERINGS["name"])
        return queryset
