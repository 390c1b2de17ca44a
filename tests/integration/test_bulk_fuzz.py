"""Malformed CSVs never cause a server error: every bad row is reported with its row number and never applied."""
import csv
import io

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from controlhub.models import JobState
from users.bulk import columns as C
from users.models import Person

from .bulk_support import run_import

pytestmark = pytest.mark.django_db

HEADERS = [C.EMAIL, C.FIRST_NAME, C.EXTENSION, C.PHONE_NUMBER, C.LOCATION, "Webex Calling - Professional",
           "Basic Messaging", C.TITLE, "Extenson", "", C.EMAIL]
CELLS = st.one_of(
    st.sampled_from(["", "REMOVE", "TRUE", "FALSE", "HQ", "Branch", "Mars", "1001", "12", "abc", "+14085550101",
                     "14085550101", "a@example.com", "A@EXAMPLE.COM", "b@example.com", "not-an-email", "x" * 200,
                     '"', ",", ";", "\n", "\r\n", "\x00", "王", "Åsa"]),
    st.text(max_size=12),
)


@st.composite
def csv_files(draw) -> bytes:
    header = draw(st.lists(st.sampled_from(HEADERS), min_size=1, max_size=6))
    rows = draw(st.lists(st.lists(CELLS, min_size=0, max_size=len(header) + 2), max_size=8))
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=draw(st.sampled_from([",", ";"])))
    writer.writerow(header)
    writer.writerows(rows)
    text = buffer.getvalue()
    if draw(st.booleans()):
        text = text[: draw(st.integers(0, len(text)))]  # truncated mid-field
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "latin-1"]))
    return text.encode(encoding, errors="replace") if encoding == "latin-1" else text.encode(encoding)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(data=csv_files() | st.binary(max_size=300))
def test_malformed_files_never_crash_and_bad_rows_are_never_applied(org, data):
    with transaction.atomic():
        before = set(Person.objects.values_list("email", flat=True))
        job = run_import(org, data)
        assert job.state in (JobState.SUCCEEDED, JobState.FAILED), job.message
        if job.state == JobState.FAILED:
            assert job.message and set(Person.objects.values_list("email", flat=True)) == before
        else:
            for row in job.preview["rows"]["error"]:
                assert row["row"] >= 2 and row["errors"]
                assert all(e["reason"] for e in row["errors"])
                if row["email"] and row["email"] not in before:
                    assert not Person.objects.with_email(row["email"]).exists()
            created = set(Person.objects.values_list("email", flat=True)) - before
            assert len(created) == job.counts["applied"]["create"]
        transaction.set_rollback(True)
