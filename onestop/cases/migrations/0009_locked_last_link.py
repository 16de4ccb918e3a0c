"""Session 30 (ADR 0019 amendment): on PostgreSQL, ``onestop_case_locked_last_link(id)``
locks a case row (``FOR UPDATE``) and then returns its audit stream's last record as
"seq hash". The case lock's statement calls it for each row it locks
(`cases.services._lock_reads`): its read of the stream runs after the lock is granted and
in a snapshot of its own (a VOLATILE function's statement, READ COMMITTED), so it sees the
record of a transaction the lock waited for. A subquery of the lock's statement read in
the snapshot taken before the wait and missed it: the audit flush's guess was stale after
~6–11 % of the API's flushes and fell back to two more statements. The statement's own
``FOR UPDATE`` then finds the row locked by this transaction; the function runs after
the rows are sorted by id, so rows are locked in the same order as before. Nothing on
SQLite (one writer at a time; the subqueries stay)."""

from django.db import migrations

INSTALL_SQL = """
CREATE OR REPLACE FUNCTION onestop_case_locked_last_link(case_id bigint) RETURNS text
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  case_number text;
BEGIN
  SELECT number INTO case_number FROM cases_case WHERE id = case_id FOR UPDATE;
  RETURN (
    SELECT seq || ' ' || hash FROM audit_auditrecord
    WHERE stream = case_number ORDER BY seq DESC LIMIT 1
  );
END $$;
"""
REMOVE_SQL = "DROP FUNCTION IF EXISTS onestop_case_locked_last_link(bigint);"


def install(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(INSTALL_SQL, params=None)


def remove(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(REMOVE_SQL, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0008_fewer_index_entries"),
        ("audit", "0005_hash_like_twin_dropped"),
    ]

    operations = [migrations.RunPython(install, remove, elidable=False)]
