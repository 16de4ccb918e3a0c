"""The calendar tables move the reference data's change stamp too (issue 10 part 2): the
working calendar in force is cached per stamp token (``selectors.current_calendar``), so a
year entered or published by any process — admin, a bulk update, ``psql`` — is seen by the
next request, and the check is the one statement the reference data already reads."""

from django.db import migrations

TABLES = ("workcalendar_calendaryear", "workcalendar_specialday")
STAMP = "reference_referencestamp"


def _postgresql() -> tuple[list[str], list[str]]:
    # reference_stamp_touch() is created by reference 0004.
    forward, backward = [], []
    for table in TABLES:
        forward.append(
            f"CREATE TRIGGER {table}_stamp AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE "
            f"ON {table} FOR EACH STATEMENT EXECUTE FUNCTION reference_stamp_touch()"
        )
        backward.append(f"DROP TRIGGER IF EXISTS {table}_stamp ON {table}")
    return forward, backward


def _sqlite() -> tuple[list[str], list[str]]:
    forward, backward = [], []
    for table in TABLES:
        for event in ("INSERT", "UPDATE", "DELETE"):
            name = f"{table}_stamp_{event.lower()}"
            forward.append(
                f"CREATE TRIGGER {name} AFTER {event} ON {table} BEGIN "
                f"INSERT INTO {STAMP} (id, token) VALUES (1, lower(hex(randomblob(16)))) "
                f"ON CONFLICT (id) DO UPDATE SET token = excluded.token; END"
            )
            backward.append(f"DROP TRIGGER IF EXISTS {name}")
    return forward, backward


def _run(schema_editor, which: int) -> None:
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        statements = _postgresql()[which]
    elif vendor == "sqlite":
        statements = _sqlite()[which]
    else:  # another database: no stamp, the calendar is read on every call
        return
    for sql in statements:
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
