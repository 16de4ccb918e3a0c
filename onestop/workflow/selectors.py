"""Reads of a case's items: the outcome of a finished case (all done, partly refused,
nothing done), derived from the items' states (issue 8, defect 5)."""

from __future__ import annotations

from django.db import models
from django.db.models import Exists, OuterRef, QuerySet, Value, When

from onestop.cases.models import Case, CaseStatus
from onestop.workflow.domain.outcome import OUTCOME_LABELS, Outcome, case_outcome
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
