"""The reference tables' change stamp, kept by database triggers (issue 10: the freshness
check missed an UPDATE that left ``updated_at`` alone)."""

from django.db import migrations, models

from onestop.reference import stamp_triggers

# The tables whose rows make up the reference data in force (selectors.STAMPED).
TABLES = (
    "reference_ethnicgroup",
    "reference_division",
    "reference_institution",
    "reference_bank",
    "reference_bankbranch",
)


def _run(schema_editor, which: int) -> None:
    vendor = schema_editor.connection.vendor
    statements = list(stamp_triggers.trigger_sql(vendor, TABLES)[which])
    if vendor == "postgresql":
        create, drop = stamp_triggers.function_sql()
        statements = [create, *statements] if which == 0 else [*statements, drop]
    for sql in statements:  # another database: the selector falls back to the tables
        schema_editor.execute(sql)


def forwards(apps, schema_editor):
    _run(schema_editor, 0)
    schema_editor.execute(
        f"INSERT INTO {stamp_triggers.STAMP} (id, token) VALUES (1, 'migrated') "
        "ON CONFLICT (id) DO NOTHING"
    )


def backwards(apps, schema_editor):
    _run(schema_editor, 1)


class Migration(migrations.Migration):
    dependencies = [
        ("reference", "0003_bank_branches"),
    ]

    operations = [
        migrations.CreateModel(
            name="ReferenceStamp",
            fields=[
                ("id", models.PositiveSmallIntegerField(primary_key=True, serialize=False)),
                ("token", models.CharField(max_length=64)),
            ],
            options={
                "verbose_name": "参考数据版本",
                "verbose_name_plural": "参考数据版本",
            },
        ),
        migrations.RunPython(forwards, backwards),
    ]
