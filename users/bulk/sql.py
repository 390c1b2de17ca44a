"""Set-based writes for the bulk apply path: rows of plain values into real tables, no model instances.

On PostgreSQL, inserts are one `COPY … FROM STDIN` per table and batch, and updates a `COPY` into a temporary
table followed by one `UPDATE … FROM`; every value travels in COPY's text format instead of being bound and
quoted one parameter at a time. Other databases (SQLite in the embedded mode) get the same rows through
`executemany`, with each value prepared by its model field as Django would.

Callers pass values in the fields' Python types (UUID, datetime, str, None, dict for JSON); `new_row_defaults`
fills the columns a caller does not set with the fields' own defaults, so a field added to a model later is
written with its default rather than forgotten.
"""
import json
from collections.abc import Callable, Iterable, Sequence

from django.db import connection, models, transaction
from django.db.models import NOT_PROVIDED


def _field(model: type[models.Model], attname: str) -> models.Field:
    for field in model._meta.concrete_fields:
        if field.attname == attname:
            return field
    raise LookupError(f"{model.__name__} has no column {attname}")


def _converters(model: type[models.Model], columns: Sequence[str]) -> list[Callable | None]:
    """Per column, how a value is turned into what the database takes (None: as is)."""
    result: list[Callable | None] = []
    for attname in columns:
        field = _field(model, attname)
        if connection.vendor == "postgresql":
            result.append((lambda v: None if v is None else json.dumps(v))
                          if isinstance(field, models.JSONField) else None)
        else:
            result.append(lambda v, f=field: f.get_db_prep_save(v, connection))
    return result


def new_row_defaults(model: type[models.Model], given: Iterable[str]) -> list[tuple[str, Callable[[], object]]]:
    """(column, default maker) for every concrete column not in `given`: what `Model()` would have set."""
    given = set(given)
    defaults = []
    for field in model._meta.concrete_fields:
        if field.attname in given:
            continue
        if field.default is not NOT_PROVIDED and callable(field.default):
            defaults.append((field.attname, field.default))
        else:  # a constant default, or Django's implicit one ("" for text, None for nullable columns)
            constant = field.get_default()
            defaults.append((field.attname, lambda v=constant: v))
    return defaults


def insert_rows(model: type[models.Model], columns: Sequence[str], rows: Iterable[Sequence]) -> None:
    """Insert `rows` (values in `columns` order) into the model's table."""
    table = connection.ops.quote_name(model._meta.db_table)
    names = ", ".join(connection.ops.quote_name(c) for c in columns)
    convert = _converters(model, columns)
    if connection.vendor == "postgresql":
        json_at = [i for i, c in enumerate(convert) if c is not None]
        # COPY runs on psycopg's own cursor: wrap it so a constraint violation is Django's IntegrityError.
        with connection.wrap_database_errors, connection.cursor() as cursor, \
                cursor.cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
            for row in rows:
                if json_at:
                    row = list(row)
                    for i in json_at:
                        row[i] = convert[i](row[i])
                copy.write_row(row)
        return
    prepared = [[f(v) for f, v in zip(convert, row, strict=True)] for row in rows]
    if prepared:
        with connection.cursor() as cursor:
            cursor.executemany(f"INSERT INTO {table} ({names}) VALUES ({', '.join(['%s'] * len(columns))})",
                               prepared)


def update_rows(model: type[models.Model], columns: Sequence[str], rows: Iterable[Sequence]) -> None:
    """Set `columns` of existing rows; each row is (primary key, *values in `columns` order)."""
    rows = list(rows)
    if not rows:
        return
    table = connection.ops.quote_name(model._meta.db_table)
    pk = model._meta.pk.column
    if connection.vendor == "postgresql":
        temp = f"bulk_update_{model._meta.db_table}"
        # The temporary table is emptied at commit: fill and use it inside one transaction.
        with transaction.atomic(), connection.wrap_database_errors, connection.cursor() as cursor:
            cursor.execute(f"CREATE TEMP TABLE IF NOT EXISTS {temp} ON COMMIT DELETE ROWS AS "
                           f"SELECT {', '.join([pk, *columns])} FROM {table} WITH NO DATA")
            cursor.execute(f"TRUNCATE {temp}")
            convert = _converters(model, [model._meta.pk.attname, *columns])
            with cursor.cursor.copy(f"COPY {temp} ({', '.join([pk, *columns])}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row([v if f is None else f(v) for f, v in zip(convert, row, strict=True)])
            sets = ", ".join(f"{c} = s.{c}" for c in columns)
            cursor.execute(f"UPDATE {table} AS t SET {sets} FROM {temp} AS s WHERE t.{pk} = s.{pk}")
        return
    convert = _converters(model, [*columns, model._meta.pk.attname])
    sets = ", ".join(f"{connection.ops.quote_name(c)} = %s" for c in columns)
    with connection.cursor() as cursor:
        cursor.executemany(f"UPDATE {table} SET {sets} WHERE {pk} = %s",
                           [[f(v) for f, v in zip(convert, [*row[1:], row[0]], strict=True)] for row in rows])
