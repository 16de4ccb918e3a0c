"""Writes of ratings (好差评) and follow-ups (整改). Each is one transaction holding the
change, its audit records and its events' effects, with the case row locked (the audit
stream is the case's number).

- ``case_rate``: the parents (online, 一事一评), a clerk for them (counter, 一次一评) or the
  12345 operator for a verified caller (hotline) rate the whole service and/or steps,
  once each; a bad grade opens a follow-up.
- ``follow_up_reply``: the responsible department's officer (whole service: a supervisor)
  replies to the parent.
- ``follow_up_confirm`` / ``follow_up_recomplain``: the parent accepts the reply (closed)
  or complains again (open again, new due time).
- ``follow_up_close_after_silence``: the parent did neither within
  ``RATING_CONFIRM_WORKING_DAYS`` working days of the reply: closed as 逾期未确认，视为认可
  (the job ``follow_ups_silence``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from onestop.accounts.models import JurisdictionKind, Role, User, actor_label
from onestop.accounts.permissions import can_view_case
from onestop.audit.services import audit_record
from onestop.calendar.clock_rules import ClockRule, due_time_marked
from onestop.calendar.selectors import current_calendar
from onestop.cases.models import Case
from onestop.cases.services import case_locked
from onestop.core.errors import OnestopError
from onestop.core.events import emit
from onestop.ratings.events import (
    CaseRated,
    FollowUpClosedSilently,
    FollowUpConfirmed,
    FollowUpOpened,
    FollowUpReopened,
    FollowUpReplied,
)
from onestop.ratings.models import (
    WHOLE_SERVICE,
    Channel,
    ClosedHow,
    FollowUp,
    FollowUpEntry,
    FollowUpStatus,
    Grade,
    Rating,
)
from onestop.ratings.rollups import rating_day_stale
from onestop.ratings.selectors import can_answer, case_rateable, rateable_steps
from onestop.workflow.selectors import key_name

COMMENT_MAX = 500
REPLY_MAX = 1000
APPLICANT = "申请人"


def follow_up_working_days() -> int:
    """国办发〔2019〕51号 asks bad ratings to be rectified within a set time (限期整改)
    without a national number of days: the setting ``RATING_FOLLOW_UP_WORKING_DAYS``
    (default 5; ADR 0038)."""
    return int(settings.RATING_FOLLOW_UP_WORKING_DAYS)


class RatingRefused(OnestopError):
    """The rating or follow-up step is not accepted; ``code`` says why."""

    code = "rating_refused"


@dataclass(frozen=True)
class Given:
    """One grade given: for ``step`` (an item's key in its case: its code, ``code-2`` for
    a second newborn's (ADR 0036); "" = the whole service)."""

    step: str
    grade: int
    comment: str = ""


def step_name(step: str, multiple: bool = False) -> str:
    """The step as people read it; for twins or more (``multiple``) with its baby:
    出生医学证明办理（第二个孩子） (ADR 0036)."""
    return "整体服务" if step == WHOLE_SERVICE else key_name(step, multiple)


def _due(now: datetime) -> tuple[datetime, bool]:
    return due_time_marked(current_calendar(), ClockRule.STANDARD, now, follow_up_working_days())


def _operator_over(actor: User, case: Case) -> bool:
    return bool(
        actor.is_active
        and actor.role == Role.OPERATOR
        and actor.jurisdiction_kind == JurisdictionKind.DIVISION
        and actor.jurisdiction_code
        and case.division.startswith(actor.jurisdiction_code)
    )


@transaction.atomic
def case_rate(
    *,
    case: Case,
    actor: User,
    given: list[Given] | Mapping[str, tuple[int, str]],
    channel: str = Channel.ONLINE,
    now: datetime | None = None,
) -> list[Rating]:
    """Record the grades ``given``. Online: a parent of the case; at the counter: a clerk
    of the counter that accepted it (GB/T 39734-2020, 一次一评). Each (case, step) is rated
    once: if any step given is rated already, nothing is recorded."""
    now = now or timezone.now()
    if isinstance(given, Mapping):
        given = [Given(step, grade, comment) for step, (grade, comment) in given.items()]
    locked = case_locked(case.pk)
    channel = Channel(channel)
    if channel == Channel.HOTLINE:
        # 国办发〔2019〕51号: hotlines are rated too. The 12345 operator records the grades
        # of a caller verified for this case (the view checks the verification); the case
        # must be in the operator's division.
        if not _operator_over(actor, locked):
            raise RatingRefused("只能记录本辖区办件的热线评价", code="rating_forbidden")
    else:
        wanted_role = Role.PARENT if channel == Channel.ONLINE else Role.CLERK
        if actor.role != wanted_role or not can_view_case(actor, locked):
            raise RatingRefused("只能评价本人的办件", code="rating_forbidden")
    if not case_rateable(locked):
        raise RatingRefused("办件办结后才能评价", code="rating_not_finished")
    if not given:
        raise RatingRefused("请至少选择一项评价", code="rating_empty")
    steps = {row.key: row for row in rateable_steps(locked)}  # twins: a step per baby
    seen: set[str] = set()
    for g in given:
        if g.step != WHOLE_SERVICE and g.step not in steps:
            raise RatingRefused("该事项不能评价", code="rating_step_unknown")
        if g.step in seen:
            raise RatingRefused("每项只能评价一次", code="rating_exists")
        seen.add(g.step)
        if g.grade not in Grade.values:
            raise RatingRefused("请选择评价等级", code="rating_grade")
        if len(g.comment) > COMMENT_MAX:
            raise RatingRefused(f"评价意见不能超过{COMMENT_MAX}字", code="rating_comment_long")
    rated = Rating.objects.filter(case=locked, step__in=seen).values_list("step", flat=True)
    if rated:
        raise _already([*rated])
    rows: list[Rating] = []
    try:
        with transaction.atomic():
            for g in given:
                row = steps.get(g.step)
                rows.append(
                    Rating.objects.create(
                        case=locked,
                        step=g.step,
                        item=row,
                        department=row.department if row is not None else "",
                        division=locked.division,
                        grade=g.grade,
                        comment=g.comment.strip(),
                        channel=channel,
                        rater=actor,
                        at=now,
                    )
                )
    except IntegrityError:  # a second submission that raced this one
        raise _already([g.step for g in given]) from None
    rating_day_stale(now)  # a rating given on a day already rolled up (a clock set back)
    label = APPLICANT if channel == Channel.ONLINE else actor_label(actor)
    for rating in rows:
        audit_record(
            stream=locked.number,
            at=now,
            actor=actor,
            actor_label=label,
            action="case_rated",
            object_type="rating",
            object_id=str(rating.pk),
            detail={
                "step": rating.step,
                "grade": rating.grade,
                "channel": channel.value,
                "commented": bool(rating.comment),
            },
        )
    emit(CaseRated(case=locked, at=now, ratings=tuple(rows), actor=actor))
    for rating in rows:
        if rating.bad:
            _follow_up_open(locked, rating, now)
    return rows


def _already(steps: list[str]) -> RatingRefused:
    names = "、".join(step_name(s) for s in steps)
    return RatingRefused(
        f"{names}已评价。每个办件和事项只能评价一次，评价提交后不能修改。",
        code="rating_exists",
    )


def _follow_up_open(case: Case, rating: Rating, now: datetime) -> FollowUp:
    """Every bad rating is followed up (国办发〔2019〕51号): the step's department in the
    item's jurisdiction, or the supervisors over the case's division (whole service)."""
    due, provisional = _due(now)
    item = rating.item
    follow_up = FollowUp.objects.create(
        rating=rating,
        case=case,
        department=item.department if item is not None else "",
        jurisdiction_kind=item.jurisdiction_kind if item is not None else "",
        jurisdiction_code=item.jurisdiction_code if item is not None else "",
        division=(item.division if item is not None else "") or case.division,
        opened_at=now,
        due_at=due,
        due_provisional=provisional,
    )
    FollowUpEntry.objects.create(
        follow_up=follow_up, kind=FollowUpEntry.Kind.OPENED, actor_label="系统", at=now
    )
    audit_record(
        stream=case.number,
        at=now,
        actor=None,
        actor_label="系统",
        action="follow_up_opened",
        object_type="follow_up",
        object_id=str(follow_up.pk),
        detail={
            "rating": rating.pk,
            "department": follow_up.department,
            "due_at": due.isoformat(),
            "provisional": provisional,
        },
    )
    emit(FollowUpOpened(case=case, at=now, follow_up=follow_up))
    return follow_up


def _follow_up_locked(follow_up_id: int, case: Case | None = None) -> tuple[FollowUp, Case]:
    found = FollowUp.objects.filter(pk=follow_up_id).select_related("rating").first()
    if found is None or (case is not None and found.case_id != case.pk):
        raise RatingRefused("整改记录不存在", code="follow_up_unknown")
    locked_case = case_locked(found.case_id)
    follow_up = FollowUp.objects.select_related("rating").get(pk=found.pk)
    return follow_up, locked_case


@transaction.atomic
def follow_up_reply(
    *, follow_up_id: int, actor: User, text: str, now: datetime | None = None
) -> FollowUp:
    """The responsible officer (whole service: a supervisor) answers the parent."""
    now = now or timezone.now()
    follow_up, case = _follow_up_locked(follow_up_id)
    if not can_answer(actor, follow_up):
        raise RatingRefused("无权答复该整改", code="follow_up_forbidden")
    if follow_up.status != FollowUpStatus.OPEN:
        raise RatingRefused("该整改已答复，等待申请人确认", code="follow_up_not_open")
    text = text.strip()
    if not text:
        raise RatingRefused("请填写整改答复", code="follow_up_reply_empty")
    if len(text) > REPLY_MAX:
        raise RatingRefused(f"答复不能超过{REPLY_MAX}字", code="follow_up_reply_long")
    FollowUpEntry.objects.create(
        follow_up=follow_up,
        kind=FollowUpEntry.Kind.REPLY,
        text=text,
        actor=actor,
        actor_label=actor_label(actor),
        at=now,
    )
    follow_up.status = FollowUpStatus.REPLIED
    follow_up.replied_at = now
    follow_up.version += 1
    follow_up.save(update_fields=["status", "replied_at", "version"])
    rating_day_stale(follow_up.rating.at)
    audit_record(
        stream=case.number,
        at=now,
        actor=actor,
        actor_label=actor_label(actor),
        action="follow_up_replied",
        object_type="follow_up",
        object_id=str(follow_up.pk),
        detail={"round": follow_up.round, "late": now > follow_up.due_at},
    )
    emit(FollowUpReplied(case=case, at=now, follow_up=follow_up, actor=actor))
    return follow_up


def _parent_check(parent: User, case: Case, follow_up: FollowUp) -> None:
    if parent.role != Role.PARENT or not can_view_case(parent, case):
        raise RatingRefused("只能处理本人办件的整改", code="follow_up_forbidden")
    if follow_up.status != FollowUpStatus.REPLIED:
        raise RatingRefused("该整改尚未答复或已办结", code="follow_up_not_replied")


@transaction.atomic
def follow_up_confirm(
    *, follow_up_id: int, parent: User, case: Case | None = None, now: datetime | None = None
) -> FollowUp:
    """The parent accepts the reply (满意): the follow-up is closed."""
    now = now or timezone.now()
    follow_up, locked = _follow_up_locked(follow_up_id, case)
    _parent_check(parent, locked, follow_up)
    FollowUpEntry.objects.create(
        follow_up=follow_up,
        kind=FollowUpEntry.Kind.CONFIRMED,
        actor=parent,
        actor_label=APPLICANT,
        at=now,
    )
    follow_up.status = FollowUpStatus.CLOSED
    follow_up.closed_at = now
    follow_up.closed_how = ClosedHow.CONFIRMED
    follow_up.version += 1
    follow_up.save(update_fields=["status", "closed_at", "closed_how", "version"])
    rating_day_stale(follow_up.rating.at)
    audit_record(
        stream=locked.number,
        at=now,
        actor=parent,
        actor_label=APPLICANT,
        action="follow_up_confirmed",
        object_type="follow_up",
        object_id=str(follow_up.pk),
        detail={"round": follow_up.round},
    )
    emit(FollowUpConfirmed(case=locked, at=now, follow_up=follow_up, actor=parent))
    return follow_up


@transaction.atomic
def follow_up_recomplain(
    *,
    follow_up_id: int,
    parent: User,
    text: str,
    case: Case | None = None,
    now: datetime | None = None,
) -> FollowUp:
    """The parent is not satisfied with the reply: the follow-up opens again, next round,
    with a new due time counted from now."""
    now = now or timezone.now()
    follow_up, locked = _follow_up_locked(follow_up_id, case)
    _parent_check(parent, locked, follow_up)
    text = text.strip()
    if not text:
        raise RatingRefused("请说明仍不满意的原因", code="follow_up_reason_empty")
    if len(text) > COMMENT_MAX:
        raise RatingRefused(f"说明不能超过{COMMENT_MAX}字", code="follow_up_reason_long")
    FollowUpEntry.objects.create(
        follow_up=follow_up,
        kind=FollowUpEntry.Kind.RECOMPLAINED,
        text=text,
        actor=parent,
        actor_label=APPLICANT,
        at=now,
    )
    due, provisional = _due(now)
    follow_up.status = FollowUpStatus.OPEN
    follow_up.round += 1
    follow_up.due_at = due
    follow_up.due_provisional = provisional
    follow_up.replied_at = None
    follow_up.version += 1
    follow_up.save(
        update_fields=["status", "round", "due_at", "due_provisional", "replied_at", "version"]
    )
    rating_day_stale(follow_up.rating.at)
    audit_record(
        stream=locked.number,
        at=now,
        actor=parent,
        actor_label=APPLICANT,
        action="follow_up_reopened",
        object_type="follow_up",
        object_id=str(follow_up.pk),
        detail={"round": follow_up.round, "due_at": due.isoformat()},
    )
    emit(FollowUpReopened(case=locked, at=now, follow_up=follow_up, actor=parent))
    return follow_up


def confirm_working_days() -> int:
    """Working days the parent has to confirm or complain again after a reply (setting
    ``RATING_CONFIRM_WORKING_DAYS``, default 5)."""
    return int(settings.RATING_CONFIRM_WORKING_DAYS)


def silence_deadline(replied_at: datetime) -> datetime:
    """When a reply left without the parent's answer counts as accepted: the setting's
    working days after it, on the product's calendar (standard clock rule)."""
    due, _provisional = due_time_marked(
        current_calendar(), ClockRule.STANDARD, replied_at, confirm_working_days()
    )
    return due


@transaction.atomic
def follow_up_close_after_silence(*, follow_up_id: int, now: datetime | None = None) -> bool:
    """Close a replied follow-up the parent left unanswered past the deadline (逾期未确认，
    视为认可): a timeline line, an audit record and a message to the parents. Exactly once:
    the case row is locked first (as the parent's confirmation and re-complaint do), then
    the follow-up is read again — already closed, or re-opened by a re-complaint that took
    the lock first, or replied again since: nothing is done (False)."""
    now = now or timezone.now()
    follow_up, case = _follow_up_locked(follow_up_id)
    if follow_up.status != FollowUpStatus.REPLIED or follow_up.replied_at is None:
        return False
    if silence_deadline(follow_up.replied_at) > now:
        return False
    days = confirm_working_days()
    text = f"整改答复后{days}个工作日内申请人未确认也未再次反映，逾期未确认，视为认可"
    FollowUpEntry.objects.create(
        follow_up=follow_up,
        kind=FollowUpEntry.Kind.CLOSED_SILENCE,
        text=text,
        actor_label="系统",
        at=now,
    )
    follow_up.status = FollowUpStatus.CLOSED
    follow_up.closed_at = now
    follow_up.closed_how = ClosedHow.SILENCE
    follow_up.version += 1
    follow_up.save(update_fields=["status", "closed_at", "closed_how", "version"])
    rating_day_stale(follow_up.rating.at)
    audit_record(
        stream=case.number,
        at=now,
        actor=None,
        actor_label="系统",
        action="follow_up_closed_silence",
        object_type="follow_up",
        object_id=str(follow_up.pk),
        detail={
            "round": follow_up.round,
            "replied_at": follow_up.replied_at.isoformat(),
            "working_days": days,
        },
    )
    emit(FollowUpClosedSilently(case=case, at=now, follow_up=follow_up, days=days))
    return True
