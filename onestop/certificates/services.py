"""Issuing e-licences (电子证照): each completed item's result becomes a document that later
items use instead of paper. Called inside the transaction that completes the item."""

from __future__ import annotations

from datetime import datetime

from onestop.cases.models import Case
from onestop.certificates.models import ELicence
from onestop.eligibility.reasons import DEPARTMENT_NAMES
from onestop.workflow.models import CaseItem


def issuer_of(item: CaseItem) -> tuple[str, str]:
    """(code, name) of the body that issues ``item``'s result."""
    from onestop.reference.selectors import institution_name

    if item.jurisdiction_kind in ("hospital", "police_station"):
        return item.jurisdiction_code, institution_name(
            item.jurisdiction_kind, item.jurisdiction_code
        )
    code = (
        f"{item.department}:{item.jurisdiction_code}" if item.jurisdiction_code else item.department
    )
    return code, DEPARTMENT_NAMES.get(item.department, item.department)


def elicence_issue(*, case: Case, item: CaseItem, now: datetime) -> ELicence:
    issuer_code, issuer_name = issuer_of(item)
    return ELicence.objects.create(
        serial=f"{case.number}-{item.position + 1:02d}",
        case=case,
        item=item,
        kind=item.item,
        issuer_code=issuer_code,
        issuer_name=issuer_name,
        payload={
            "case_number": case.number,
            "item": item.item,
            "result": item.result or {},
            "issued_at": now.isoformat(),
        },
        issued_at=now,
    )
