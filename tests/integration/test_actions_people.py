"""The people/calling actions: every rule refuses with a field-named error and writes nothing."""
import pytest
from django.core.exceptions import ValidationError

from calling.actions import assign_calling, create_calling_person
from controlhub.models import AuditEvent
from tests.conftest import SYSTEM, free_number, licence, org_location
from users.models import Person

pytestmark = pytest.mark.django_db


def test_calling_person_created_with_number_and_extension_is_audited(org):
    hq = org_location(org, "HQ")
    number = free_number(hq)
    person = create_calling_person(SYSTEM, org, location=hq, extension="1001", phone_number=number,
                                   email="Ada@Example.com", first_name="Ada", last_name="Lovelace")
    assert person.email == "ada@example.com"
    assert person.display_name == "Ada Lovelace"
    assert person.line.extension == "1001" and person.line.number.e164 == number
    assert person.line.esn == "811001"
    assert AuditEvent.objects.filter(object_type="person", object_id=str(person.pk), action="CREATE").exists()


def test_number_from_other_location_is_refused_and_nothing_saved(org):
    hq, branch = org_location(org, "HQ"), org_location(org, "Branch")
    with pytest.raises(ValidationError) as exc:
        create_calling_person(SYSTEM, org, location=hq, extension="1002", phone_number=free_number(branch),
                              email="bo@example.com")
    assert "phoneNumber" in exc.value.message_dict
    assert "belongs to location Branch" in exc.value.message_dict["phoneNumber"][0]
    assert not Person.objects.filter(email="bo@example.com").exists()


def test_extension_must_be_unique_in_org_but_not_across_orgs(org, other_org, make_calling_person):
    make_calling_person(org, "2001")
    make_calling_person(other_org, "2001")  # another organisation may reuse it
    person = create_calling_person(SYSTEM, org, location=org_location(org, "HQ"), email="c@example.com",
                                   licenses=[licence(org)])
    with pytest.raises(ValidationError) as exc:
        assign_calling(SYSTEM, person, location=None, extension="2001", phone_number=None)
    assert "already used" in exc.value.message_dict["extension"][0]


@pytest.mark.parametrize("extension", ["1", "12345678901", "12a4", "+100"])
def test_bad_extensions_are_refused(org, extension):
    with pytest.raises(ValidationError) as exc:
        create_calling_person(SYSTEM, org, location=org_location(org, "HQ"), extension=extension,
                              email="d@example.com")
    assert "extension" in exc.value.message_dict
    assert not Person.objects.filter(email="d@example.com").exists()


@pytest.mark.parametrize("kinds", [("CALLPRO", "CALLBASIC"), ("CALLWS",)])
def test_impossible_licence_combinations_are_refused_on_create(org, kinds):
    from users.actions import create_person

    with pytest.raises(ValidationError) as exc:
        create_person(SYSTEM, org, email="two@example.com", licenses=[licence(org, k) for k in kinds])
    assert "licenses" in exc.value.message_dict
    assert not Person.objects.filter(email="two@example.com").exists()
