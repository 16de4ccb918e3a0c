"""The reference tables' change stamp, kept by database triggers (issue 10: the freshness
check missed an UPDATE that left ``updated_at`` alone)."""

from django.db import migrations, models

# The tables whose rows make up the reference data in force (selectors.STAMPED).
TABLES = (
    "reference_ethnicgroup",
    "reference_division",
    "reference_institution",
    "reference_bank",
    "reference_bankbranch",
)
STAMP = "reference_referencestamp"


def _postgresql() -> tuple[list[str], list[str]]:
    forward = [
        f"""CREATE OR REPLACE FUNCTION reference_stamp_touch() RETURNS trigger AS $$
        BEGIN
            INSERT INTO {STAMP} (id, token) VALUES (1, gen_random_uuid()::text)
            ON CONFLICT (id) DO UPDATE SET token = EXCLUDED.token;
            RETURN NULL;
        END $$ LANGUAGE plpgsql"""
    ]
    backward = []
    for table in TABLES:
        forward.append(
            f"CREATE TRIGGER {table}_stamp AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE "
            f"ON {table} FOR EACH STATEMENT EXECUTE FUNCTION reference_stamp_touch()"
        )
        backward.append(f"DROP TRIGGER IF EXISTS {table}_stamp ON {table}")
    backward.append("DROP FUNCTION IF EXISTS reference_stamp_touch()")
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
    else:  # another database: the selector falls back to counting the tables
        return
    for sql in statements:
        schema_editor.execute(sql)


def forwards(apps, schema_editor):
    _run(schema_editor, 0)
    schema_editor.execute(
        f"INSERT INTO {STAMP} (id, token) VALUES (1, 'migrated') ON CONFLICT (id) DO NOTHING"
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
