"""Seed a demo: a partner, customer "Acme" with two locations, a number range, 50 people, 5 phones.

Runs through the domain actions (as the system), so the demo carries the same audit trail as real work.
Does nothing when Acme already exists, so `make run` can call it every time.
"""
from django.core.management.base import BaseCommand
from django.db import transaction
from rest_framework.authtoken.models import Token

from calling.actions import add_number_range, assign_calling, set_main_number, set_numbers_state
from calling.models import NumberState
from controlhub.actions import Actor, create_location
from controlhub.models import Account, AdminRole, Organization, Partner
from controlhub.roles import Role
from devices.actions import create_device
from users.actions import create_person, create_workspace
from users.models import License, LicenseKind, Person

DEMO_ADMIN = "admin@acme.example"
DEMO_PASSWORD = "controlhub-demo"
PARTNER_ADMIN = "partner@demo-partner.example"
FIRST = ["Alice", "Bo", "Chen", "Dana", "Erik", "Fatima", "Gustav", "Hiro", "Ines", "Jonas"]
LAST = ["Andersson", "Berg", "Chang", "Diaz", "Eklund", "Fischer", "Garcia", "Holm", "Ito", "Johansson"]


def ensure_admin(email: str, role: str, password: str, **scope) -> Account:
    account = Account.objects.filter(email=email).first() or Account.objects.create_user(email, password)
    AdminRole.objects.get_or_create(account=account, role=role, **scope)
    return account


class Command(BaseCommand):
    help = "Seed the demo organisation Acme (idempotent)."

    @transaction.atomic
    def handle(self, *args, **options):
        system = Actor.system()
        partner, _ = Partner.objects.get_or_create(name="Demo Partner")
        org = Organization.objects.filter(display_name="Acme").first()
        if org is None:
            org = Organization.objects.create(partner=partner, display_name="Acme", country="US",
                                              sip_domain="acme.calls.controlhub.local")
            self.seed_org(system, org)
        admin = ensure_admin(DEMO_ADMIN, Role.FULL_ADMIN, DEMO_PASSWORD, organization=org)
        ensure_admin(PARTNER_ADMIN, Role.PARTNER_FULL_ADMIN, DEMO_PASSWORD, partner=partner)
        # The demo admin is also a person of Acme (so `/v1/people/me` and the user portal have someone).
        Person.objects.filter(email=DEMO_ADMIN, account__isnull=True).update(account=admin)
        token, _ = Token.objects.get_or_create(user=admin)
        self.stdout.write(f"Demo organisation: {org.display_name}")
        self.stdout.write(f"Sign in at /accounts/login/ as {DEMO_ADMIN} with password {DEMO_PASSWORD}")
        self.stdout.write(f"Partner admin: {PARTNER_ADMIN} / {DEMO_PASSWORD}")
        self.stdout.write(f"API token ({DEMO_ADMIN}): {token.key}")

    def seed_org(self, system: Actor, org: Organization) -> None:
        units = {LicenseKind.CALLING_PROFESSIONAL: 100, LicenseKind.CALLING_BASIC: 50,
                 LicenseKind.CALLING_WORKSPACES: 10, LicenseKind.MESSAGING: 200, LicenseKind.MEETINGS: 200}
        licenses = {kind: License.objects.create(organization=org, kind=kind, total_units=n)
                    for kind, n in units.items()}
        hq = create_location(system, org, name="San Jose HQ", time_zone="America/Los_Angeles",
                             address1="170 West Tasman Drive", city="San Jose", state="CA", postal_code="95134",
                             country="US", routing_prefix="8101", outside_dial_digit="9")
        ny = create_location(system, org, name="New York", time_zone="America/New_York",
                             address1="1 Penn Plaza", city="New York", state="NY", postal_code="10119",
                             country="US", routing_prefix="8102", outside_dial_digit="9")
        add_number_range(system, hq, "+14085550100", "+14085550149", NumberState.ACTIVE)
        add_number_range(system, ny, "+12125550100", "+12125550119")
        set_numbers_state(system, ny, [f"+121255501{i:02d}" for i in range(0, 10)], NumberState.ACTIVE)
        set_main_number(system, hq, "+14085550100")
        set_main_number(system, ny, "+12125550100")
        calling = [licenses[LicenseKind.CALLING_PROFESSIONAL], licenses[LicenseKind.MESSAGING],
                   licenses[LicenseKind.MEETINGS]]
        people = []
        admin_person = create_person(system, org, email=DEMO_ADMIN, first_name="Ada", last_name="Admin",
                                     location=hq, licenses=calling, status="active",
                                     send_welcome=False)
        assign_calling(system, admin_person, location=hq, extension="1000", phone_number="+14085550101")
        for i in range(50):
            location = hq if i < 35 else ny
            person = create_person(system, org, email=f"user{i + 1:02d}@acme.example",
                                   first_name=FIRST[i % 10], last_name=LAST[(i // 10) % 10], location=location,
                                   licenses=calling if i < 40 else [licenses[LicenseKind.MESSAGING]],
                                   status="active", department="Sales" if i % 3 else "Support",
                                   send_welcome=False)
            if i < 40:
                number = None
                if i < 20:
                    number = f"+14085550{102 + i:03d}" if location == hq else None
                assign_calling(system, person, location=location, extension=str(1001 + i), phone_number=number)
            people.append(person)
        lobby = create_workspace(system, org, display_name="Lobby", location=hq, type="open")
        assign_calling(system, lobby, location=hq, extension="1900", phone_number=None)
        models = ["DMS Cisco 8851", "DMS Cisco 8865", "DMS Cisco 6841", "DMS Cisco 7841"]
        for i, person in enumerate(people[:4]):
            create_device(system, org, mac=f"00:56:2b:04:36:{i + 10:02x}", model=models[i], owner=person)
        create_device(system, org, mac="00:56:2b:04:36:20", model="DMS Cisco 7832", owner=lobby)
