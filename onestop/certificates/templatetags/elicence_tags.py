"""``{% case_elicences_card case %}``: the e-licences of a case with their PDF and verification
links, for the parents' case page."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django import template

from onestop.cases.models import Case
from onestop.certificates.selectors import case_elicences
from onestop.certificates.services import qr_content
from onestop.common.names import item_label
from onestop.workflow.models import ItemState

register = template.Library()


@register.inclusion_tag("certificates/case_elicences.html")
def case_elicences_card(case: Case, items: Sequence[Any] | None = None) -> dict[str, Any]:
    """``items``: the page's item views (`portal.selectors.ItemView`), whose ``baby`` says
    which baby a twin's licence names (ADR 0036) without another query. A licence is
    issued when its item is done (a final state): while none is, no statement (issue 10
    part 3). None: not known, asked."""
    if items is not None and not any(view.state == ItemState.DONE for view in items):
        return {"elicences": []}
    babies = {view.item: view.baby for view in items or ()}
    return {
        "elicences": [
            {
                "serial": e.serial,
                "name": item_label(e.kind),
                "baby": babies.get(e.item.key, ""),
                "issuer": e.issuer_name,
                "issued_at": e.issued_at,
                "content": qr_content(e) if e.sealed and e.signature else "",
                # 已被更正 (ADR 0042): the licence that replaced it.
                "superseded_by": e.superseded_by.serial if e.superseded_by else "",
            }
            for e in case_elicences(case)
        ]
    }
