"""Set-based writes for bulk paths (the CSV import): rows of plain values into real tables, no model instances.

On PostgreSQL, inserts are one `COPY … FROM STDIN` per table and batch, and updates a `COPY` into a temporary
table followed by one `UPDATE … FROM`; every value travels in COPY's text format instead of being bound and
quoted one parameter at a time. Other databases (SQLite in the embedded mode) get the same rows through
`executemany`, with each value prepared by its model field as Django would.

Callers pass values in the fields' Python types (UUID, datetime, str, None, dict for JSON); `new_row_defaults`
fills the columns a caller does not set with the fields' own defaults, so a field added to a model later is
written with its default rather than forgotten.

Foreign keys: PostgreSQL checks every inserted row's foreign keys with a trigger query of its own that also
locks the referenced row, ~6 µs a key. A 100k-row users file writes about 1.3 million of them (people, services,
lines, audit events, sync records): a third of the import, all of it at commit. Inside `set_based_references()`
the COPYs run without those triggers when the database role may (`session_replication_role`, as `pg_restore
--disable-triggers` loads data), and the block checks the same references itself when it ends: per referenced
table, one query locks the distinct rows the block's rows point to FOR KEY SHARE — the lock each trigger would
have taken — and a missing row raises IntegrityError, as the trigger would have at commit. Rows the block
inserted itself (a person, then its line) are known to exist. Only COPYs run without triggers: the block's
updates and deletes keep theirs, so a delete is still refused while something points at the row.
"""
import datetime
import os
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar

import orjson
from django.db import IntegrityError, connection, models, transaction
from django.db.models import NOT_PROVIDED


def new_ids(count: int) -> list[str]:
    """`count` random (version 4) UUIDs in their text form, for rows a bulk path creates.

    One read of the system's random source for them all, with the version and variant bits set as `uuid.uuid4`
    sets them; as text, because COPY sends text: a `uuid.UUID` per row costs a system call to make and a Python
    call to dump again (4–5 µs; at 100k rows, 200k of them).
    """
    raw = bytearray(os.urandom(16 * count))
    raw[6::16] = bytes(b & 0x0F | 0x40 for b in raw[6::16])  # version 4
    raw[8::16] = bytes(b & 0x3F | 0x80 for b in raw[8::16])  # RFC 4122 variant
    digits = raw.hex()
    return [f"{digits[i:i + 8]}-{digits[i + 8:i + 12]}-{digits[i + 12:i + 16]}-{digits[i + 16:i + 20]}-"
            f"{digits[i + 20:i + 32]}" for i in range(0, 32 * count, 32)]


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
        if connection.vendor != "postgresql":
            result.append(lambda v, f=field: f.get_db_prep_save(v, connection))
        elif isinstance(field, models.JSONField):
            result.append(_json_text)
        elif isinstance(getattr(field, "target_field", field), models.UUIDField | models.DateTimeField):
            result.append(_text_once())
        else:
            result.append(None)
    return result


def _json_text(value) -> str | None:
    # orjson: the same document as json.dumps (non-ASCII as UTF-8 rather than escaped), in a tenth of the time
    return None if value is None else orjson.dumps(value).decode()


def _text_once() -> Callable:
    """A converter to COPY's text for UUIDs and aware datetimes that converts each distinct value once.

    A batch repeats a few of them in every row (its timestamp, the organisation, a location): psycopg would dump
    each occurrence again, a Python call apiece — measured, 100k rows of people took 0.69 s to format with them
    and 0.08 s with their text. Values are remembered by identity, which a repeated value shares: a `UUID` hashes
    in Python (a call apiece), where `id()` is free. The cache keeps each value alive, so no id is reused.
    """
    texts: dict = {}

    def text(value):
        if value is None or value.__class__ is str:
            return value
        known = texts.get(id(value))
        if known is not None and known[0] is value:
            return known[1]
        if isinstance(value, uuid.UUID):
            found = str(value)
        elif isinstance(value, datetime.datetime) and value.tzinfo is not None:
            found = value.isoformat()
        else:
            found = value  # psycopg's own dumper
        texts[id(value)] = (value, found)
        return found

    return text


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


