"""``{% case_status case %}``: a case's status as people read it. A completed case says
whether everything was done, part of it was refused, or nothing could be done."""

from __future__ import annotations

from typing import Any

from django import template

from onestop.cases.models import Case
from onestop.workflow.selectors import case_not_done, case_outcome_of

register = template.Library()


@register.inclusion_tag("workflow/case_status.html")
def case_status(case: Case) -> dict[str, Any]:
    outcome = getattr(case, "outcome", None)  # from selectors.with_outcome, when annotated
    if outcome is None:
        outcome = case_outcome_of(case) or ""
    return {"case": case, "outcome": outcome}


@register.inclusion_tag("workflow/case_next_steps.html")
def case_next_steps(case: Case) -> dict[str, Any]:
    """For a completed case with items not done: which, why, and where to go instead."""
    outcome = case_outcome_of(case)
    if outcome not in ("partly_refused", "refused"):
        return {"outcome": outcome, "items": [], "channels": []}
    items, channels = case_not_done(case)
    return {"outcome": outcome, "items": items, "channels": channels}
