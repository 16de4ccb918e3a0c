"""Writes to the reference tables: seeding from CSV (idempotent)."""

from __future__ import annotations

from django.db import transaction

from onestop.reference import domain
from onestop.reference.models import Bank, Division, EthnicGroup, Institution


@transaction.atomic
def reference_seed(*, data: domain.ReferenceData | None = None) -> int:
    """Insert the rows of ``data`` (default: the packaged CSV files) that are missing.

    Existing rows are left alone so administrators' edits survive a restart.
    Returns the number of rows inserted.
    """
    data = data or domain.default_reference()
    before = sum(m.objects.count() for m in (EthnicGroup, Division, Institution, Bank))
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
    after = sum(m.objects.count() for m in (EthnicGroup, Division, Institution, Bank))
    return after - before
