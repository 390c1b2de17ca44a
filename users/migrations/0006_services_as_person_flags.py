import django.db.models.deletion
from django.db import migrations, models

# The flags by licence kind, as `users.models.PERSON_SERVICE_FLAGS` had them when this migration was written.
FLAGS = {
    "CALLPRO": "has_calling_professional",
    "CALLBASIC": "has_calling_basic",
    "MSG": "has_messaging",
    "MTG": "has_meetings",
}


def flags_from_rows(apps, schema_editor):
    Person = apps.get_model("users", "Person")
    PersonLicense = apps.get_model("users", "PersonLicense")
    for kind, flag in FLAGS.items():
        holders = PersonLicense.objects.filter(license__kind=kind).values("person_id")
        Person.objects.filter(pk__in=holders).update(**{flag: True})


def rows_from_flags(apps, schema_editor):
    Person = apps.get_model("users", "Person")
    PersonLicense = apps.get_model("users", "PersonLicense")
    License = apps.get_model("users", "License")
    for licence in License.objects.filter(kind__in=list(FLAGS)):
        holders = Person.objects.filter(organization_id=licence.organization_id, **{FLAGS[licence.kind]: True})
        PersonLicense.objects.bulk_create(
            [PersonLicense(person_id=pk, license_id=licence.pk) for pk in holders.values_list("pk", flat=True)],
            batch_size=5000)


class Migration(migrations.Migration):
    """A person's services become one flag per kind on the person's row, instead of rows of
    `users_person_licenses` (two per user of a CSV import, with their index entries). Each flag is set for the
    people who held the organisation's licence of its kind; back, the rows are made from the flags."""

    dependencies = [
        ('users', '0005_person_license_without_person_index'),
    ]

    operations = [
        migrations.AddField(
            model_name='person',
            name='has_calling_professional',
            field=models.BooleanField(db_default=False, default=False, verbose_name='Webex Calling - Professional'),
        ),
        migrations.AddField(
            model_name='person',
            name='has_calling_basic',
            field=models.BooleanField(db_default=False, default=False, verbose_name='Webex Calling - Basic'),
        ),
        migrations.AddField(
            model_name='person',
            name='has_messaging',
            field=models.BooleanField(db_default=False, default=False, verbose_name='Basic Messaging'),
        ),
        migrations.AddField(
            model_name='person',
            name='has_meetings',
            field=models.BooleanField(db_default=False, default=False, verbose_name='Basic Meetings'),
        ),
        migrations.RunPython(flags_from_rows, rows_from_flags),
        migrations.RemoveField(
            model_name='person',
            name='licenses',
        ),
        migrations.DeleteModel(
            name='PersonLicense',
        ),
        migrations.AlterField(
            model_name='license',
            name='organization',
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='licenses',
                                    to='controlhub.organization'),
        ),
    ]
