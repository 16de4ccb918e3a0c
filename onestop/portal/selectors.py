"""Reads for the parents' pages: only the signed-in parent's cases, as people read them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import QuerySet

from onestop.accounts.models import User
from onestop.accounts.permissions import cases_visible_to
from onestop.cases.models import Case, TimelineEntry
from onestop.eligibility.reasons import DEPARTMENT_NAMES, ITEM_NAMES
from onestop.workflow.models import CaseItem


def parent_cases(user: User) -> QuerySet[Case]:
    return cases_visible_to(user, Case.objects.all()).order_by("-submitted_at")


@dataclass(frozen=True)
class ItemView:
    item: str
    name: str
    department: str
    state: str
    state_label: str
    due_at: datetime | None
    finished_at: datetime | None
    reasons: list[str]
    result: dict[str, Any]


def item_views(case: Case) -> list[ItemView]:
    out = []
    for row in CaseItem.objects.filter(case=case).order_by("position"):
        out.append(
            ItemView(
                item=row.item,
                name=ITEM_NAMES.get(row.item, row.item),
                department=DEPARTMENT_NAMES.get(row.department, row.department),
                state=row.state,
                state_label=row.get_state_display(),
                due_at=row.due_at,
                finished_at=row.finished_at,
                reasons=list(row.reasons),
                result=dict(row.result or {}) if row.state == "done" else {},
            )
        )
    return out


def parent_timeline(case: Case) -> QuerySet[TimelineEntry]:
    return TimelineEntry.objects.filter(case=case, visible_to_parent=True).order_by("at", "pk")
