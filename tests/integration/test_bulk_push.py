"""Users CSV import and the push outbox: the keys the import names itself are the ones the apps' key functions give.

The set-based apply does not ask `calling.sync` / `devices.sync` for each object's target keys (a query over the
whole batch per function); it names them from what it wrote. These tests hold it to what the generic path records,
so the object pages' sync state stays right. A line the import creates or changes is recorded through its owner
(the same keys, read together on the person's page); a deleted line keeps its own record.
"""
import pytest

from calling.models import Line
from controlhub.models import JobState, ObjectSync, SyncTarget
from controlhub.sync import keys_by_object, object_status
from devices.models import DeviceLine, LineType
from tests.conftest import SYSTEM, licence, org_location
from users.actions import create_person
from users.bulk import columns as C
from users.models import Person

from .bulk_support import csv_bytes, run_import
from .portal_support import make_device

pytestmark = pytest.mark.django_db

CALLING = "Webex Calling - Professional"


def recorded() -> set[tuple[str, str, str, str]]:
    return {(row.object_type, row.object_id, row.sync_target.target, row.sync_target.key)
            for row in ObjectSync.objects.select_related("sync_target")}


def expected(objects: list) -> set[tuple[str, str, str, str]]:
    return {(obj._meta.model_name, str(obj.pk), key.target, key.key)
            for obj, keys in zip(objects, keys_by_object(objects), strict=True) for key in keys}


def test_import_records_the_keys_the_key_functions_give_for_every_person_and_line(org, make_calling_person):
    hq = org_location(org, "HQ")
    alice = make_calling_person(org, "4001")          # a title change: the engine and her phone's file
    alice_phone = make_device(org, alice)
    bob = make_calling_person(org, "4002")            # loses calling; his line also shows on Alice's phone
    DeviceLine.objects.create(device=alice_phone, line=bob.line, port=2, line_type=LineType.SHARED_CALL_APPEARANCE)
    carol = make_calling_person(org, "4003")          # a new extension, no phone
    dave = create_person(SYSTEM, org, email="dave@example.com", first_name="Dave", last_name="D", location=hq,
                         licenses=[licence(org)])     # gains calling
    bob_line = bob.line
    # The deleted line's keys as the single-object action records them: before the row goes (its phones too).
    deleted_line_keys = expected([bob_line])
    assert ("line", str(bob_line.pk), "provisioning", f"device:{org.provisioning_key}/{alice_phone.mac}") \
        in deleted_line_keys
    ObjectSync.objects.all().delete()  # what the fixtures recorded; left: exactly what the import records

    header = [C.EMAIL, C.TITLE, C.EXTENSION, C.LOCATION, CALLING]
    job = run_import(org, csv_bytes([
        [alice.email, "Boss", "", "", ""],
        [bob.email, "", "", "", "FALSE"],
        [carol.email, "", "4013", "", ""],
        [dave.email, "", "4014", "", ""],
        ["new1@example.com", "", "4015", "HQ", "TRUE"],
        ["new2@example.com", "", "", "HQ", ""],
    ], header=header), mode="add-and-remove-services")
    assert job.state == JobState.SUCCEEDED, job.message
    assert job.counts["applied"] == {"create": 2, "update": 4}, job.preview

    people = list(Person.objects.filter(organization=org).order_by("email"))
    lines = list(Line.objects.filter(organization=org).exclude(person=alice))  # hers is untouched
    assert not Line.objects.filter(pk=bob_line.pk).exists()
    assert recorded() == expected(people) | deleted_line_keys
    # a line's keys are its owner's: the owner's record stands for both on the person's page
    assert lines and all({(t, k) for _o, _i, t, k in expected([line])}
                         == {(t, k) for _o, _i, t, k in expected([line.person])} for line in lines)
    # the link the object pages read: every object holds the version its keys reached with this import
    for row in ObjectSync.objects.select_related("sync_target"):
        assert row.version == row.sync_target.desired_version
    new1 = Person.objects.get(email="new1@example.com")
    assert [state.target for state in object_status(new1, new1.line)] == ["engine"]
    assert object_status(Person.objects.get(email="new2@example.com")) == []
    assert {s.target for s in object_status(alice, alice.line)} == {"engine", "provisioning"}
    assert SyncTarget.objects.filter(organization=org, target="engine").count() == 1


def test_a_second_import_of_the_same_people_moves_their_versions_on(org):
    header = [C.EMAIL, C.TITLE, C.EXTENSION, C.LOCATION, CALLING]
    run_import(org, csv_bytes([["again@example.com", "", "4101", "HQ", "TRUE"]], header=header))
    person = Person.objects.get(email="again@example.com")
    records = ObjectSync.objects.filter(object_id__in=[str(person.pk), str(person.line.pk)])
    first = {row.object_type: row.version for row in records}
    assert list(first) == ["person"]   # the new line is recorded through its owner
    job = run_import(org, csv_bytes([["again@example.com", "", "4102", "", ""]], header=header))
    assert job.counts["applied"]["update"] == 1, job.preview
    engine = SyncTarget.objects.get(organization=org, target="engine")
    assert {row.object_type: row.version for row in records.all()} == {"person": engine.desired_version}
    assert engine.desired_version > first["person"]
    # what the person's page shows for the person and the changed line: pending until the engine has it
    person.refresh_from_db()
    assert [(s.target, s.status) for s in object_status(person, person.line)] == [("engine", "PENDING")]
    SyncTarget.objects.filter(pk=engine.pk).update(pushed_version=engine.desired_version, status="SYNCED")
    assert [(s.target, s.status) for s in object_status(person, person.line)] == [("engine", "SYNCED")]
