"""The database triggers that move the reference data's change stamp (issue 10; ADR 0025,
ADR 0026): one definition for every table whose rows make up reference data in force.

A statement that inserts, updates or deletes rows of a stamped table — through the ORM,
the admin, a bulk update or ``psql`` — writes a new token into ``reference_referencestamp``
in its own transaction; the per-process caches compare that one token per request
(``selectors.reference_stamp``). Used by the migrations that install the triggers
(reference 0004, calendar 0002); plain SQL, no Django import. Another stamp (``stamp``,
``function``) may watch some columns of a table only (``columns``): the API clients'
webhook routing (integration 0007, issue 10 session 26).
"""

from __future__ import annotations

STAMP = "reference_referencestamp"
FUNCTION = "reference_stamp_touch"


def function_sql(stamp: str = STAMP, function: str = FUNCTION) -> tuple[str, str]:
    """PostgreSQL's trigger function: (create, drop)."""
    create = f"""CREATE OR REPLACE FUNCTION {function}() RETURNS trigger AS $$
        BEGIN
            INSERT INTO {stamp} (id, token) VALUES (1, gen_random_uuid()::text)
            ON CONFLICT (id) DO UPDATE SET token = EXCLUDED.token;
            RETURN NULL;
        END $$ LANGUAGE plpgsql"""
    return create, f"DROP FUNCTION IF EXISTS {function}()"


def trigger_sql(
    vendor: str,
    tables: tuple[str, ...],
    *,
    stamp: str = STAMP,
    function: str = FUNCTION,
    columns: tuple[str, ...] = (),
) -> tuple[list[str], list[str]]:
    """The statements that install the stamp's triggers on ``tables`` and those that remove
    them, for the database ``vendor`` (none for a database without triggers here: the
    selector then compares the tables themselves). PostgreSQL's function must exist.
    ``columns``: an UPDATE moves the stamp only where it sets one of these (an insert, a
    delete and a truncation always do); none: every UPDATE."""
    forward: list[str] = []
    backward: list[str] = []
    update = f"UPDATE OF {', '.join(columns)}" if columns else "UPDATE"
    for table in tables:
        if vendor == "postgresql":
            forward.append(
                f"CREATE TRIGGER {table}_stamp AFTER INSERT OR {update} OR DELETE OR TRUNCATE "
                f"ON {table} FOR EACH STATEMENT EXECUTE FUNCTION {function}()"
            )
            backward.append(f"DROP TRIGGER IF EXISTS {table}_stamp ON {table}")
        elif vendor == "sqlite":
            for event in ("INSERT", "UPDATE", "DELETE"):
                name = f"{table}_stamp_{event.lower()}"
                forward.append(
                    f"CREATE TRIGGER {name} AFTER {update if event == 'UPDATE' else event} "
                    f"ON {table} BEGIN "
                    f"INSERT INTO {stamp} (id, token) VALUES (1, lower(hex(randomblob(16)))) "
                    f"ON CONFLICT (id) DO UPDATE SET token = excluded.token; END"
                )
                backward.append(f"DROP TRIGGER IF EXISTS {name}")
    return forward, backward
