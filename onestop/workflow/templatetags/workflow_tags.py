"""``{% case_status case %}``: a case's status as people read it. A completed case says
whether everything was done, part of it was refused, or nothing could be done."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django import template

from onestop.cases.domain.labels import DELIVERY_MODE
from onestop.cases.models import Case
from onestop.core.clock import parse_time
from onestop.workflow.card import SSC_ITEM, STATUS_WORDS
from onestop.workflow.domain import delivery
from onestop.workflow.maternity import MATERNITY_ITEM, payment_words, payout_words
from onestop.workflow.models import CardProduction, ItemState, PaymentNotice
from onestop.workflow.payment import notice_words
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


@register.inclusion_tag("workflow/case_payment.html")
def case_payment_card(case: Case, *, actions: bool = True) -> dict[str, Any]:
    """The medical-insurance payment notice of the case (docs/adr/0031): amount, deadline,
    channels, whether paid or overdue, and the step after payment (激活医保码) that the
    parents mark done (``actions``: show the button)."""
    notice = PaymentNotice.objects.filter(case=case).order_by("pk").first()
    if notice is None:
        return {"notice": None}
    return {
        "case": case,
        "notice": notice,
        "words": notice_words(notice),
        "actions": actions,
    }


@register.inclusion_tag("workflow/case_card.html")
def case_card_progress(case: Case, items: Iterable[Any] = ()) -> dict[str, Any]:
    """The social security card of the case (docs/adr/0037): the branch chosen, the
    production statuses reported so far and, once it is at the branch, where to collect it,
    what to bring and that the financial function is activated at the bank. ``items``: the
    page's item views (item, state), so a card not yet dispatched costs no statement."""
    dispatched = any(
        getattr(i, "item", "") == SSC_ITEM and getattr(i, "state", "") != ItemState.WAITING
        for i in items
    )
    card = CardProduction.objects.filter(case=case).order_by("pk").first() if dispatched else None
    if card is None:
        return {"card": None}
    steps = [
        {"label": STATUS_WORDS.get(str(h.get("status")), ""), "at": parse_time(str(h.get("at")))}
        for h in card.history
    ]
    return {
        "card": card,
        "steps": steps,
        "bring": delivery.BRING.get("social_security_card", ""),
        "activation": delivery.AFTER_COLLECTING.get("social_security_card", ""),
    }


@register.inclusion_tag("workflow/case_maternity.html")
def case_maternity_card(case: Case, items: Iterable[Any] = ()) -> dict[str, Any]:
    """The maternity reimbursement as the parents see it (docs/adr/0037): plurality,
    delivery mode, where the money goes (the account masked to its last four digits) and,
    once paid, how much. From the page's item views (``items``): no statement of its own."""
    view = next((i for i in items if getattr(i, "item", "") == MATERNITY_ITEM), None)
    section = case.typed_document().maternity
    if view is None or section is None:
        return {"view": None}
    done = getattr(view, "state", "") == ItemState.DONE
    return {
        "view": view,
        "maternity": section,
        "mode": dict(DELIVERY_MODE).get(section.delivery_mode or "", ""),
        "where": payout_words(case),
        "paid": payment_words(case, getattr(view, "result", None)) if done else None,
    }
