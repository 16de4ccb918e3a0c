"""Session 27 (ADR 0025 amendment): fewer indexes on the outbox of messages. The status's
index goes (every INSERT, claim and record of a message wrote to it; only the dead letter
read it), replaced by two partial indexes a message enters once: the dead letter's and
the retention's (SMS sent, by ``sent_at``). The ``LIKE`` twin of the unique ``dedup_key``
goes (`onestop.common.index_migrations.like_twins_dropped`)."""

from django.db import migrations, models

from onestop.common.index_migrations import like_twins_dropped


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0006_case_fewer_indexes"),
        ("notifications", "0003_notification_fewer_indexes"),
    ]

    operations = [
        like_twins_dropped(
            [
                (
                    "notifications_notification",
                    "dedup_key",
                    "notifications_notification_dedup_key_5264a391_like",
                )
            ]
        ),
        migrations.RemoveIndex(
            model_name="notification",
            name="notification_status",
        ),
        migrations.AddIndex(
            model_name="notification",
            index=models.Index(
                condition=models.Q(("status", "dead")),
                fields=["created_at"],
                name="notification_dead",
            ),
        ),
        migrations.AddIndex(
            model_name="notification",
            index=models.Index(
                condition=models.Q(("channel", "sms"), ("status", "sent")),
                fields=["sent_at"],
                name="notification_sms_sent",
            ),
        ),
    ]
