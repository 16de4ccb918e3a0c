"""Corrections (ADR 0042) on other apps' pages: the parents' case page, an officer's task
and queue. Inclusion tags, so those pages need one line each."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django import template
from django.db.models import Q

from onestop.accounts.models import User
from onestop.cases.models import Case
from onestop.corrections.effects import field_label
from onestop.corrections.models import CorrectionNotice
from onestop.corrections.selectors import (
    case_corrections,
    item_notices,
    workbench_counts,
)
from onestop.workflow.domain.newborns import split_key
from onestop.workflow.models import CaseItem, ItemState
from onestop.workflow.selectors import multiple_birth_once, row_name

register = template.Library()


@register.inclusion_tag("corrections/case_card.html")
def case_corrections_card(case: Case, items: Iterable[Any] | None = None) -> dict[str, Any]:
    """``items``: the case page's item views (their states), so that whether anything was
    issued costs no statement; the card itself is one (issue 10: the page's cost is fixed),
    and none while no item is done (a correction is of an issued licence, and a licence is
    issued when its item is done: a final state). None: not known, the card asks.
    Twins: the item views say which baby (``baby``), so the names do too (ADR 0036)."""
    known = items is not None
    items = list(items or ())
    multiple = any(getattr(i, "baby", "") for i in items)
    issued = any(getattr(i, "state", "") == ItemState.DONE for i in items)
    return {
        "case": case,
        "issued": issued,
        "rows": [
            {
                "c": c,
                "item_name": row_name(c.item, multiple or c.item.newborn > 0),
                "field_label": field_label(c.item.item, c.field),
            }
            for c in (case_corrections(case) if issued or not known else ())
        ],
    }


def _has_notices(item: CaseItem) -> bool:
    known = getattr(item, "has_notices", None)  # read with the item (``notices_exist``)
    if isinstance(known, bool):
        return known
    return bool(list(CorrectionNotice.objects.filter(item=item).values_list("pk", flat=True)[:1]))


@register.inclusion_tag("corrections/task_card.html", takes_context=True)
def task_corrections(context: dict[str, Any], item: CaseItem) -> dict[str, Any]:
    """The notices on a later item (a result it used was corrected), and links to ask for
    a correction of this item's or its prerequisites' results."""
    multiple = multiple_birth_once(item.case)  # the task page asked already
    notices = [
        {
            "n": n,
            "item_name": row_name(n.correction.item, multiple),
            "field_label": field_label(n.correction.item.item, n.correction.field),
        }
        # Most items have no notice: ask with a plain statement (the notices' five joined
        # tables cost ~3 ms of CPU to compile, issue 10 part 3); join only when there are.
        for n in (item_notices(item) if _has_notices(item) else ())
    ]
    targets: Iterable[CaseItem]
    if not item.after:  # only the item itself, as the page read it: no statement
        targets = [item] if item.state == ItemState.DONE else []
    else:
        # ``after`` holds keys: twins' items wait for their own baby's (``code-2``, ADR 0036).
        wanted = Q(pk=item.pk)
        for key in item.after:
            code, newborn = split_key(key)
            wanted |= Q(item=code, newborn=newborn)
        # Their ids and names only: no result is read (nor decrypted) for a link.
        targets = (
            CaseItem.objects.filter(wanted, case_id=item.case_id, state=ItemState.DONE)
            .only("id", "item", "newborn", "position")
            .order_by("position")
        )
    request = context.get("request")
    return {
        "notices": notices,
        "targets": [{"id": t.pk, "name": row_name(t, multiple)} for t in targets],
        "here": request.get_full_path() if request is not None else "",
    }


@register.inclusion_tag("corrections/queue_link.html", takes_context=True)
def corrections_queue_link(context: dict[str, Any], user: User) -> dict[str, Any]:
    waiting, unread = workbench_counts(user, context.get("request"))
    return {"open": waiting, "unread": unread}
