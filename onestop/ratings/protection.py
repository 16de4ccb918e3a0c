"""Database-side protection of ratings (ADR 0038): a rating, once given, is never changed.

Installed by migration ``ratings.0002``. On PostgreSQL a trigger refuses UPDATE and DELETE
of ``ratings_rating`` rows (like the audit tables', ADR 0019; test databases are emptied
with TRUNCATE, which this leaves alone). On SQLite (the embedded demo) a trigger refuses
UPDATE only: its test databases are emptied with DELETE.
"""

from __future__ import annotations

TABLE = "ratings_rating"
MESSAGE = "onestop: ratings are never changed once given"

POSTGRES_INSTALL = f"""
CREATE OR REPLACE FUNCTION onestop_rating_unchangeable() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '{MESSAGE} (% of %)', TG_OP, TG_TABLE_NAME
    USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER {TABLE}_unchangeable BEFORE UPDATE OR DELETE ON {TABLE}
  FOR EACH ROW EXECUTE FUNCTION onestop_rating_unchangeable();
"""
POSTGRES_REMOVE = f"""
DROP TRIGGER IF EXISTS {TABLE}_unchangeable ON {TABLE};
DROP FUNCTION IF EXISTS onestop_rating_unchangeable();
"""
SQLITE_INSTALL = f"""
CREATE TRIGGER IF NOT EXISTS {TABLE}_unchangeable BEFORE UPDATE ON {TABLE}
BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END;
"""
SQLITE_REMOVE = f"DROP TRIGGER IF EXISTS {TABLE}_unchangeable;"
