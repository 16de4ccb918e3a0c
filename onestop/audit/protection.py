"""Database-side protection of the audit tables (PostgreSQL only; ADR 0019).

Triggers (installed by migration ``audit.0003``) refuse UPDATE, DELETE and TRUNCATE of
audit records and anchors whoever asks, and UPDATE or TRUNCATE of access records; access
records may be deleted only once older than ``ACCESS_RECORD_MIN_DAYS`` (a retention job
may prune them; the Cybersecurity Law, art. 21, asks for at least six months of logs).

Triggers stop the application and anyone using its connection; the table owner could drop
them. Where the deployment runs the application under its own role (not the owner),
``revoke_sql`` takes the privileges away as well (``manage.py audit_protect``).
"""

from __future__ import annotations

ACCESS_RECORD_MIN_DAYS = 180
APPEND_ONLY_TABLES = ("audit_auditrecord", "audit_auditanchor")
ACCESS_TABLE = "audit_accessrecord"

INSTALL_SQL = (
    f"""
CREATE OR REPLACE FUNCTION onestop_audit_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'onestop: % of % refused: audit records are append-only', TG_OP, TG_TABLE_NAME
    USING ERRCODE = 'insufficient_privilege';
END $$;

CREATE OR REPLACE FUNCTION onestop_access_record_retention() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' AND OLD.at < now() - interval '{ACCESS_RECORD_MIN_DAYS} days' THEN
    RETURN OLD;
  END IF;
  RAISE EXCEPTION 'onestop: % of % refused: access records are never changed '
    'and kept at least {ACCESS_RECORD_MIN_DAYS} days', TG_OP, TG_TABLE_NAME
    USING ERRCODE = 'insufficient_privilege';
END $$;
"""
    + "".join(
        f"""
CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table}
  FOR EACH ROW EXECUTE FUNCTION onestop_audit_append_only();
CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table}
  FOR EACH STATEMENT EXECUTE FUNCTION onestop_audit_append_only();
"""
        for table in APPEND_ONLY_TABLES
    )
    + f"""
CREATE TRIGGER {ACCESS_TABLE}_retention BEFORE UPDATE OR DELETE ON {ACCESS_TABLE}
  FOR EACH ROW EXECUTE FUNCTION onestop_access_record_retention();
CREATE TRIGGER {ACCESS_TABLE}_no_truncate BEFORE TRUNCATE ON {ACCESS_TABLE}
  FOR EACH STATEMENT EXECUTE FUNCTION onestop_audit_append_only();
"""
)

REMOVE_SQL = (
    "".join(
        f"""
DROP TRIGGER IF EXISTS {table}_append_only ON {table};
DROP TRIGGER IF EXISTS {table}_no_truncate ON {table};
"""
        for table in APPEND_ONLY_TABLES
    )
    + f"""
DROP TRIGGER IF EXISTS {ACCESS_TABLE}_retention ON {ACCESS_TABLE};
DROP TRIGGER IF EXISTS {ACCESS_TABLE}_no_truncate ON {ACCESS_TABLE};
DROP FUNCTION IF EXISTS onestop_audit_append_only();
DROP FUNCTION IF EXISTS onestop_access_record_retention();
"""
)


def revoke_sql(role: str) -> list[str]:
    """Statements that leave ``role`` (the application's runtime role) able to read and
    append audit rows, never to change or remove them (access records: delete once old)."""
    quoted = '"' + role.replace('"', '""') + '"'
    tables = ", ".join((*APPEND_ONLY_TABLES, ACCESS_TABLE))
    return [
        f"REVOKE UPDATE, DELETE, TRUNCATE, TRIGGER, REFERENCES ON {tables} FROM {quoted}",
        f"GRANT SELECT, INSERT ON {tables} TO {quoted}",
        f"GRANT DELETE ON {ACCESS_TABLE} TO {quoted}",
        "GRANT USAGE, SELECT ON SEQUENCE "
        + ", ".join(f"{t}_id_seq" for t in (*APPEND_ONLY_TABLES, ACCESS_TABLE))
        + f" TO {quoted}",
    ]
