"""Reads of the reference tables, as the pure `ReferenceData` the domain core uses."""

from __future__ import annotations

import threading
from typing import cast

from django.db import connection

from onestop.reference import domain
from onestop.reference.models import (
    Bank,
    BankBranch,
    Division,
    EthnicGroup,
    Institution,
    ReferenceStamp,
)

_lock = threading.Lock()
_cached: tuple[tuple[object, ...], domain.ReferenceData] | None = None


STAMPED = (EthnicGroup, Division, Institution, Bank, BankBranch)


def _stamp() -> tuple[object, ...]:
    """What identifies the reference data in force, in ONE statement (issue 10: five
    aggregate queries on every officer's task page): the token that the database's own
    triggers change on every write to a reference table (``ReferenceStamp``, migration
    0004) and whether the tables hold rows at all. Read from the database each time, so a
    change made by any process — admin, a seed, a bulk update that sends no signal and
    leaves ``updated_at`` alone, ``psql`` — is seen by the next request of every process;
    only the rebuild is cached. Where the token is missing (a database without the
    triggers, or a test run that emptied every table) the row counts and latest
    ``updated_at`` of the tables stand in for it."""
    quote = connection.ops.quote_name
    stamp = quote(ReferenceStamp._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT (SELECT token FROM {stamp} WHERE id = 1), "
            f"EXISTS (SELECT 1 FROM {quote(EthnicGroup._meta.db_table)}), "
            f"EXISTS (SELECT 1 FROM {quote(Division._meta.db_table)})"
        )
        token, ethnic, divisions = cursor.fetchone()
        if token is not None:
            return (token, bool(ethnic or divisions))
        columns = []
        for model in STAMPED:
            table = quote(model._meta.db_table)
            columns.append(f"(SELECT COUNT(*) FROM {table})")
            columns.append(f"(SELECT MAX(updated_at) FROM {table})")
        cursor.execute("SELECT " + ", ".join(columns))
        row = cursor.fetchone()
    return (None, bool(row[0] or row[2]), *row)


# The stamp read once per request (issue 10 part 2: the reference data and the working
# calendar each asked for it, the calendar up to twice per API call). A request starts and
# ends with an empty memo; a save or delete of a stamped row (the calendar's too) through
# the ORM empties it, so a request that edits the tables sees its own change. Outside a
# request (the worker, commands, tests calling selectors) every call reads the database.
_memo = threading.local()


def reference_stamp() -> tuple[object, ...]:
    """`_stamp`, read at most once per request (see above): the token the database's
    triggers change on every write to the reference and calendar tables, and whether the
    reference tables hold rows. Another process's change is seen by the next request."""
    if not getattr(_memo, "in_request", False):
        return _stamp()
    stamp: tuple[object, ...] | None = getattr(_memo, "stamp", None)
    if stamp is None:
        stamp = _memo.stamp = _stamp()
    return stamp


def request_started(**kwargs: object) -> None:
    _memo.in_request = True
    _memo.stamp = None


def request_finished(**kwargs: object) -> None:
    _memo.in_request = False
    _memo.stamp = None


def forget_stamp(**kwargs: object) -> None:
    """A stamped table was written (post_save / post_delete): read the stamp again."""
    _memo.stamp = None


def _build() -> domain.ReferenceData:
    kinds: dict[str, dict[str, domain.Institution]] = {
        "hospital": {},
        "police_station": {},
        "service_center": {},
    }
    for row in Institution.objects.all():
        kind = cast(domain.InstitutionKind, row.kind)
        kinds[kind][row.code] = domain.Institution(
            row.code, row.name, row.division, kind, row.midwifery, row.address, row.office_hours
        )
    return domain.ReferenceData(
        ethnic_groups={
            g.code: domain.EthnicGroup(g.code, g.name, g.name_en, g.recognized)
            for g in EthnicGroup.objects.all()
        },
        divisions={
            d.code: domain.Division(d.code, d.name, d.parent or None)
            for d in Division.objects.all()
        },
        hospitals=kinds["hospital"],
        police_stations=kinds["police_station"],
        service_centers=kinds["service_center"],
        banks={b.code: domain.Bank(b.code, b.name) for b in Bank.objects.all()},
        bank_branches={
            b.code: domain.BankBranch(
                b.code, b.bank, b.name, b.region, b.division, b.address, b.office_hours
            )
            for b in BankBranch.objects.all()
        },
    )


def current_reference() -> domain.ReferenceData:
    """The reference data as now in the database (rebuilt only when a table changed).

    An empty database (before seeding) falls back to the packaged CSV files.
    """
    return _reference_at(reference_stamp())


def _reference_at(stamp: tuple[object, ...]) -> domain.ReferenceData:
    global _cached
    if not stamp[1]:  # no ethnic groups and no divisions: not seeded yet
        return domain.default_reference()
    with _lock:
        if _cached is None or _cached[0] != stamp:
            _cached = (stamp, _build())
        return _cached[1]


# One institution's, bank's or bank branch's row, from the tables' reference data in force
# (`current_reference`, kept per process under the stamp the request reads anyway; issue
# 10 part 2: a completion read the issuing hospital's name, then its address and hours,
# and the card's branch and bank — up to three statements a call, of rows that change once
# in a while). A write to any reference table moves the stamp, so the next request of every
# process sees it. (Session 23, h-tidyapi: these were kept row by row in a cache of their
# own beside the one build, under the same stamp.) Where the tables hold no reference data
# (not seeded), there is no row: as a read of the empty tables answered.

_KINDS = frozenset(("hospital", "police_station", "service_center"))


def _tables() -> domain.ReferenceData | None:
    """The reference data the tables hold, or None where they hold none (not seeded)."""
    stamp = reference_stamp()
    return _reference_at(stamp) if stamp[1] else None


def _institution(kind: str, code: str) -> domain.Institution | None:
    tables = _tables()
    if tables is None or kind not in _KINDS:
        return None
    return tables.institution(cast(domain.InstitutionKind, kind), code)


def institution_name(kind: str, code: str) -> str:
    """An institution's name; its code where the tables have no row for it."""
    found = _institution(kind, code)
    return found.name if found is not None else code


def institution_contact(kind: str, code: str) -> tuple[str, str, str] | None:
    """(name, address, office hours) of an institution; the packaged name when the tables
    have no row for it (an unseeded database); None when the code is unknown."""
    tables = _tables()
    if kind not in _KINDS:
        return None
    reference = tables if tables is not None else domain.default_reference()
    found = reference.institution(cast(domain.InstitutionKind, kind), code)
    if found is None:
        return None
    return found.name, found.address, found.office_hours


def bank_branch(code: str) -> domain.BankBranch | None:
    """One co-operating bank branch (name, address, opening hours), or None (the packaged
    row where the tables have none, as in an unseeded database)."""
    if not code:
        return None
    tables = _tables()
    found = tables.bank_branches.get(code) if tables is not None else None
    return found if found is not None else domain.default_reference().bank_branches.get(code)


def bank_name(code: str) -> str | None:
    """A co-operating bank's name, or None where the tables have no row for ``code``."""
    if not code:
        return None
    tables = _tables()
    found = tables.banks.get(code) if tables is not None else None
    return found.name if found is not None else None
