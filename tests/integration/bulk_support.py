"""Helpers for the users CSV import tests: build files, run an import synchronously, read what it reported."""
import csv
import io

from controlhub.models import JobState
from users.bulk import columns as C
from users.bulk import jobs

HEADER = [C.FIRST_NAME, C.LAST_NAME, C.DISPLAY_NAME, C.EMAIL, C.EXTENSION, C.PHONE_NUMBER, C.LOCATION,
          "Webex Calling - Professional", "Basic Messaging"]


def csv_bytes(rows: list[list[str]], header=HEADER, delimiter=",", encoding="utf-8", newline="\r\n") -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator=newline)
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode(encoding)


def preview(org, data: bytes, mode="add-services", account=None):
    job = jobs.start_import(org, account, data, name="users.csv", mode=mode, background=False)
    return jobs.validate_job(job)


def run_import(org, data: bytes, mode="add-services", account=None):
    job = preview(org, data, mode, account)
    if job.state != JobState.READY:
        return job
    jobs.confirm(job, background=False)
    return jobs.apply_job(job)


def errors_of(job) -> dict[int, list[tuple[str, str]]]:
    """{row: [(column, reason)]} from the stored preview (first rows) of a job."""
    return {r["row"]: [(e["column"], e["reason"]) for e in r["errors"]] for r in job.preview["rows"]["error"]}


def error_report(job) -> list[dict]:
    path = jobs.files_dir() / job.error_file
    with open(path, encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))
