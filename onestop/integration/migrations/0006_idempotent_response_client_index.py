"""Session 23 (ADR 0025 amendment): an idempotent answer's client has no index of its own —
it is the first column of the unique ``idempotent_response_key`` (client, key), which
serves the replay's read and the cascade of a deleted client.

The fields' ``db_index`` (and the indexes that replace them) change in the models' state;
in the database the indexes are dropped or renamed by name, not by ``AlterField``: on
SQLite that rebuilds the table, and a rebuilt table loses its triggers. On PostgreSQL a
text column's index has a ``LIKE`` twin (``varchar_pattern_ops``), dropped too. The names
are Django's for these columns (a migration does not compute them from code that may
change)."""

import django.db.models.deletion
from django.db import migrations, models

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


def forward(apps, schema_editor) -> None:
    pg = schema_editor.connection.vendor == "postgresql"
    for _table, _column, name, text in DROPPED:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")
        if pg and text:
            schema_editor.execute(f"DROP INDEX IF EXISTS {name}_like")
    for table, column, name, new in RENAMED:
        if pg:
            schema_editor.execute(f"DROP INDEX IF EXISTS {name}_like")
            schema_editor.execute(f"ALTER INDEX {name} RENAME TO {new}")
        else:
            schema_editor.execute(f"DROP INDEX {name}")
            schema_editor.execute(f"CREATE INDEX {new} ON {table} ({column})")


def backward(apps, schema_editor) -> None:
    pg = schema_editor.connection.vendor == "postgresql"
    for table, column, name, text in DROPPED:
        schema_editor.execute(f"CREATE INDEX {name} ON {table} ({column})")
        if pg and text:
            schema_editor.execute(
                f"CREATE INDEX {name}_like ON {table} ({column} varchar_pattern_ops)"
            )
    for table, column, name, new in RENAMED:
        if pg:
            schema_editor.execute(f"ALTER INDEX {new} RENAME TO {name}")
            schema_editor.execute(
                f"CREATE INDEX {name}_like ON {table} ({column} varchar_pattern_ops)"
            )
        else:
            schema_editor.execute(f"DROP INDEX {new}")
            schema_editor.execute(f"CREATE INDEX {name} ON {table} ({column})")


class Migration(migrations.Migration):
    dependencies = [
        ("integration", "0005_webhook_batch_max"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunPython(forward, backward)],
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
