"""Reads of a case's items: the outcome of a finished case (all done, partly refused,
nothing done), derived from the items' states (issue 8, defect 5)."""

from __future__ import annotations

from collections.abc import Sequence

from django.db import models
from django.db.models import Exists, OuterRef, QuerySet, Value, When

from onestop.cases.models import Case, CaseStatus
from onestop.eligibility.prereview import ordinary_channels
from onestop.eligibility.reasons import ITEM_NAMES
from onestop.policy.loader import default_packs
from onestop.workflow.domain.outcome import OUTCOME_LABELS, NotDone, Outcome, case_outcome
from onestop.workflow.models import CaseItem, ItemState


def case_outcome_of(case: Case) -> Outcome | None:
    """The outcome of a completed case (None while it is open or was not accepted)."""
    if case.status != CaseStatus.COMPLETED:
        return None
    return case_outcome(CaseItem.objects.filter(case=case).values_list("state", flat=True))


def with_outcome(qs: QuerySet[Case]) -> QuerySet[Case]:
    """``qs`` with an ``outcome`` annotation ("" unless completed), in one query."""
    items = CaseItem.objects.filter(case=OuterRef("pk"))
    completed = models.Q(status=CaseStatus.COMPLETED)
    return qs.annotate(
        outcome=models.Case(
            When(
                completed & ~Exists(items.exclude(state=ItemState.DONE)),
                then=Value("done"),
            ),
            When(
                completed & Exists(items.filter(state=ItemState.DONE)),
                then=Value("partly_refused"),
            ),
            When(completed, then=Value("refused")),
            default=Value(""),
            output_field=models.CharField(),
        )
    )


def outcome_label(outcome: str) -> str:
    return OUTCOME_LABELS.get(outcome, "")


def case_not_done(case: Case) -> tuple[list[NotDone], list[str]]:
    """The items of the case not done (name and why) and their ordinary channels (原渠道)."""
    rows = list(
        CaseItem.objects.filter(
            case=case, state__in=(ItemState.REFUSED, ItemState.CANCELLED)
        ).order_by("position")
    )
    items = [NotDone(ITEM_NAMES.get(r.item, r.item), why_not_done(r)) for r in rows]
    return items, ordinary_channels_of(case, [r.item for r in rows])


def ordinary_channels_of(case: Case, items: Sequence[str]) -> list[str]:
    """Where the parents can do ``items`` the ordinary way (the region's channels)."""
    pack = default_packs().version(case.region, case.pack_version)
    return ordinary_channels(pack, items) if pack is not None else []


def why_not_done(row: CaseItem) -> str:
    """Why an item was not done, in Chinese: the refusal reasons, or the refused
    prerequisite that cancelled it."""
    if row.state == ItemState.REFUSED:
        return f"不予办理：{'；'.join(row.reasons)}" if row.reasons else "不予办理"
    cause = ITEM_NAMES.get(row.cancelled_because, row.cancelled_because)
    return f"因{cause}不予办理而取消" if cause else "已取消"
