"""The API clients' webhook configuration stamp, kept by database triggers (issue 10,
session 26): the webhook targets are kept per process while it stands."""

from django.db import migrations, models

from onestop.reference import stamp_triggers

STAMP = "integration_webhookstamp"
FUNCTION = "integration_webhook_stamp_touch"
TABLES = ("integration_apiclient",)
# What makes a client a webhook target of an event (active, a URL, its events, its
# department and jurisdiction, its key id: a submitted case's) and how its deliveries are
# sent (batching). Not its name, secrets, service account or last use (the authentication
# writes that one).
COLUMNS = (
    *("active", "webhook_url", "events", "department", "jurisdiction_kind"),
    *("jurisdiction_code", "key_id", "webhook_batch_max"),
)


def _run(schema_editor, which: int) -> None:
    vendor = schema_editor.connection.vendor
    statements = list(
        stamp_triggers.trigger_sql(
            vendor, TABLES, stamp=STAMP, function=FUNCTION, columns=COLUMNS
        )[which]
    )
    if vendor == "postgresql":
        create, drop = stamp_triggers.function_sql(STAMP, FUNCTION)
        statements = [create, *statements] if which == 0 else [*statements, drop]
    for sql in statements:  # another database: no stamp, the targets are read every time
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
        ("integration", "0006_idempotent_response_client_index"),
    ]

    operations = [
        migrations.CreateModel(
            name="WebhookStamp",
            fields=[
                ("id", models.PositiveSmallIntegerField(primary_key=True, serialize=False)),
                ("token", models.CharField(max_length=64)),
            ],
            options={
                "verbose_name": "回调配置版本",
                "verbose_name_plural": "回调配置版本",
            },
        ),
        migrations.RunPython(forwards, backwards),
    ]
