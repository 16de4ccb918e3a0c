"""Session 23 (ADR 0025 amendment): the audit records' stream has no index of its own — it is
the first column of the unique audit_stream_seq, which every read by stream uses (the
chain's head, a stream's records in order). Every record written wrote two more entries
(the index and its ``LIKE`` twin).

How the indexes are dropped and renamed in the database: `onestop.common.index_migrations`."""

from django.db import migrations, models

from onestop.common.index_migrations import field_indexes_replaced

# (table, column, index, whether PostgreSQL has its ``_like`` twin)
DROPPED: list[tuple[str, str, str, bool]] = [
    ("audit_auditrecord", "stream", "audit_auditrecord_stream_48cfaa5c", True)
]
# (table, column, index, its new name): the index stays, its ``_like`` twin goes
RENAMED: list[tuple[str, str, str, str]] = []


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0003_append_only_triggers"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[field_indexes_replaced(DROPPED, RENAMED)],
            state_operations=[
                migrations.AlterField(
                    model_name="auditrecord",
                    name="stream",
                    field=models.CharField(max_length=40, verbose_name="对象"),
                ),
            ],
        ),
    ]
