"""Session 23 (ADR 0025 amendment): an idempotent answer's client has no index of its own —
it is the first column of the unique ``idempotent_response_key`` (client, key), which
serves the replay's read and the cascade of a deleted client.

How the indexes are dropped and renamed in the database: `onestop.common.index_migrations`."""

import django.db.models.deletion
from django.db import migrations, models

from onestop.common.index_migrations import field_indexes_replaced

# (table, column, index, whether PostgreSQL has its ``_like`` twin)
DROPPED: list[tuple[str, str, str, bool]] = [
    (
        "integration_idempotentresponse",
        "client_id",
        "integration_idempotentresponse_client_id_ece58b3b",
        False,
    )
]
# (table, column, index, its new name): the index stays, its ``_like`` twin goes
RENAMED: list[tuple[str, str, str, str]] = []


class Migration(migrations.Migration):
    dependencies = [
        ("integration", "0005_webhook_batch_max"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[field_indexes_replaced(DROPPED, RENAMED)],
            state_operations=[
                migrations.AlterField(
                    model_name="idempotentresponse",
                    name="client",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="integration.apiclient",
                    ),
                ),
            ],
        ),
    ]
