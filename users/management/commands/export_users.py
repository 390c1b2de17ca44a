"""Export an organisation's users as Control Hub's users CSV (streamed, constant memory)."""
import sys

from django.core.management.base import BaseCommand

from users.bulk.export import iter_csv, organisation_licences
from users.management.commands.import_users import find_org
from users.models import Person


class Command(BaseCommand):
    help = "Write the organisation's users CSV to a file (or stdout)."

    def add_arguments(self, parser):
        parser.add_argument("--org", required=True, help="organization name or id")
        parser.add_argument("--output", "-o", help="file to write (default: stdout)")
        parser.add_argument("--template", action="store_true", help="only the header row")

    def handle(self, *args, org: str, output: str | None, template: bool, **options):
        organization = find_org(org)
        people = Person.objects.filter(organization=organization).order_by("email")
        chunks = iter_csv(people, organisation_licences(organization), template=template)
        out = open(output, "w", encoding="utf-8", newline="") if output else sys.stdout
        try:
            for chunk in chunks:
                out.write(chunk)
        finally:
            if output:
                out.close()
