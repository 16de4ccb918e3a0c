"""``{% case_status case %}``: a case's status as people read it. A completed case says
whether everything was done, part of it was refused, or nothing could be done."""

from __future__ import annotations

from typing import Any

from django import template

from onestop.cases.models import Case
from onestop.workflow.models import PaymentNotice
from onestop.workflow.payment import notice_words
from onestop.workflow.selectors import case_not_done, case_outcome_of, newborn_word

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


@register.inclusion_tag("workflow/case_payment.html")
def case_payment_card(case: Case, *, actions: bool = True) -> dict[str, Any]:
    """The medical-insurance payment notice of the case (docs/adr/0031): amount, deadline,
    channels, whether paid or overdue, and the step after payment (激活医保码) that the
    parents mark done (``actions``: show the button)."""
    notices = list(
        PaymentNotice.objects.filter(case=case).select_related("item").order_by("item__position")
    )
    if not notices:
        return {"cards": []}
    # Twins (ADR 0036): one payment per baby, each card saying whose.
    multiple = len(notices) > 1
    return {
        "case": case,
        "cards": [
            {
                "notice": notice,
                "words": notice_words(notice),
                "newborn": notice.item.newborn,
                "baby": newborn_word(notice.item, multiple),
            }
            for notice in notices
        ],
        "actions": actions,
    }