class _References:
    """What the COPYs of one `set_based_references()` block pointed at, and the rows they inserted."""

    def __init__(self) -> None:
        self.wanted: dict[tuple[type[models.Model], str], set] = defaultdict(set)  # (parent, "table.column"): ids
        self.inserted: dict[type[models.Model], set] = defaultdict(set)

    def check(self) -> None:
        by_parent: dict[type[models.Model], dict] = defaultdict(dict)
        for (parent, where), ids in self.wanted.items():
            for pk in ids - self.inserted[parent]:
                if pk is not None:
                    by_parent[parent].setdefault(pk, where)
        with connection.cursor() as cursor:
            for parent, wanted in by_parent.items():
                pk = parent._meta.pk
                column = connection.ops.quote_name(pk.column)
                # As text, cast to the key's type: ids arrive as UUIDs read back or as text made by `new_ids`.
                cursor.execute(f"SELECT {column} FROM {connection.ops.quote_name(parent._meta.db_table)} WHERE "
                               f"{column} = ANY(%s::{pk.rel_db_type(connection)}[]) FOR KEY SHARE",
                               [[str(value) for value in wanted]])
                found = {str(row[0]) for row in cursor.fetchall()}
                missing = [value for value in wanted if str(value) not in found]
                if missing:
                    raise IntegrityError(f"{wanted[missing[0]]} points at {parent._meta.db_table} "
                                         f"{missing[0]}, which does not exist")


_references: ContextVar[_References | None] = ContextVar("bulk_references", default=None)


def _may_skip_triggers() -> bool:
    """Whether this database role may set session_replication_role (superuser, or granted SET on PostgreSQL 15+)."""
    cached = getattr(connection, "_bulk_may_skip_triggers", None)
    if cached is None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
            cached = bool(cursor.fetchone()[0])
            if not cached and connection.pg_version >= 150000:
                cursor.execute("SELECT has_parameter_privilege('session_replication_role', 'SET')")
                cached = bool(cursor.fetchone()[0])
        connection._bulk_may_skip_triggers = cached
    return cached


@contextmanager
def set_based_references() -> Iterator[None]:
    """Check the foreign keys of the rows COPYed inside the block once per referenced table (see the module's
    docstring). Use inside the transaction that writes them; raises IntegrityError for a missing row."""
    if connection.vendor != "postgresql" or _references.get() is not None:
        yield
        return
    references = _References()
    token = _references.set(references)
    try:
        yield
        references.check()
    finally:
        _references.reset(token)


@contextmanager
def unchecked_copy(cursor) -> Iterator[None]:
    """Run the COPY inside without PostgreSQL's foreign-key triggers, when a `set_based_references()` block is
    open and the role may: for callers whose rows point only at rows the same transaction wrote or locked."""
    if _references.get() is None or not _may_skip_triggers():
        yield
        return
    cursor.execute("SET LOCAL session_replication_role = replica")
    yield
    # Not after an error: the transaction (or savepoint) is aborted then, and its rollback undoes the SET LOCAL.
    cursor.execute("SET LOCAL session_replication_role = origin")


def _foreign_keys(model: type[models.Model], columns: Sequence[str]) -> list[tuple[int, type[models.Model], str]]:
    """(position in `columns`, referenced model, "table.column") of each constrained foreign key among them."""
    result = []
    for i, attname in enumerate(columns):
        field = _field(model, attname)
        if field.is_relation and field.db_constraint:
            result.append((i, field.related_model, f"{model._meta.db_table}.{field.column}"))
    return result


def insert_rows(model: type[models.Model], columns: Sequence[str], rows: Iterable[Sequence]) -> None:
    """Insert `rows` (values in `columns` order) into the model's table. Rows given as lists may be converted in
    place."""
    table = connection.ops.quote_name(model._meta.db_table)
    names = ", ".join(connection.ops.quote_name(c) for c in columns)
    convert = _converters(model, columns)
    if connection.vendor == "postgresql":
        # One loop per row, no generator between: at 100k rows a file writes some 700k rows, and each layer or
        # call per value costs ~0.1 s of the import. Text values need no conversion (ids made by `new_ids`), so
        # the loop checks them itself rather than calling the converter.
        json_at = [i for i, c in enumerate(convert) if c is _json_text]
        text_at = [(i, c) for i, c in enumerate(convert) if c is not None and c is not _json_text]
        references = _references.get()
        # Noted after conversion, so a referenced or inserted id is always its text (or an integer).
        keys = [] if references is None else [(i, references.wanted[(parent, where)])
                                               for i, parent, where in _foreign_keys(model, columns)]
        pk_at = columns.index(model._meta.pk.attname) if references is not None and \
            model._meta.pk.attname in columns else None
        inserted = references.inserted[model] if pk_at is not None else None
        # COPY runs on psycopg's own cursor: wrap it so a constraint violation is Django's IntegrityError.
        with connection.wrap_database_errors, connection.cursor() as cursor, unchecked_copy(cursor), \
                cursor.cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
            write_row = copy.write_row
            for row in rows:
                if row.__class__ is not list:
                    row = list(row)
                for i, text in text_at:
                    value = row[i]
                    if value is not None and value.__class__ is not str:
                        row[i] = text(value)
                for i in json_at:
                    if row[i] is not None:
                        row[i] = orjson.dumps(row[i]).decode()
                for i, ids in keys:
                    ids.add(row[i])
                if inserted is not None:
                    inserted.add(row[pk_at])
                write_row(row)
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
