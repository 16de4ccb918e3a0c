"""Session 23 (ADR 0025 amendment): the audit records' stream has no index of its own — it is
the first column of the unique audit_stream_seq, which every read by stream uses (the
chain's head, a stream's records in order). Every record written wrote two more entries
(the index and its ``LIKE`` twin).

The fields' ``db_index`` (and the indexes that replace them) change in the models' state;
in the database the indexes are dropped or renamed by name, not by ``AlterField``: on
SQLite that rebuilds the table, and a rebuilt table loses its triggers. On PostgreSQL a
text column's index has a ``LIKE`` twin (``varchar_pattern_ops``), dropped too. The names
are Django's for these columns (a migration does not compute them from code that may
change)."""

from django.db import migrations, models

# (table, column, index, whether PostgreSQL has its ``_like`` twin)
DROPPED: list[tuple[str, str, str, bool]] = [
    ("audit_auditrecord", "stream", "audit_auditrecord_stream_48cfaa5c", True)
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
        ("audit", "0003_append_only_triggers"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunPython(forward, backward)],
            state_operations=[
                migrations.AlterField(
                    model_name="auditrecord",
                    name="stream",
                    field=models.CharField(max_length=40, verbose_name="对象"),
                ),
            ],
        ),
    ]
