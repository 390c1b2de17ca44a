import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    """`Person.licenses` gets a declared through model on the same table, without the index on `person_id`
    that Django adds to an implicit one: the unique (person_id, license_id) index leads with the same column.
    The table, its rows and its other indexes stay; only that index is dropped."""

    dependencies = [
        ('users', '0004_person_indexes_by_location_and_set_manager'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='PersonLicense',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False,
                                                   verbose_name='ID')),
                        ('license', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE,
                                                      related_name='+', to='users.license')),
                        ('person', models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE,
                                                     related_name='+', to='users.person')),
                    ],
                    options={
                        'db_table': 'users_person_licenses',
                        'unique_together': {('person', 'license')},
                    },
                ),
                migrations.AlterField(
                    model_name='person',
                    name='licenses',
                    field=models.ManyToManyField(blank=True, related_name='people', through='users.PersonLicense',
                                                 to='users.license', verbose_name='services'),
                ),
            ],
            database_operations=[
                # The name Django gave the implicit table's index, on PostgreSQL and SQLite alike.
                migrations.RunSQL(
                    "DROP INDEX IF EXISTS users_person_licenses_person_id_fa475fdb",
                    "CREATE INDEX users_person_licenses_person_id_fa475fdb ON users_person_licenses (person_id)",
                ),
            ],
        ),
    ]
