"""Streaming users CSV export in Control Hub's column order: constant memory whatever the organisation's size.

Rows are read with a server-side cursor in chunks (`iterator(chunk_size=…)` with the licences prefetched per
chunk) and written a chunk at a time, so 100k people never sit in memory.
"""
import codecs
import csv
import io
from collections.abc import Iterator

from users.models import License, Person

from . import columns as C

CHUNK = 2000


def export_queryset(queryset):
    """What the export reads for each person, in constant queries per chunk."""
    return queryset.select_related("location", "line__number", "manager").prefetch_related("licenses")


def person_row(person: Person, licences: list[License]) -> list[str]:
    line = getattr(person, "line", None)
    held = {lic.pk for lic in person.licenses.all()}
    values = {
        C.FIRST_NAME: person.first_name, C.LAST_NAME: person.last_name, C.DISPLAY_NAME: person.display_name,
        C.EMAIL: person.email, C.STATUS: str(person.get_status_display()), C.TITLE: person.title,
        C.DEPARTMENT: person.department, C.MANAGER: person.manager.email if person.manager_id else "",
        C.EXTENSION: (line.extension or "") if line else "",
        C.PHONE_NUMBER: line.number.e164 if line and line.number_id else "",
        C.LOCATION: person.location.name if person.location_id else "",
    }
    return [values.get(column, "") for column in C.BASE_COLUMNS] + [
        C.TRUE if lic.pk in held else C.FALSE for lic in licences]


def iter_csv(queryset, licences: list[License], template: bool = False) -> Iterator[str]:
    """Yield the CSV text chunk by chunk: a UTF-8 BOM (Excel reads non-ASCII names right), header, rows."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    buffer.write(codecs.BOM_UTF8.decode("utf-8"))
    writer.writerow(C.header_row(licences))
    if template:
        yield buffer.getvalue()
        return
    count = 0
    for person in export_queryset(queryset).iterator(chunk_size=CHUNK):
        writer.writerow(person_row(person, licences))
        count += 1
        if count % CHUNK == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def organisation_licences(org) -> list[License]:
    return list(License.objects.filter(organization=org).order_by("kind"))
