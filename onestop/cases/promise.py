"""The case's overall promise (承诺办结时限) where the region's plan gives one, as the
parents see it on the progress page, the acceptance notice and the acceptance SMS
(issue 11 item 11)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils.translation import gettext as _

from onestop.calendar.clock_rules import ClockRule, due_time_marked
from onestop.calendar.selectors import current_calendar, due_text
from onestop.cases.models import Case, CaseStatus
from onestop.core.clock import end_of_day, to_beijing
from onestop.policy.loader import default_packs
from onestop.policy.schema import PAYMENT_ITEM


@dataclass(frozen=True)
class Promise:
    """The case's overall promise (承诺办结时限) where the region's plan gives one: Qinbei
    33 working days, Yuanling 3 working days with post excluded (regions.md, "overall
    promise"). The clock starts when the case is accepted (after a supplement, when the
    supplement is accepted). ``due_at`` is None until then; ``kept`` is None while the
    case is open."""

    days: int
    unit: str
    excludes: str
    cite: str
    due_at: datetime | None
    due_provisional: bool
    kept: bool | None  # None until the departments have finished their items


_STARTED = (CaseStatus.IN_PROGRESS, CaseStatus.COMPLETED)


def case_promise(case: Case) -> Promise | None:
    """``case``'s overall promise, or None where its region's plan promises per item only."""
    pack = default_packs().version(case.region, case.pack_version)
    limit = pack.overall_time_limit if pack else None
    if pack is None or limit is None or limit.days is None:
        return None
    due: datetime | None = None
    provisional = False
    if case.status in _STARTED:
        if limit.unit == "calendar_days":
            due = end_of_day(to_beijing(case.decided_at).date() + timedelta(days=limit.days))
        else:
            due, provisional = due_time_marked(
                current_calendar(), ClockRule(pack.clock_rule), case.decided_at, limit.days
            )
    kept = None
    if due is not None:
        # The departments' work: the parents' own premium payment (within 90 days of birth
        # in Yuanling) is not what the promise counts.
        finished = list(case.items.exclude(item=PAYMENT_ITEM).values_list("finished_at", flat=True))
        if finished and all(moment is not None for moment in finished):
            kept = max(finished) <= due
        elif case.status == CaseStatus.COMPLETED and case.completed_at:
            kept = case.completed_at <= due
    return Promise(
        days=limit.days,
        unit=limit.unit,
        excludes=limit.excludes or "",
        cite=limit.cite or "",
        due_at=due,
        due_provisional=provisional,
        kept=kept,
    )


def promise_sentence(promise: Promise | None) -> str:
    """The overall promise as the acceptance notice and SMS say it ("" where there is none)."""
    if promise is None:
        return ""
    if promise.unit == "calendar_days":
        sentence = _("本“一件事”承诺%(days)s个自然日内办结") % {"days": promise.days}
    else:
        sentence = _("本“一件事”承诺%(days)s个工作日内办结") % {"days": promise.days}
    if promise.excludes:
        sentence += _("（%(what)s除外）") % {"what": promise.excludes}
    sentence += _("，自受理之日起计算")
    if promise.due_at is not None:
        due = due_text(promise.due_at, promise.due_provisional)
        sentence += _("，最迟于%(due)s办结") % {"due": due}
    return sentence + _("。")
