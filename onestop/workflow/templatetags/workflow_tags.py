"""``{% case_status case %}``: a case's status as people read it. A completed case says
whether everything was done, part of it was refused, or nothing could be done."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django import template

from onestop.cases.domain.labels import DELIVERY_MODE
from onestop.cases.models import Case
from onestop.core.clock import parse_time
from onestop.policy.schema import PAYMENT_ITEM
from onestop.workflow.card import SSC_ITEM, STATUS_WORDS
from onestop.workflow.domain import delivery
from onestop.workflow.domain.newborns import item_code, split_key
from onestop.workflow.maternity import MATERNITY_ITEM, payment_words, payout_words
from onestop.workflow.models import ItemState
from onestop.workflow.payment import notice_words
from onestop.workflow.selectors import (
    case_card_productions,
    case_not_done,
    case_outcome_of,
    case_payment_notices,
    newborn_word,
)

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
    known = getattr(case, "outcome", None)  # annotated, or set by the page from its items
    outcome = case_outcome_of(case) if known is None else known or None
    if outcome not in ("partly_refused", "refused"):
        return {"outcome": outcome, "items": [], "channels": []}
    items, channels = case_not_done(case)
    return {"outcome": outcome, "items": items, "channels": channels}


@register.inclusion_tag("workflow/case_payment.html")
def case_payment_card(
    case: Case, items: Iterable[Any] | None = None, *, actions: bool = True
) -> dict[str, Any]:
    """The medical-insurance payment notice of the case (docs/adr/0031): amount, deadline,
    channels, whether paid or overdue, and the step after payment (激活医保码) that the
    parents mark done (``actions``: show the button). ``items``: the page's item views —
    a notice is only ever issued for a payment item (`notice_issue`), so a case without
    one costs no statement (None: not known, asked)."""
    if items is not None and not any(
        item_code(getattr(i, "item", "")) == PAYMENT_ITEM for i in items
    ):
        return {"cards": []}
    notices = case_payment_notices(case)
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


@register.inclusion_tag("workflow/case_card.html")
def case_card_progress(case: Case, items: Iterable[Any] = ()) -> dict[str, Any]:
    """The social security card of the case (docs/adr/0037): the branch chosen, the
    production statuses reported so far and, once it is at the branch, where to collect it,
    what to bring and that the financial function is activated at the bank. ``items``: the
    page's item views (item, state), so a card not yet dispatched costs no statement.
    Twins or more (ADR 0036): one card per baby (the items ``social_security_card``,
    ``social_security_card-2``), each named with its baby from the item views."""
    babies = {
        split_key(getattr(i, "item", ""))[1]: getattr(i, "baby", "")
        for i in items
        if item_code(getattr(i, "item", "")) == SSC_ITEM
        and getattr(i, "state", "") != ItemState.WAITING
    }
    if not babies:
        return {"cards": []}
    found = case_card_productions(case)
    cards = []
    for card in found:
        if card.item.newborn not in babies:
            continue
        steps = [
            {
                "label": STATUS_WORDS.get(str(h.get("status")), ""),
                "at": parse_time(str(h.get("at"))),
            }
            for h in card.history
        ]
        cards.append({"card": card, "steps": steps, "baby": babies[card.item.newborn]})
    return {
        "cards": cards,
        "bring": delivery.BRING.get("social_security_card", ""),
        "activation": delivery.AFTER_COLLECTING.get("social_security_card", ""),
    }


@register.inclusion_tag("workflow/case_maternity.html")
def case_maternity_card(case: Case, items: Iterable[Any] = ()) -> dict[str, Any]:
    """The maternity reimbursement as the parents see it (docs/adr/0037): plurality,
    delivery mode, where the money goes (the account masked to its last four digits) and,
    once paid, how much. From the page's item views (``items``): no statement of its own."""
    view = next((i for i in items if getattr(i, "item", "") == MATERNITY_ITEM), None)
    if view is None:  # no maternity item: the (deferred, encrypted) document stays unread
        return {"view": None}
    section = case.typed_document().maternity
    if section is None:
        return {"view": None}
    done = getattr(view, "state", "") == ItemState.DONE
    return {
        "view": view,
        "maternity": section,
        "mode": dict(DELIVERY_MODE).get(section.delivery_mode or "", ""),
        "where": payout_words(case),
        "paid": payment_words(case, getattr(view, "result", None)) if done else None,
    }
