"""The database side of a migration that drops or renames a field's own indexes (session
23, ADR 0025 amendment: fewer indexes on the hot tables), one definition for the
migrations that do it (`audit 0004`, `cases 0006`, `integration 0006`,
`notifications 0003`, `workflow 0015`).

The fields' ``db_index`` (and the indexes that replace them) change in the models' state;
in the database the indexes are dropped or renamed by name, not by ``AlterField``: on
SQLite that rebuilds the table, and a rebuilt table loses its triggers. On PostgreSQL a
text column's index has a ``LIKE`` twin (``varchar_pattern_ops``). The names are given by
each migration (Django's names for those columns when they were made): a migration does
not compute them from code that may change, and neither does this module. Keep what it
does unchanged once released — the migrations that use it are history.

`like_twins_dropped` (session 27: `audit 0005`, `cases 0007`, `certificates 0004`,
`notifications 0004`) drops the ``LIKE`` twins of unique text columns: the field stays
``unique=True`` (the unique index stays, and the error a duplicate gets); only the twin,
which serves nothing but a case-sensitive prefix match no query makes, goes. Django's
state does not hold the twins, so nothing changes in it; a later ``AlterField`` of such a
column drops a twin ``IF EXISTS``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.contrib.postgres.operations import AddIndexConcurrently, RemoveIndexConcurrently
from django.db import migrations
from django.db.migrations.operations import AddIndex, RemoveIndex

# (table, column, index, whether PostgreSQL has its ``_like`` twin): the index and its twin go
Dropped = tuple[str, str, str, bool]
# (table, column, index, its new name): the index stays under the new name, its twin goes
Renamed = tuple[str, str, str, str]
# (table, column, index, the twin's new name): the index goes, its ``LIKE`` twin stays
# under the new name (it serves equality too)
LikeKept = tuple[str, str, str, str]


def _like(table: str, column: str, name: str) -> str:
    return f"CREATE INDEX {name}_like ON {table} ({column} varchar_pattern_ops)"


def field_indexes_replaced(
    dropped: Sequence[Dropped],
    renamed: Sequence[Renamed] = (),
    like_kept: Sequence[LikeKept] = (),
) -> migrations.RunPython:
    """The ``RunPython`` that drops ``dropped``, renames ``renamed`` and keeps only the twin
    of ``like_kept`` — and, backwards, makes them as they were."""

    def forward(apps: Any, schema_editor: Any) -> None:
        pg = schema_editor.connection.vendor == "postgresql"
        for _table, _column, name, text in dropped:
            schema_editor.execute(f"DROP INDEX IF EXISTS {name}")
            if pg and text:
                schema_editor.execute(f"DROP INDEX IF EXISTS {name}_like")
        for table, column, name, new in renamed:
            if pg:
                schema_editor.execute(f"DROP INDEX IF EXISTS {name}_like")
                schema_editor.execute(f"ALTER INDEX {name} RENAME TO {new}")
            else:
                schema_editor.execute(f"DROP INDEX {name}")
                schema_editor.execute(f"CREATE INDEX {new} ON {table} ({column})")
        for table, column, name, new in like_kept:
            schema_editor.execute(f"DROP INDEX {name}")
            if pg:
                schema_editor.execute(f"ALTER INDEX {name}_like RENAME TO {new}")
            else:
                schema_editor.execute(f"CREATE INDEX {new} ON {table} ({column})")

    def backward(apps: Any, schema_editor: Any) -> None:
        pg = schema_editor.connection.vendor == "postgresql"
        for table, column, name, text in dropped:
            schema_editor.execute(f"CREATE INDEX {name} ON {table} ({column})")
            if pg and text:
                schema_editor.execute(_like(table, column, name))
        for table, column, name, new in renamed:
            if pg:
                schema_editor.execute(f"ALTER INDEX {new} RENAME TO {name}")
                schema_editor.execute(_like(table, column, name))
            else:
                schema_editor.execute(f"DROP INDEX {new}")
                schema_editor.execute(f"CREATE INDEX {name} ON {table} ({column})")
        for table, column, name, new in like_kept:
            if pg:
                schema_editor.execute(f"ALTER INDEX {new} RENAME TO {name}_like")
            else:
                schema_editor.execute(f"DROP INDEX {new}")
            schema_editor.execute(f"CREATE INDEX {name} ON {table} ({column})")

    return migrations.RunPython(forward, backward)


# (table, column, the twin's name): a unique text column's ``LIKE`` twin goes
LikeTwin = tuple[str, str, str]


def like_twins_dropped(twins: Sequence[LikeTwin]) -> migrations.RunPython:
    """The ``RunPython`` that drops ``twins`` on PostgreSQL (SQLite has none) and,
    backwards, makes them as they were."""

    def forward(apps: Any, schema_editor: Any) -> None:
        if schema_editor.connection.vendor == "postgresql":
            for _table, _column, name in twins:
                schema_editor.execute(f"DROP INDEX IF EXISTS {name}")

    def backward(apps: Any, schema_editor: Any) -> None:
        if schema_editor.connection.vendor == "postgresql":
            for table, column, name in twins:
                schema_editor.execute(
                    f"CREATE INDEX IF NOT EXISTS {name} ON {table} ({column} varchar_pattern_ops)"
                )

    return migrations.RunPython(forward, backward)


# --- indexes built and dropped without stopping the writers (session 29) --------------------
#
# ``CREATE INDEX`` takes a lock that stops every INSERT, UPDATE and DELETE of the table for
# the whole build: at a million cases (~5 M items) that is tens of seconds to minutes of
# refused claims and completions during an upgrade. On PostgreSQL these build and drop the
# index ``CONCURRENTLY`` (Django's `AddIndexConcurrently`/`RemoveIndexConcurrently`: the
# writers go on; the migration must be ``atomic = False``); on SQLite, the embedded
# default, as `AddIndex`/`RemoveIndex` do. A concurrent build that fails leaves an invalid
# index of that name behind: drop it (``DROP INDEX CONCURRENTLY name``) and migrate again
# (docs/operations.md).


def _postgresql(schema_editor: Any) -> bool:
    return bool(schema_editor.connection.vendor == "postgresql")


class _ConcurrentlyOnPostgreSQL:
    """The next class's operation (``CONCURRENTLY``) on PostgreSQL; elsewhere the ``plain``
    one it extends."""

    plain: Any

    def database_forwards(
        self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any
    ) -> None:
        if _postgresql(schema_editor):
            super().database_forwards(app_label, schema_editor, from_state, to_state)  # type: ignore[misc]
        else:
            self.plain.database_forwards(self, app_label, schema_editor, from_state, to_state)

    def database_backwards(
        self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any
    ) -> None:
        if _postgresql(schema_editor):
            super().database_backwards(app_label, schema_editor, from_state, to_state)  # type: ignore[misc]
        else:
            self.plain.database_backwards(self, app_label, schema_editor, from_state, to_state)


class IndexAdded(_ConcurrentlyOnPostgreSQL, AddIndexConcurrently):
    """`AddIndex`, built ``CONCURRENTLY`` on PostgreSQL (the section above)."""

    plain = AddIndex


class IndexRemoved(_ConcurrentlyOnPostgreSQL, RemoveIndexConcurrently):
    """`RemoveIndex`, dropped ``CONCURRENTLY`` on PostgreSQL (the section above)."""

    plain = RemoveIndex
