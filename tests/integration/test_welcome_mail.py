"""A person added through the actions gets a welcome mail, sent by a real Celery worker after commit."""
import time

import pytest

from calling.actions import create_calling_person
from tests.conftest import SYSTEM, free_number, org_location


def wait_for_mail(mail_dir, recipient: str, timeout: float = 30) -> str:
    """The mail sent to `recipient` (the folder is shared with other tests' people)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for path in sorted(mail_dir.glob("*.log")):
            for message in path.read_text().split("\n" + "-" * 79 + "\n"):
                if f"\nTo: {recipient}\n" in message:
                    return message
        time.sleep(0.1)
    raise AssertionError(f"no mail to {recipient} in {mail_dir}")


@pytest.mark.django_db(transaction=True)
def test_new_calling_person_is_mailed_their_number_by_the_worker(celery_worker_process, org):
    hq = org_location(org, "HQ")
    number = free_number(hq)
    create_calling_person(SYSTEM, org, location=hq, extension="4711", phone_number=number,
                          email="zoe.welcome@example.com", first_name="Zoë", last_name="Öberg")
    mail = wait_for_mail(celery_worker_process["mail_dir"], "zoe.welcome@example.com")
    assert "Acme" in mail
    assert number in mail and "4711" in mail
    assert "Sign in with zoe.welcome@example.com at:\nhttp://127.0.0.1:8000/accounts/login/" in mail


@pytest.mark.django_db(transaction=True)
def test_no_mail_when_the_change_rolls_back(celery_worker_process, org):
    from django.db import transaction

    from users.actions import create_person

    mail_dir = celery_worker_process["mail_dir"]
    with pytest.raises(RuntimeError), transaction.atomic():
        create_person(SYSTEM, org, email="rolled.back@example.com", location=org_location(org, "HQ"))
        raise RuntimeError("abort the request")
    create_person(SYSTEM, org, email="kept@example.com", location=org_location(org, "HQ"))
    assert "kept@example.com" in wait_for_mail(mail_dir, "kept@example.com")
    # the worker handles tasks in order: once the later mail is out, a rolled-back one would be out too
    everything = "".join(p.read_text() for p in mail_dir.glob("*.log"))
    assert "rolled.back@example.com" not in everything
