"""The effects of supervision's events — the parents' urges, the deadline sweep's
transitions, a broken audit chain — as timeline lines and staff work messages. Registered
with the one handler table (``onestop.core.events``) when the supervision app starts."""

from __future__ import annotations

from onestop.accounts.models import Role, User
from onestop.audit.events import AuditChainBroken
from onestop.cases.effects import timeline_add
from onestop.cases.events import CaseDecided
from onestop.cases.models import TimelineEntry
from onestop.core.clock import to_beijing
from onestop.core.events import Phase, effects
from onestop.eligibility.reasons import DEPARTMENT_NAMES, ITEM_NAMES
from onestop.supervision.case_rollups import case_day_stale
from onestop.supervision.events import ItemDeadlineReached, ItemUrged
from onestop.supervision.models import DeadlineEvent, StaffMessage
from onestop.supervision.selectors import item_officers
from onestop.supervision.services import (
    MESSAGE_KINDS,
    due_words,
    staff_message_hold,
    staff_message_send,
)

APPLICANT = "申请人"


@effects.register(ItemUrged, phase=Phase.RECORD, effect="timeline: 申请人催办")
def urged_timeline(event: ItemUrged) -> None:
    row = event.row
    name = ITEM_NAMES.get(row.item, row.item)
    department = DEPARTMENT_NAMES.get(row.department, row.department)
    TimelineEntry.objects.create(
        case=event.case,
        at=event.at,
        kind="item_urged",
        item=row.item,
        message=f"申请人催办{name}（第{event.count}次），已通知{department}",
        actor_label=APPLICANT,
        visible_to_parent=True,
    )


@effects.register(ItemUrged, phase=Phase.MESSAGE, effect="work message to the item's officers")
def urged_message(event: ItemUrged) -> None:
    row = event.row
    assert row.due_at is not None
    name = ITEM_NAMES.get(row.item, row.item)
    staff_message_send(
        users=item_officers(row),
        key=f"urge:{event.urge_id}",
        kind=StaffMessage.Kind.URGED,
        body=(
            f"【家长催办】办件{event.case.number}的{name}已超过办理期限"
            f"（{due_words(row.due_at, row.due_provisional)}），"
            f"申请人第{event.count}次催办，请尽快办理。"
        ),
        at=event.at,
        case=event.case,
        item=row,
    )


@effects.register(ItemDeadlineReached, phase=Phase.RECORD, effect="staff timeline: 到期/超期")
def deadline_timeline(event: ItemDeadlineReached) -> None:
    # written with the dispatch's other lines (the sweep's batch: one INSERT), by the system
    timeline_add(
        event.case,
        event.at,
        f"deadline_{event.kind}",
        event.line,
        item=event.row.item,
        parent=False,
    )


@effects.register(
    ItemDeadlineReached, phase=Phase.MESSAGE, effect="work messages: officers, supervisors"
)
def deadline_message(event: ItemDeadlineReached) -> None:
    staff_message_hold(
        users=event.recipients,
        key=f"deadline:{event.row.pk}:{event.kind}:{int(event.due_at.timestamp())}",
        kind=MESSAGE_KINDS[DeadlineEvent.Kind(event.kind)],
        body=event.body,
        at=event.at,
        queued=event.queued,
        case=event.case,
        item=event.row,
    )


@effects.register(AuditChainBroken, phase=Phase.MESSAGE, effect="work message to administrators")
def audit_break_message(event: AuditChainBroken) -> None:
    problems = event.problems
    shown = "；".join(problems[:5])
    more = f"（另有 {len(problems) - 5} 处）" if len(problems) > 5 else ""
    body = (
        f"审计日志完整性检查发现 {len(problems)} 处问题：{shown}{more}。"
        "请运行 manage.py audit_verify 查看全部问题，并按运维手册处置。"
    )
    staff_message_send(
        users=User.objects.filter(role=Role.ADMIN, is_active=True).order_by("pk"),
        key=f"audit-break:{to_beijing(event.at):%Y%m%d}:{event.fingerprint}",
        kind=StaffMessage.Kind.AUDIT,
        body=body,
        at=event.at,
    )


@effects.register(
    CaseDecided, phase=Phase.RECORD, effect="dashboards: the submission day's roll-up is stale"
)
def decided_rollup_stale(event: CaseDecided) -> None:
    """A case decided again after a supplement changes the decisions of its submission day:
    that day is rolled up again (ADR 0041); the first decision is rolled up with its day."""
    if event.supplemented:
        case_day_stale(event.case)
