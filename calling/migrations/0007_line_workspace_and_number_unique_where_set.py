from django.db import migrations

from controlhub.migration_ops import unique_only_where_set


class Migration(migrations.Migration):
    """A line's workspace and number are unique where set (partial unique indexes on PostgreSQL): a person's line
    has no workspace, and many lines have an extension only; each of them cost index entries."""

    dependencies = [
        ('calling', '0006_line_organisation_indexed_by_extension'),
    ]

    operations = [
        unique_only_where_set("calling_line", "workspace_id"),
        unique_only_where_set("calling_line", "number_id"),
    ]
