"""``{% case_elicences_card case %}``: the e-licences of a case with their PDF and verification
links, for the parents' case page."""

from __future__ import annotations

from typing import Any

from django import template

from onestop.cases.models import Case
from onestop.certificates.selectors import case_elicences
from onestop.certificates.services import qr_content
from onestop.common.names import item_label
from onestop.workflow.models import CaseItem
from onestop.workflow.selectors import multiple_birth, newborn_word

register = template.Library()


@register.inclusion_tag("certificates/case_elicences.html")
def case_elicences_card(case: Case) -> dict[str, Any]:
    licences = case_elicences(case)
    rows = [e.item for e in licences]
    multiple = multiple_birth(case, rows) if rows else False
    names = [b.name or "" for b in case.typed_document().newborns] if multiple else []

    def baby(row: CaseItem) -> str:
        """Twins (ADR 0036): the baby a licence names, by name (the parents' own page)."""
        word = newborn_word(row, multiple)
        if word and row.newborn < len(names) and names[row.newborn]:
            return names[row.newborn]
        return word

    return {
        "elicences": [
            {
                "serial": e.serial,
                "name": item_label(e.kind),
                "baby": baby(e.item),
                "issuer": e.issuer_name,
                "issued_at": e.issued_at,
                "content": qr_content(e) if e.sealed and e.signature else "",
            }
            for e in licences
        ]
    }
