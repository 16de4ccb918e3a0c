"""A case with a baby of a given age whose guidance item is done (for the guidance tests)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from django.utils import timezone

from onestop.cases.models import Case
from onestop.cases.services import case_submit
from onestop.core.clock import parse_time, to_beijing
from onestop.ops.demo import shift_dates
from onestop.reference.services import reference_seed
from onestop.testing.factories import officer
from onestop.workflow.models import CaseItem, ItemState
from onestop.workflow.services import item_complete


def today() -> date:
    return to_beijing(timezone.now()).date()


def born_days_ago(document: dict[str, Any], days: int) -> datetime:
    """Move the example so its first newborn was born ``days`` ago (at the example's hour)
    and it was submitted as long after the birth as the example says; the submission time."""
    born = parse_time(document["newborns"][0]["born_at"])
    gap = parse_time(document["submitted_at"]) - born
    now = to_beijing(timezone.now())
    target = born.replace(year=now.year, month=now.month, day=now.day) - timedelta(days=days)
    submitted = target + gap
    shift_dates(document, submitted)
    return submitted


def guidance_row(case: Case) -> CaseItem:
    return CaseItem.objects.get(case=case, item="parenting_guidance")


def case_with_baby(
    document: dict[str, Any], days: int, *, register: bool = True, arranged: str = ""
) -> Case:
    """A case whose baby is ``days`` old; its guidance item done by a health officer."""
    reference_seed()
    submitted = born_days_ago(document, days)
    case = case_submit(document=document, actor=None, now=submitted).case
    assert case.status == "in_progress", case.decision
    if register:
        row = guidance_row(case)
        assert row.state == ItemState.READY, row.state
        health = officer("health", row.jurisdiction_kind, row.jurisdiction_code)
        result = {"visit_arranged": arranged} if arranged else {}
        item_complete(item_id=row.pk, actor=health, result=result)
    return case
