"""Reading users CSVs as spreadsheets and people produce them (no database)."""
import codecs
import re

import pytest
from django.core.validators import EmailValidator
from hypothesis import given, settings
from hypothesis import strategies as st

from users.bulk import columns as C
from users.bulk.parse import EXTRA_CELLS, ROW_NUMBER, FileProblem, parse_csv
from users.bulk.validate import PLAIN_EMAIL

TEXT = 'First Name,Last Name,User ID/Email (Required)\r\nÅsa,Öberg,asa@example.com\r\nZoë,"Li, Jr.",zoe@example.com\r\n'


def cells(parsed, column):
    return parsed.frame[f"{parsed.headers.index(column)}:{column}"].tolist()


@pytest.mark.parametrize("data", [
    TEXT.encode("utf-8"),
    codecs.BOM_UTF8 + TEXT.encode("utf-8"),
    TEXT.encode("utf-16"),  # with BOM
    codecs.BOM_UTF16_BE + TEXT.encode("utf-16-be"),
    TEXT.replace("\r\n", "\n").encode("utf-8"),
    TEXT.replace(",", ";").replace('"Li; Jr."', '"Li, Jr."').encode("utf-8"),
])
def test_encodings_line_ends_and_delimiters(data):
    parsed = parse_csv(data)
    assert parsed.headers == [C.FIRST_NAME, C.LAST_NAME, C.EMAIL]
    assert cells(parsed, C.FIRST_NAME) == ["Åsa", "Zoë"]
    assert cells(parsed, C.LAST_NAME) == ["Öberg", "Li, Jr."]
    assert parsed.frame[ROW_NUMBER].tolist() == [2, 3]


def test_quoted_newlines_keep_spreadsheet_row_numbers_and_blank_rows_are_skipped():
    data = ('User ID/Email (Required),Title\n"a@x.com","Head of\nSales"\n,\n\n"b@x.com",王\n,,\n').encode()
    parsed = parse_csv(data)
    assert cells(parsed, C.EMAIL) == ["a@x.com", "b@x.com"]
    assert cells(parsed, C.TITLE) == ["Head of\nSales", "王"]
    assert parsed.frame[ROW_NUMBER].tolist() == [2, 5]


def test_short_rows_are_padded_and_extra_cells_counted():
    parsed = parse_csv(b"User ID/Email (Required),Title\na@x.com\nb@x.com,CEO,surprise\n")
    assert cells(parsed, C.TITLE) == ["", "CEO"]
    assert parsed.frame[EXTRA_CELLS].tolist() == [0, 1]


@pytest.mark.parametrize("data, message", [
    (b"", "empty"),
    (b"\n\n", "empty"),
    (b"PK\x03\x04\x00\x00binary", "Excel workbook"),
    (codecs.BOM_UTF16_LE + b"\x00\xd8", "UTF-16"),
])
def test_unreadable_files_say_why(data, message):
    with pytest.raises(FileProblem, match=message):
        parse_csv(data)


def test_header_typos_suggest_the_nearest_column():
    _cols, _services, problems = C.match_headers(["User ID/Email (Required)", "Extenson", "Frist Name", "Zzz"], [])
    assert problems[0] == "Unknown column “Extenson”. Did you mean “Extension”?"
    assert problems[1] == "Unknown column “Frist Name”. Did you mean “First Name”?"
    assert "matches no user field" in problems[2]


def test_headers_match_ignoring_case_and_spaces_and_duplicates_are_reported():
    cols, _services, problems = C.match_headers(["user id/email  (required)", "title", "Title"], [])
    assert cols == {"user id/email  (required)": C.EMAIL, "title": C.TITLE}
    assert problems == ["The column “Title” appears twice."]


@given(st.from_regex(r"\A" + PLAIN_EMAIL + r"\Z", fullmatch=True))
@settings(max_examples=300, deadline=None)
def test_the_vectorised_email_check_accepts_only_what_the_validator_accepts(email):
    """`validate` skips Django's EmailValidator for addresses matching PLAIN_EMAIL: each must pass it."""
    if len(email) <= 254:
        EmailValidator()(email)


def test_unusual_but_valid_emails_still_go_through_the_validator():
    assert re.fullmatch(PLAIN_EMAIL, "o'brien@example.com") is None  # validated one by one, and accepted
    EmailValidator()("o'brien@example.com")
    assert re.fullmatch(PLAIN_EMAIL, "a@-example.com") is None


@pytest.mark.parametrize(("rows", "size", "batches"), [
    (100_000, 10_000, 10),   # the largest batch: what the apply was tuned for
    (20_000, 4_000, 5),      # Control Hub's own limit: five steps of progress, not 0 → 50 → 100%
    (5_000, 2_000, 3),       # small files: never below SMALLEST_BATCH (a transaction and a push each)
    (300, 2_000, 1),
    (250_000, 10_000, 25),
])
def test_batches_make_the_progress_bar_move_in_steps(rows, size, batches):
    from users.bulk import jobs

    assert jobs.batch_size(rows) == size
    assert -(-rows // jobs.batch_size(rows)) == batches


def test_a_long_list_of_rows_names_five_and_counts_the_rest_grouped():
    from users.bulk.validate import rows_text

    assert rows_text([4, 9]) == "4, 9"
    assert rows_text(list(range(2, 8))) == "2, 3, 4, 5, 6 and 1 more"
    assert rows_text(list(range(2, 20002))) == "2, 3, 4, 5, 6 and 19,995 more"


def test_the_finished_jobs_message_groups_its_counts_as_the_page_does():
    from users.bulk import jobs

    assert (jobs._grouped(20000), jobs._grouped(999), jobs._grouped(1234567)) == ("20,000", "999", "1,234,567")
