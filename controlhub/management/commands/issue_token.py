"""Print a bearer token for an existing administrator (for scripts and CI)."""
from django.core.management.base import BaseCommand, CommandError
from rest_framework.authtoken.models import Token

from controlhub.models import Account


class Command(BaseCommand):
    help = "Print a personal API bearer token for an existing administrator."

    def add_arguments(self, parser):
        parser.add_argument("email")

    def handle(self, *args, email: str, **options):
        account = Account.objects.filter(email__iexact=email.strip()).first()
        if account is None:
            raise CommandError(f"No account with email {email}.")
        if not account.is_admin:
            raise CommandError(f"{email} is not an administrator; tokens are for administrators.")
        token, _ = Token.objects.get_or_create(user=account)
        self.stdout.write(token.key)
