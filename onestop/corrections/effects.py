"""The effects of corrections (ADR 0042): timeline lines, the parents' messages and the
notices on later items' tasks. The webhooks (``correction.requested`` to the issuing
department, ``result.corrected`` to the later items' departments) are registered by
``onestop.integration.effects``. Registered when the corrections app starts."""

from __future__ import annotations

from onestop.cases.effects import parents_message, timeline_add
from onestop.core.events import Phase, effects
from onestop.corrections import events as ev
from onestop.corrections.models import CorrectionNotice
from onestop.workflow.domain.results import RESULT_FIELDS
from onestop.workflow.models import CaseItem
from onestop.workflow.selectors import multiple_birth, row_name


def field_label(item: str, field: str) -> str:
    """The field's name in Chinese (timeline lines and messages are stored in Chinese)."""
    for spec in RESULT_FIELDS.get(item, ()):
        if spec.name == field:
            return spec.label
    return field


def _item(row: CaseItem) -> str:
    """The item's name; for twins or more with its baby (（第二个孩子）, ADR 0036)."""
    return row_name(row, multiple_birth(row.case))


def _what(event: ev.CorrectionEvent) -> tuple[str, str]:
    row = event.row
    return _item(row), field_label(row.item, event.correction.field)


@effects.register(ev.CorrectionRequested, phase=Phase.RECORD, effect="timeline: 申请更正")
def requested_timeline(event: ev.CorrectionRequested) -> None:
    item, field = _what(event)
    timeline_add(
        event.case,
        event.at,
        "correction_requested",
        f"已申请更正{item}的“{field}”，等待签发部门审核",
        item=event.row.item,
        actor=event.actor,
    )


@effects.register(
    ev.ResultCorrected, phase=Phase.RECORD, effect="timeline: 已更正，新证照取代原证照"
)
def corrected_timeline(event: ev.ResultCorrected) -> None:
    item, field = _what(event)
    timeline_add(
        event.case,
        event.at,
        "result_corrected",
        f"{item}的“{field}”已更正：电子证照 {event.new_serial} 取代 {event.old_serial}",
        item=event.row.item,
        actor=event.actor,
    )


@effects.register(
    ev.ResultCorrected, phase=Phase.RECORD, effect="notices on the later items' tasks"
)
def corrected_notices(event: ev.ResultCorrected) -> None:
    CorrectionNotice.objects.bulk_create(
        [
            CorrectionNotice(correction=event.correction, item=row, created_at=event.at)
            for row in event.downstream
        ],
        ignore_conflicts=True,
    )
    item, field = _what(event)
    for row in event.downstream:
        timeline_add(
            event.case,
            event.at,
            "correction_notice",
            f"已通知{_item(row)}：{item}的“{field}”已更正，请以 {event.new_serial} 为准",
            item=row.item,
            parent=False,
        )


@effects.register(ev.CorrectionRefused, phase=Phase.RECORD, effect="timeline: 不予更正")
def refused_timeline(event: ev.CorrectionRefused) -> None:
    item, field = _what(event)
    timeline_add(
        event.case,
        event.at,
        "correction_refused",
        f"{item}的“{field}”更正申请不予更正：{event.correction.refusal_reason}",
        item=event.row.item,
        actor=event.actor,
    )


@effects.register(ev.ResultCorrected, phase=Phase.MESSAGE, effect="SMS + in-app: 证照已更正")
def corrected_message(event: ev.ResultCorrected) -> None:
    item, field = _what(event)
    parents_message(
        event.case,
        key=f"case:{event.case.number}:correction:{event.correction.pk}:approved",
        at=event.at,
        template="result_corrected",
        context={"item": item, "field": field, "serial": event.new_serial},
    )


@effects.register(ev.CorrectionRefused, phase=Phase.MESSAGE, effect="SMS + in-app: 不予更正")
def refused_message(event: ev.CorrectionRefused) -> None:
    item, field = _what(event)
    parents_message(
        event.case,
        key=f"case:{event.case.number}:correction:{event.correction.pk}:refused",
        at=event.at,
        template="correction_refused",
        context={"item": item, "field": field, "reason": event.correction.refusal_reason},
    )
