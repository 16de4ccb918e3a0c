"""Writes to the reference tables: seeding from CSV (idempotent)."""

from __future__ import annotations

import csv
import io
from importlib import resources

from django.db import transaction

from onestop.reference import domain
from onestop.reference.models import Bank, BankBranch, Division, EthnicGroup, Institution


@transaction.atomic
def reference_seed(*, data: domain.ReferenceData | None = None) -> int:
    """Insert the rows of ``data`` (default: the packaged CSV files) that are missing.

    Existing rows are left alone so administrators' edits survive a restart; only an
    institution's blank address or office hours is filled from the demo contacts
    (`data/institution_contacts.csv`). Returns the number of rows inserted.
    """
    data = data or domain.default_reference()
    tables = (EthnicGroup, Division, Institution, Bank, BankBranch)
    before = sum(m.objects.count() for m in tables)
    EthnicGroup.objects.bulk_create(
        [EthnicGroup(g.code, g.name, g.name_en, g.recognized) for g in data.ethnic_groups.values()],
        ignore_conflicts=True,
    )
    Division.objects.bulk_create(
        [Division(d.code, d.name, d.parent or "") for d in data.divisions.values()],
        ignore_conflicts=True,
    )
    rows = []
    for table in (data.hospitals, data.police_stations, data.service_centers):
        for inst in table.values():
            rows.append(
                Institution(
                    kind=inst.kind,
                    code=inst.code,
                    name=inst.name,
                    division=inst.division,
                    midwifery=inst.midwifery,
                )
            )
    Institution.objects.bulk_create(rows, ignore_conflicts=True)
    Bank.objects.bulk_create(
        [Bank(b.code, b.name) for b in data.banks.values()], ignore_conflicts=True
    )
    BankBranch.objects.bulk_create(
        [
            BankBranch(
                code=b.code,
                bank=b.bank,
                name=b.name,
                region=b.region,
                division=b.division,
                address=b.address,
                office_hours=b.office_hours,
            )
            for b in data.bank_branches.values()
        ],
        ignore_conflicts=True,
    )
    after = sum(m.objects.count() for m in tables)
    institution_contacts_fill()
    return after - before


CONTACTS_FILE = "institution_contacts.csv"


def default_contacts() -> dict[tuple[str, str], tuple[str, str]]:
    """(kind, code) → (address, office hours) of the shipped institutions.

    Demo values for the packaged institutions, so pickup notices say where and when;
    administrators replace them with the real ones in admin.
    """
    text = (resources.files("onestop.reference") / "data" / CONTACTS_FILE).read_text(
        encoding="utf-8"
    )
    out: dict[tuple[str, str], tuple[str, str]] = {}
    for row in csv.DictReader(io.StringIO(text, newline="")):
        kind, code = (row.get("kind") or "").strip(), (row.get("code") or "").strip()
        if kind and code:
            address = (row.get("address") or "").strip()
            out[(kind, code)] = (address, (row.get("office_hours") or "").strip())
    return out


def institution_contacts_fill(
    *, contacts: dict[tuple[str, str], tuple[str, str]] | None = None
) -> int:
    """Fill the blank address and office hours of institutions from ``contacts`` (default:
    the packaged demo contacts). A value an administrator entered is never overwritten.
    Returns the number of rows changed."""
    contacts = default_contacts() if contacts is None else contacts
    changed = []
    for row in Institution.objects.filter(kind__in={k for k, _ in contacts}):
        address, hours = contacts.get((row.kind, row.code), ("", ""))
        updated = False
        if not row.address and address:
            row.address = address
            updated = True
        if not row.office_hours and hours:
            row.office_hours = hours
            updated = True
        if updated:
            changed.append(row)
    Institution.objects.bulk_update(changed, ["address", "office_hours"])
    return len(changed)
