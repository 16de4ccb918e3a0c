"""The effects of finished cases on ratings (the invitation to rate) and of the ratings'
own events: timeline lines and the parents' messages. Registered with the one handler
table (``onestop.core.events``) when the ratings app starts."""

from __future__ import annotations

from django.conf import settings
from django.urls import reverse

from onestop.accounts.models import User
from onestop.cases.effects import parents_message, timeline_add
from onestop.cases.events import CaseDecided
from onestop.core.events import Phase, effects
from onestop.core.written import written
from onestop.eligibility.reasons import Outcome
from onestop.ratings.events import (
    CaseRated,
    FollowUpClosedSilently,
    FollowUpConfirmed,
    FollowUpOpened,
    FollowUpReopened,
    FollowUpReplied,
)
from onestop.ratings.models import FollowUp, Grade
from onestop.ratings.services import step_name
from onestop.supervision.models import StaffMessage
from onestop.supervision.selectors import item_officers, supervisor_levels
from onestop.supervision.services import staff_message_send
from onestop.workflow.events import CaseCompleted
from onestop.workflow.selectors import multiple_birth


def _rate_link(number: str) -> str:
    return settings.PUBLIC_BASE_URL + reverse("ratings:rate", args=[number])


def _invite(event: CaseCompleted | CaseDecided) -> None:
    case = event.case
    parents_message(
        case,
        key=f"case:{case.number}:rating_invitation",
        at=event.at,
        template="rating_invitation",
        context={"link": _rate_link(case.number)},
    )


@effects.register(CaseCompleted, phase=Phase.MESSAGE, effect="SMS + in-app: 好差评邀请")
def completed_invitation(event: CaseCompleted) -> None:
    """Seed 002 十(一): "在事项办结后,向新生儿父母推送“好差评”服务"."""
    _invite(event)


@effects.register(CaseDecided, phase=Phase.MESSAGE, effect="SMS + in-app: 好差评邀请 (不予受理)")
def rejected_invitation(event: CaseDecided) -> None:
    """A case refused at pre-review (不予受理) is rated too (the whole service)."""
    if event.decision.outcome is Outcome.REJECT:
        _invite(event)


@effects.register(CaseRated, phase=Phase.RECORD, effect="timeline: 已评价")
def rated_timeline(event: CaseRated) -> None:
    multiple = multiple_birth(event.case)
    parts = "；".join(
        f"{step_name(r.step, multiple)}：{Grade(r.grade).label}" for r in event.ratings
    )
    where = {"counter": "窗口", "hotline": "12345热线"}.get(event.ratings[0].channel, "网上")
    timeline_add(event.case, event.at, "rated", f"已通过{where}评价（{parts}）")


def _who(follow_up: FollowUp) -> str:
    return step_name(follow_up.rating.step, multiple_birth(follow_up.case))


@effects.register(FollowUpOpened, phase=Phase.RECORD, effect="timeline: 差评转办整改")
def opened_timeline(event: FollowUpOpened) -> None:
    follow_up = event.follow_up
    timeline_add(
        event.case,
        event.at,
        "follow_up_opened",
        f"对{_who(follow_up)}的差评已转责任单位整改，"
        f"{written(follow_up.due_at, date_only=True)}前答复",
    )


@effects.register(FollowUpReplied, phase=Phase.RECORD, effect="timeline: 整改已答复")
def replied_timeline(event: FollowUpReplied) -> None:
    timeline_add(
        event.case,
        event.at,
        "follow_up_replied",
        f"责任单位已答复对{_who(event.follow_up)}的差评，请查看并确认",
        actor=event.actor,
    )


@effects.register(FollowUpReplied, phase=Phase.MESSAGE, effect="SMS + in-app: 差评整改答复")
def replied_message(event: FollowUpReplied) -> None:
    follow_up = event.follow_up
    parents_message(
        event.case,
        key=f"follow_up:{follow_up.pk}:replied:{follow_up.round}",
        at=event.at,
        template="rating_reply",
        context={"step": _who(follow_up), "link": _rate_link(event.case.number)},
    )


@effects.register(FollowUpConfirmed, phase=Phase.RECORD, effect="timeline: 整改办结")
def confirmed_timeline(event: FollowUpConfirmed) -> None:
    timeline_add(
        event.case,
        event.at,
        "follow_up_closed",
        f"申请人对{_who(event.follow_up)}的整改答复表示满意，整改办结",
    )


@effects.register(
    FollowUpClosedSilently, phase=Phase.RECORD, effect="timeline: 逾期未确认，视为认可"
)
def closed_silently_timeline(event: FollowUpClosedSilently) -> None:
    timeline_add(
        event.case,
        event.at,
        "follow_up_closed",
        f"对{_who(event.follow_up)}的整改答复，申请人{event.days}个工作日内未确认，"
        "逾期未确认，视为认可，整改办结",
    )


@effects.register(
    FollowUpClosedSilently, phase=Phase.MESSAGE, effect="SMS + in-app: 逾期未确认，视为认可"
)
def closed_silently_message(event: FollowUpClosedSilently) -> None:
    follow_up = event.follow_up
    parents_message(
        event.case,
        key=f"follow_up:{follow_up.pk}:closed_silence:{follow_up.round}",
        at=event.at,
        template="rating_closed_silence",
        context={"step": _who(follow_up), "days": event.days},
    )


@effects.register(FollowUpReopened, phase=Phase.RECORD, effect="timeline: 再次反映")
def reopened_timeline(event: FollowUpReopened) -> None:
    follow_up = event.follow_up
    timeline_add(
        event.case,
        event.at,
        "follow_up_reopened",
        f"申请人对{_who(follow_up)}的整改答复仍不满意，已再次转办（第{follow_up.round}轮），"
        f"{written(follow_up.due_at, date_only=True)}前答复",
    )


def answerers(follow_up: FollowUp) -> list[User]:
    """Who is to answer: the officers of the rated step (its department, in the item's
    jurisdiction); for the whole service, the nearest level of supervisors over the case."""
    item = follow_up.rating.item
    if item is not None:
        return item_officers(item)
    levels = supervisor_levels(follow_up.division)
    return levels[0] if levels else []


def _work_message(event: FollowUpOpened | FollowUpReopened, body: str) -> None:
    follow_up = event.follow_up
    staff_message_send(
        users=answerers(follow_up),
        key=f"follow_up:{follow_up.pk}:{follow_up.round}",
        kind=StaffMessage.Kind.RATING,
        body=body,
        at=event.at,
        case=event.case,
    )


@effects.register(FollowUpOpened, phase=Phase.MESSAGE, effect="work message: 差评待整改")
def opened_work_message(event: FollowUpOpened) -> None:
    follow_up = event.follow_up
    grade = Grade(follow_up.rating.grade).label
    _work_message(
        event,
        f"【差评整改】办件{event.case.number}的{_who(follow_up)}被评为“{grade}”，"
        f"请于{written(follow_up.due_at)}前核实整改，并在“好差评”中答复申请人。",
    )


@effects.register(FollowUpReopened, phase=Phase.MESSAGE, effect="work message: 再次反映")
def reopened_work_message(event: FollowUpReopened) -> None:
    follow_up = event.follow_up
    _work_message(
        event,
        f"【差评整改】办件{event.case.number}的申请人对{_who(follow_up)}的整改答复仍不满意"
        f"（第{follow_up.round}轮），请于{written(follow_up.due_at)}前再次核实答复。",
    )
