"""Reading CSV files as people produce them: encodings, delimiters, quoting, spreadsheet leftovers.

Tokenising uses the csv module (C, streaming, handles quoted commas and newlines) so every record keeps its
spreadsheet row number; the records land in a pandas DataFrame of strings for the vectorised checks.
"""
import codecs
import csv
import io
from dataclasses import dataclass

import pandas as pd
from django.utils.translation import gettext as _

ROW_NUMBER = "__row__"   # DataFrame column: the row number a spreadsheet shows (header is row 1)
EXTRA_CELLS = "__extra__"  # DataFrame column: non-empty cells beyond the header's width


class FileProblem(Exception):
    """The file as a whole cannot be read (encoding, no header, too large)."""


@dataclass
class ParsedFile:
    headers: list[str]
    frame: pd.DataFrame          # one column per header (strings, stripped), plus ROW_NUMBER and EXTRA_CELLS
    delimiter: str


def decode(data: bytes) -> str:
    """UTF-8 with or without BOM, UTF-16 with BOM; Windows-1252 (older Excel "CSV") as a last resort."""
    if data.startswith(codecs.BOM_UTF8):
        return data[len(codecs.BOM_UTF8):].decode("utf-8", errors="strict")
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            raise FileProblem(_("The file says it is UTF-16 but is not; save it again as CSV UTF-8.")) from None
    if b"\x00" in data[:4096]:
        raise FileProblem(_("This is not a CSV text file (is it an Excel workbook?). Save it as “CSV UTF-8”."))
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def sniff_delimiter(text: str) -> str:
    """`;` (Excel in Swedish, German… locales), `,` or tab: whichever splits the header line most."""
    first = text.split("\n", 1)[0]
    counts = {d: first.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=counts.get)
    return best if counts[best] else ","


def iter_records(text: str, delimiter: str):
    """(row number, cells) for each record, header first. A spreadsheet counts records, not physical lines."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, quotechar='"', strict=False)
    yield from enumerate(reader, start=1)


def parse_csv(data: bytes) -> ParsedFile:
    # NUL never belongs in a CSV (and PostgreSQL text cannot hold it); line ends become \n.
    text = decode(data).replace("\x00", "").replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        raise FileProblem(_("The file is empty."))
    delimiter = sniff_delimiter(text)
    records = iter_records(text, delimiter)
    try:
        _first, headers = next(records)
    except (StopIteration, csv.Error):
        raise FileProblem(_("The first row must hold the column names.")) from None
    headers = [h.strip().lstrip("\ufeff") for h in headers]
    while headers and not headers[-1]:
        headers.pop()  # trailing separators on the header line
    if not any(headers):
        raise FileProblem(_("The first row must hold the column names."))
    width = len(headers)
    rows, numbers, extras = [], [], []
    # Most cells repeat (TRUE/FALSE, a location, a status): share one string object per value, so a 100k-row export
    # re-imported holds each repeated value once instead of millions of copies. `map` keeps the per-cell work in C
    # (strip, then share): 0.5 s less per 100k rows than a comprehension did. The table of shared values is emptied now
    # and then, so unique values (emails) do not pile up in it; repeated ones are back in it at once.
    shared: dict[str, str] = {}
    share, strip = shared.setdefault, str.strip
    try:
        for number, cells in records:
            cells = list(map(strip, cells))
            cells = list(map(share, cells, cells))
            if len(shared) > 50_000:
                shared.clear()
            extra = 0
            if len(cells) != width or not cells[0]:
                if not any(cells):
                    continue  # blank rows (trailing empty rows of a spreadsheet)
                extra = sum(1 for c in cells[width:] if c)  # non-empty cells beyond the header's width
                cells = (cells + [""] * width)[:width]
            rows.append(cells)
            numbers.append(number)
            extras.append(extra)
    except csv.Error as exc:
        raise FileProblem(_("The file is not valid CSV near row %(row)s: %(why)s")
                          % {"row": len(rows) + 2, "why": exc}) from None
    # Headers may repeat (reported by column matching); give pandas unique labels by position.
    labels = [f"{i}:{h}" for i, h in enumerate(headers)]
    frame = pd.DataFrame(rows, columns=labels, dtype=object) if rows else pd.DataFrame(columns=labels, dtype=object)
    frame.columns = labels
    frame[ROW_NUMBER] = numbers
    frame[EXTRA_CELLS] = extras
    return ParsedFile(headers=headers, frame=frame, delimiter=delimiter)


def label_of(headers: list[str], header: str) -> str:
    """The DataFrame label of the first column with this header."""
    return f"{headers.index(header)}:{header}"
