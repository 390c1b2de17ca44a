"""Admin roles and what each may do, enforced once for portal and API (DESIGN section 9).

A role grants actions ("view", "change") on *areas*. Every restricted model names its area; querysets are
filtered by `RestrictedQuerySet.restrict(account, action)`, so views and API never re-implement scoping.
"""
from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    PARTNER_FULL_ADMIN = "PARTNER_FULL_ADMIN", _("Partner full administrator")
    FULL_ADMIN = "FULL_ADMIN", _("Full administrator")
    READ_ONLY_ADMIN = "READ_ONLY_ADMIN", _("Read-only administrator")
    USER_DEVICE_ADMIN = "USER_DEVICE_ADMIN", _("User and device administrator")
    LOCATION_ADMIN = "LOCATION_ADMIN", _("Location administrator")


class Area(models.TextChoices):
    ORGANIZATION = "organization"
    LOCATIONS = "locations"
    NUMBERS = "numbers"
    PEOPLE = "people"
    WORKSPACES = "workspaces"
    DEVICES = "devices"
    LICENSES = "licenses"
    AUDIT = "audit"


VIEW = "view"
CHANGE = "change"
ALL_AREAS = frozenset(Area)

# area -> actions, per role. Location admins are additionally limited to their locations' objects.
ROLE_RIGHTS: dict[str, dict[str, frozenset[str]]] = {
    Role.PARTNER_FULL_ADMIN: {a: frozenset({VIEW, CHANGE}) for a in ALL_AREAS},
    Role.FULL_ADMIN: {a: frozenset({VIEW, CHANGE}) for a in ALL_AREAS},
    Role.READ_ONLY_ADMIN: {a: frozenset({VIEW}) for a in ALL_AREAS},
    Role.USER_DEVICE_ADMIN: {
        **{a: frozenset({VIEW}) for a in ALL_AREAS},
        Area.PEOPLE: frozenset({VIEW, CHANGE}),
        Area.WORKSPACES: frozenset({VIEW, CHANGE}),
        Area.DEVICES: frozenset({VIEW, CHANGE}),
        Area.LICENSES: frozenset({VIEW, CHANGE}),
    },
    Role.LOCATION_ADMIN: {
        Area.ORGANIZATION: frozenset({VIEW}),
        Area.LOCATIONS: frozenset({VIEW, CHANGE}),
        Area.NUMBERS: frozenset({VIEW, CHANGE}),
        Area.PEOPLE: frozenset({VIEW, CHANGE}),
        Area.WORKSPACES: frozenset({VIEW, CHANGE}),
        Area.DEVICES: frozenset({VIEW, CHANGE}),
        Area.LICENSES: frozenset({VIEW}),
    },
}

# Creating or deleting a location is organisation-wide work, even for a location admin who may edit their own.
ORG_WIDE_ONLY = {(Area.LOCATIONS, "create"), (Area.LOCATIONS, "delete")}
