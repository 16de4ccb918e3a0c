"""What the counter's case page shows of the same visit (ADR 0032): the items the counter
finishes while the parents wait, their print and handover, and the trustee's authorization
(附件3 授权委托书) with its scans and whether it holds today. Reads only."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from onestop.accounts.models import User
from onestop.cases.models import Case, Material
from onestop.certificates.models import ELicence
from onestop.common.names import department_label, item_label, material_label
from onestop.core.clock import to_beijing
from onestop.core.written import written
from onestop.unified_form.model import RELATIONS
from onestop.workflow.domain import delivery
from onestop.workflow.domain.recipients import authorization_covers
from onestop.workflow.models import CaseItem, ItemState, ResultHandover
from onestop.workflow.same_visit import (
    counter_may_complete,
    counter_may_hand_over,
    handover_recipients,
    same_visit_rule,
)
from onestop.workflow.selectors import multiple_birth, newborn_word, result_form_fields

RECIPIENT_ROLES = [
    ("mother", gettext_lazy("母亲")),
    ("father", gettext_lazy("父亲")),
    ("trustee", gettext_lazy("受托人")),
]
LETTER_MATERIALS = ("authorization_letter", "trustee_id_card")


def authorization_view(case: Case, *, today: datetime) -> dict[str, Any] | None:
    """The authorization as the clerk checks it: trustee, relation, items, dates, the
    mother's signature, the scans, and whether it covers each chosen item today."""
    doc = case.typed_document()
    auth = doc.authorization
    if auth is None:
        return None
    day = to_beijing(today).date()
    trustee = auth.trustee
    relation = trustee.relation if trustee else None
    chosen = doc.chosen_items()
    uncovered = [item_label(i) for i in chosen if not authorization_covers(auth, i, day)]
    scans = {m.code: m for m in Material.objects.filter(case=case, code__in=LETTER_MATERIALS)}
    return {
        "trustee_name": trustee.name if trustee else "",
        "trustee_id": trustee.id_number if trustee else "",
        "relation": RELATIONS.get(relation, relation) if relation else "",
        "items": [item_label(i) for i in auth.items or () if i],
        "valid_from": written(auth.valid_from) if auth.valid_from else "",
        "valid_to": written(auth.valid_to) if auth.valid_to else "",
        "signed": bool(auth.signed_by_mother),
        "holds": not uncovered,
        "uncovered": uncovered,
        "scans": [
            {
                "name": material_label(code),
                "scanned": code in scans and bool(scans[code].file),
                "source": scans[code].get_source_display() if code in scans else "",
            }
            for code in LETTER_MATERIALS
        ],
    }


def same_visit_views(user: User, case: Case, *, now: datetime) -> list[dict[str, Any]]:
    """Each same-visit item of the case: its state, and what this clerk can do now
    (当场办理 with the result form; 打印; 当场交付 and to whom), or the handover made."""
    out = []
    rows = list(CaseItem.objects.filter(case=case).order_by("position"))
    multiple = multiple_birth(case, rows)
    for row in rows:
        rule = same_visit_rule(case, row.item)
        if rule is None:
            continue
        result = delivery.result_of(row.item)
        licence = ELicence.objects.filter(item=row).only("serial").first()
        handover = ResultHandover.objects.filter(item=row).select_related("handed_by").first()
        done = row.state == ItemState.DONE
        may_hand_over = counter_may_hand_over(user, case, row)
        entry: dict[str, Any] = {
            "row": row,
            "name": item_label(row.item)
            + (f"（{baby}）" if (baby := newborn_word(row, multiple)) else ""),
            "result": result or "",
            "result_name": delivery.RESULT_NAMES.get(result, result) if result else "",
            "by": rule.by,
            "can_complete": row.state in (ItemState.READY, ItemState.IN_PROGRESS)
            and counter_may_complete(user, case, row),
            "fields": result_form_fields(row.item),
            "serial": licence.serial if licence else "",
            "can_print": done and licence is not None and may_hand_over,
            "handover": None,
            "recipients": [],
        }
        if handover is not None:
            person = handover.recipient or {}
            entry["handover"] = {
                "role": dict(RECIPIENT_ROLES).get(handover.recipient_role, ""),
                "name": person.get("name", ""),
                "at": handover.handed_at,
                "by": handover.handed_by.label(),
            }
        elif done and may_hand_over:
            entry["recipients"] = [
                p.label_full() for p in handover_recipients(case, row, today=now)
            ]
        if not done and rule.by == "department":
            entry["waiting"] = _("等待{department}现场办理后当场打印").format(
                department=department_label(row.department)
            )
        out.append(entry)
    return out
