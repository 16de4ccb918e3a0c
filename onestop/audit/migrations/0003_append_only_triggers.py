# On PostgreSQL, triggers refuse UPDATE/DELETE/TRUNCATE of audit records and anchors, and
# UPDATE/TRUNCATE (and DELETE of rows younger than 180 days) of access records
# (onestop.audit.protection, ADR 0019). Nothing on SQLite (the embedded demo).

from django.db import migrations

from onestop.audit.protection import INSTALL_SQL, REMOVE_SQL


def install(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(INSTALL_SQL, params=None)


def remove(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(REMOVE_SQL, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0002_keyed_chain_and_anchors"),
    ]

    operations = [migrations.RunPython(install, remove, elidable=False)]
