"""Issue 10, session 28 (ADR 0011 amendment): an API client may turn off the webhooks of
the changes it made itself (``webhook_echo``). The webhook targets hold it and the
service account (who acts), so an UPDATE of either moves the webhook stamp: the triggers
of migration 0007 are made again with them (on SQLite, adding the column rebuilt the
table and dropped them)."""

from django.db import migrations, models

from onestop.reference import stamp_triggers

STAMP = "integration_webhookstamp"
FUNCTION = "integration_webhook_stamp_touch"
TABLES = ("integration_apiclient",)
BEFORE = (
    *("active", "webhook_url", "events", "department", "jurisdiction_kind"),
    *("jurisdiction_code", "key_id", "webhook_batch_max"),
)
# What makes a client a webhook target of an event, how its deliveries are sent, and
# whether it hears of its own changes (migration 0007's columns, and these two).
COLUMNS = (*BEFORE, "user_id", "webhook_echo")


def _triggers(schema_editor, columns) -> None:
    vendor = schema_editor.connection.vendor
    make, drop = stamp_triggers.trigger_sql(
        vendor, TABLES, stamp=STAMP, function=FUNCTION, columns=columns
    )
    for sql in [*drop, *make]:  # another database: no stamp, no triggers
        schema_editor.execute(sql)
    if vendor in ("postgresql", "sqlite"):  # the targets kept under the old stamp go
        schema_editor.execute(
            f"INSERT INTO {STAMP} (id, token) VALUES (1, 'migrated-0009')"
            " ON CONFLICT (id) DO UPDATE SET token = excluded.token"
        )


def forwards(apps, schema_editor):
    _triggers(schema_editor, COLUMNS)


def backwards(apps, schema_editor):
    _triggers(schema_editor, BEFORE)


class Migration(migrations.Migration):
    dependencies = [
        ("integration", "0008_fewer_outbox_indexes"),
    ]

    operations = [
        migrations.AddField(
            model_name="apiclient",
            name="webhook_echo",
            field=models.BooleanField(
                default=True,
                help_text=(
                    "取消勾选：本系统通过接口领取、办结、退回或不予办理事项后，不再就这些变更向本系统推送"
                    " task.updated；他人所做的变更照常推送"
                ),
                verbose_name="推送本系统所做的变更",
            ),
        ),
        migrations.RunPython(forwards, backwards),
    ]
