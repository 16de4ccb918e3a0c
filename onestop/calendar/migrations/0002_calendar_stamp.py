"""The calendar tables move the reference data's change stamp too (issue 10 part 2): the
working calendar in force is cached per stamp token (``selectors.current_calendar``), so a
year entered or published by any process — admin, a bulk update, ``psql`` — is seen by the
next request, and the check is the one statement the reference data already reads."""

from django.db import migrations

from onestop.reference import stamp_triggers

TABLES = ("workcalendar_calendaryear", "workcalendar_specialday")


def _run(schema_editor, which: int) -> None:
    # reference_stamp_touch() (PostgreSQL) is created by reference 0004; another
    # database gets no stamp, and the calendar is read on every call.
    vendor = schema_editor.connection.vendor
    for sql in stamp_triggers.trigger_sql(vendor, TABLES)[which]:
        schema_editor.execute(sql)


def forwards(apps, schema_editor):
    _run(schema_editor, 0)


def backwards(apps, schema_editor):
    _run(schema_editor, 1)


class Migration(migrations.Migration):
    dependencies = [
        ("workcalendar", "0001_initial"),
        ("reference", "0004_reference_stamp"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
