"""Session 23 (ADR 0025 amendment): fewer indexes on the outbox of messages, each written by
every message queued and by every send recorded. The due time has no index of its own
(every read of it is of the pending rows: ``notification_pending_due``); the phone's
blind index and the status keep a plain index, without the ``LIKE`` twin no query uses.

How the indexes are dropped and renamed in the database: `onestop.common.index_migrations`."""

from django.db import migrations, models

from onestop.common.index_migrations import field_indexes_replaced

# (table, column, index, whether PostgreSQL has its ``_like`` twin)
DROPPED: list[tuple[str, str, str, bool]] = [
    (
        "notifications_notification",
        "next_attempt_at",
        "notifications_notification_next_attempt_at_23860f69",
        False,
    )
]
# (table, column, index, its new name): the index stays, its ``_like`` twin goes
RENAMED: list[tuple[str, str, str, str]] = [
    (
        "notifications_notification",
        "phone_index",
        "notifications_notification_phone_index_bff129fc",
        "notification_phone_index",
    ),
    (
        "notifications_notification",
        "status",
        "notifications_notification_status_fc366839",
        "notification_status",
    ),
]


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0005_dashboard_day_indexes"),
        ("notifications", "0002_pending_due_index"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[field_indexes_replaced(DROPPED, RENAMED)],
            state_operations=[
                migrations.AlterField(
                    model_name="notification",
                    name="next_attempt_at",
                    field=models.DateTimeField(verbose_name="下次尝试"),
                ),
                migrations.AlterField(
                    model_name="notification",
                    name="phone_index",
                    field=models.CharField(blank=True, default="", max_length=64),
                ),
                migrations.AlterField(
                    model_name="notification",
                    name="status",
                    field=models.CharField(
                        choices=[
                            ("pending", "待发送"),
                            ("sent", "已发送"),
                            ("dead", "发送失败（待人工处理）"),
                        ],
                        default="pending",
                        max_length=8,
                        verbose_name="状态",
                    ),
                ),
                migrations.AddIndex(
                    model_name="notification",
                    index=models.Index(fields=["phone_index"], name="notification_phone_index"),
                ),
                migrations.AddIndex(
                    model_name="notification",
                    index=models.Index(fields=["status"], name="notification_status"),
                ),
            ],
        ),
    ]
