"""Session 27 (ADR 0025 amendment): fewer indexes on the webhook deliveries.
``(status, next_attempt_at)`` goes (every INSERT, claim and record wrote to it; the
retention's time is ``delivered_at``, so it could not use it), replaced by two partial
indexes a delivery enters once: the dead letter's and the retention's."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("integration", "0007_webhook_stamp"),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="webhookdelivery",
            name="integration_status_38d246_idx",
        ),
        migrations.AddIndex(
            model_name="webhookdelivery",
            index=models.Index(
                condition=models.Q(("status", "dead")), fields=["created_at"], name="webhook_dead"
            ),
        ),
        migrations.AddIndex(
            model_name="webhookdelivery",
            index=models.Index(
                condition=models.Q(("status", "delivered")),
                fields=["delivered_at"],
                name="webhook_delivered",
            ),
        ),
    ]
