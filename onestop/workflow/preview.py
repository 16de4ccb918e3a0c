"""The hold of an item until the applicant confirms its previews (预览确认, ADR 0035).

Fuzhou (seed 003): "核对一致的，生成《出生医学证明》，《出生医学证明首次签发登记表》和
《常住人口登记表》（后续环节公安部门使用）预览页面，一并推送给申请人确认签字（电子签名）。
不符合要求的，通知申请人转线下办理。申请人确认无误后，服务平台将有关申请信息推送至助产机构。"

Pack data (``preview_before_issue`` of an item) decides which item waits; no region is
named here. At acceptance the item is held (``awaiting_confirmation = "preview"``, the
mechanism of ADR 0029) and a `PreviewConfirmation` is opened; the applicant's decision
(`onestop.certificates.preview`, which renders, hashes and seals) releases it — the item
then goes to its department, where 秒批 may complete it at once — or refuses it with the
reason and the ordinary channel. These helpers run in the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from onestop.accounts.models import User, actor_label
from onestop.audit.services import audit_record
from onestop.calendar.selectors import current_calendar
from onestop.cases.models import Case
from onestop.core.events import Event, emit
from onestop.policy.loader import default_packs
from onestop.policy.schema import PreviewBeforeIssue
from onestop.workflow import events as ev
from onestop.workflow.models import CaseItem, ItemState, PreviewConfirmation
from onestop.workflow.services import _apply, _statuses

# An applicant who has not signed a day after the previews were generated is reminded once:
# the birth certificate, and every item after it, waits for that signature.
REMIND_AFTER = timedelta(days=1)

HOLD = "preview"  # CaseItem.awaiting_confirmation while the applicant has not signed


def preview_rule(case: Case, item: str) -> PreviewBeforeIssue | None:
    """The item's ``preview_before_issue`` in the pack version the case is pinned to."""
    pack = default_packs().version(case.region, case.pack_version)
    entry = pack.item(item) if pack is not None else None
    return entry.preview_before_issue if entry is not None else None


def preview_item(case: Case, rows: Mapping[str, CaseItem]) -> str | None:
    """The item `preview_hold` holds among ``rows`` (the first whose pack entry asks for a
    preview), or None: it holds none."""
    return next((r.item for r in rows.values() if preview_rule(case, r.item) is not None), None)


def preview_hold(case: Case, rows: Mapping[str, CaseItem], *, now: datetime) -> None:
    """At acceptance, before the items are dispatched: hold the first item whose pack
    entry asks for a preview and open the applicant's confirmation. Twins or more
    (ADR 0036): every baby's row of that item is held, and the one confirmation (one
    signature over every baby's documents) releases them all."""
    code = preview_item(case, rows)
    if code is None:
        return
    rule = preview_rule(case, code)
    assert rule is not None
    for row in rows.values():
        if row.item == code:
            row.awaiting_confirmation = HOLD
            row.save(update_fields=["awaiting_confirmation"])
    preview = PreviewConfirmation.objects.create(
        case=case, item=code, documents_kinds=list(rule.documents), created_at=now
    )
    audit_record(
        stream=case.number,
        at=now,
        actor=None,
        actor_label=actor_label(None),
        action="preview_requested",
        object_type="preview",
        object_id=str(preview.pk),
        detail={"item": code, "documents": list(rule.documents)},
    )
    emit(ev.PreviewRequested(case=case, at=now, preview=preview))


def held_rows(preview: PreviewConfirmation, rows: Mapping[str, CaseItem]) -> list[CaseItem]:
    """The rows waiting for the preview: the item's row, each baby's for twins (ADR 0036)."""
    return [
        row
        for row in rows.values()
        if row.item == preview.item
        and row.state == ItemState.WAITING
        and row.awaiting_confirmation == HOLD
    ]


def held_row(preview: PreviewConfirmation, rows: Mapping[str, CaseItem]) -> CaseItem | None:
    """The first held row (None once the preview released or refused them)."""
    held = held_rows(preview, rows)
    return held[0] if held else None


def preview_release(
    case: Case,
    preview: PreviewConfirmation,
    rows: dict[str, CaseItem],
    *,
    now: datetime,
    actor: User | None,
) -> list[Event]:
    """The applicant signed: the held items may go (their clocks start when dispatched)."""
    statuses = _statuses(list(rows.values()))
    changes: list[Any] = []
    for row in held_rows(preview, rows):
        statuses, changed = statuses.release(row.key, now)
        changes += changed
    if not changes:
        return []
    return _apply(case, rows, changes, now=now, actor=actor, calendar=current_calendar())


def preview_refuse(
    case: Case,
    preview: PreviewConfirmation,
    rows: dict[str, CaseItem],
    reason: str,
    *,
    now: datetime,
    actor: User | None,
) -> list[Event]:
    """The applicant asked for a correction: the held items are refused (转线下办理), with
    the items that needed them."""
    statuses = _statuses(list(rows.values()))
    changes: list[Any] = []
    for row in held_rows(preview, rows):
        statuses, changed = statuses.refuse(row.key, now, [reason])
        changes += changed
    if not changes:
        return []
    return _apply(case, rows, changes, now=now, actor=actor, calendar=current_calendar())


# The previews' titles (the documents' own names, as on paper).
DOCUMENT_TITLES: Mapping[str, str] = {
    "birth_certificate": "《出生医学证明》",
    "bmc_first_issue_register": "《出生医学证明首次签发登记表》",
    "household_registration_form": "《常住人口登记表》",
}


def preview_reminders_sweep(now: datetime | None = None) -> dict[str, int]:
    """The periodic job: remind, once, each applicant whose previews have waited unsigned
    for ``REMIND_AFTER`` (one transaction per preview: the mark, its audit record and the
    message; a second run finds nothing to do)."""
    from django.db import transaction
    from django.utils import timezone

    now = now or timezone.now()
    due = PreviewConfirmation.objects.filter(
        state=PreviewConfirmation.State.PENDING,
        reminded_at__isnull=True,
        created_at__lte=now - REMIND_AFTER,
    )
    reminded = 0
    for pk in list(due.values_list("pk", flat=True)):
        with transaction.atomic():
            preview = PreviewConfirmation.objects.select_for_update().get(pk=pk)
            if preview.state != PreviewConfirmation.State.PENDING or preview.reminded_at:
                continue
            preview.reminded_at = now
            preview.save(update_fields=["reminded_at"])
            case = preview.case
            audit_record(
                stream=case.number,
                at=now,
                actor=None,
                actor_label=actor_label(None),
                action="preview_reminded",
                object_type="preview",
                object_id=str(preview.pk),
                detail={"item": preview.item},
            )
            emit(ev.PreviewReminded(case=case, at=now, preview=preview))
            reminded += 1
    return {"reminded": reminded}
