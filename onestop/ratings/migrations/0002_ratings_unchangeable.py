# A trigger refuses changing a rating: UPDATE and DELETE on PostgreSQL, UPDATE on SQLite
# (onestop.ratings.protection, ADR 0038).

from django.db import migrations

from onestop.ratings import protection


def install(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(protection.POSTGRES_INSTALL, params=None)
    elif vendor == "sqlite":
        schema_editor.execute(protection.SQLITE_INSTALL, params=None)


def remove(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(protection.POSTGRES_REMOVE, params=None)
    elif vendor == "sqlite":
        schema_editor.execute(protection.SQLITE_REMOVE, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("ratings", "0001_initial"),
    ]

    operations = [migrations.RunPython(install, remove, elidable=False)]
