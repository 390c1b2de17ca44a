from django.db import migrations

from controlhub.migration_ops import unique_only_where_set


class Migration(migrations.Migration):
    """A person's account is unique where set (a partial unique index on PostgreSQL): most people never sign in
    with a password of ours, and each of them cost an index entry."""

    dependencies = [
        ('users', '0006_services_as_person_flags'),
    ]

    operations = [
        unique_only_where_set("users_person", "account_id"),
    ]
