"""Database operations that the project's migrations share."""
from django.db import migrations

_UNIQUE_CONSTRAINT_ON = """
    SELECT con.conname FROM pg_constraint con
    JOIN pg_attribute att ON att.attrelid = con.conrelid AND att.attnum = ANY(con.conkey)
    WHERE con.conrelid = %s::regclass AND con.contype = 'u' AND array_length(con.conkey, 1) = 1
      AND att.attname = %s
"""


def unique_only_where_set(table: str, column: str) -> migrations.RunPython:
    """On PostgreSQL, replace the UNIQUE constraint Django gives a nullable one-to-one column by a unique index, of
    the same name, over the rows where the column is set. The rule is the same (NULLs never clash), but a row
    without a link writes no index entry: for the mostly empty links (a person's account, a line's workspace or
    number) a users CSV import of 100k rows writes some 275k entries fewer.

    Django's state keeps the field as it was (a unique one-to-one), which reverse `select_related` needs. A later
    migration that changes the field's uniqueness must drop this index itself (DROP INDEX; Django would try DROP
    CONSTRAINT). SQLite keeps its constraint."""

    def forward(apps, schema_editor) -> None:
        if schema_editor.connection.vendor != "postgresql":
            return
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(_UNIQUE_CONSTRAINT_ON, [table, column])
            (name,) = cursor.fetchone()
        quote = schema_editor.quote_name
        schema_editor.execute(f"ALTER TABLE {quote(table)} DROP CONSTRAINT {quote(name)}")
        schema_editor.execute(f"CREATE UNIQUE INDEX {quote(name)} ON {quote(table)} ({quote(column)}) "
                              f"WHERE {quote(column)} IS NOT NULL")

    def backward(apps, schema_editor) -> None:
        if schema_editor.connection.vendor != "postgresql":
            return
        with schema_editor.connection.cursor() as cursor:
            cursor.execute("SELECT indexname FROM pg_indexes WHERE tablename = %s AND indexdef LIKE %s",
                           [table, f"CREATE UNIQUE INDEX % ({column}) WHERE ({column} IS NOT NULL)"])
            (name,) = cursor.fetchone()
        quote = schema_editor.quote_name
        schema_editor.execute(f"DROP INDEX {quote(name)}")
        schema_editor.execute(f"ALTER TABLE {quote(table)} ADD CONSTRAINT {quote(name)} UNIQUE ({quote(column)})")

    return migrations.RunPython(forward, backward)
