"""Corrections (ADR 0042) on other apps' pages: the parents' case page, an officer's task
and queue. Inclusion tags, so those pages need one line each."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django import template

from onestop.accounts.models import User
from onestop.cases.models import Case
from onestop.common.names import item_label
from onestop.corrections.effects import field_label
from onestop.corrections.selectors import (
    case_corrections,
    item_notices,
    workbench_counts,
)
from onestop.workflow.models import CaseItem, ItemState

register = template.Library()


@register.inclusion_tag("corrections/case_card.html")
def case_corrections_card(case: Case, items: Iterable[Any] = ()) -> dict[str, Any]:
    """``items``: the case page's item views (their states), so that whether anything was
    issued costs no statement; the card itself is one (issue 10: the page's cost is fixed)."""
    return {
        "case": case,
        "issued": any(getattr(i, "state", "") == ItemState.DONE for i in items),
        "rows": [
            {
                "c": c,
                "item_name": item_label(c.item.item),
                "field_label": field_label(c.item.item, c.field),
            }
            for c in case_corrections(case)
        ],
    }


@register.inclusion_tag("corrections/task_card.html", takes_context=True)
def task_corrections(context: dict[str, Any], item: CaseItem) -> dict[str, Any]:
    """The notices on a later item (a result it used was corrected), and links to ask for
    a correction of this item's or its prerequisites' results."""
    notices = [
        {
            "n": n,
            "item_name": item_label(n.correction.item.item),
            "field_label": field_label(n.correction.item.item, n.correction.field),
        }
        for n in item_notices(item)
    ]
    targets = CaseItem.objects.filter(
        case_id=item.case_id, state=ItemState.DONE, item__in=[item.item, *(item.after or [])]
    ).order_by("position")
    request = context.get("request")
    return {
        "notices": notices,
        "targets": [{"id": t.pk, "name": item_label(t.item)} for t in targets],
        "here": request.get_full_path() if request is not None else "",
    }


@register.inclusion_tag("corrections/queue_link.html")
def corrections_queue_link(user: User) -> dict[str, Any]:
    waiting, unread = workbench_counts(user)
    return {"open": waiting, "unread": unread}
