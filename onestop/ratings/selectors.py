"""Reads of ratings and follow-ups: who may see and answer which, what a case may still be
rated on, and the summary a dashboard shows (``summary``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone

from onestop.accounts.models import JurisdictionKind, Role, User
from onestop.cases.models import Case, CaseStatus
from onestop.common.compiled import CompiledValues
from onestop.common.revalidate import stamp_read_none
from onestop.core.clock import to_beijing
from onestop.ratings.models import WHOLE_SERVICE, FollowUp, FollowUpStatus, Grade, Rating
from onestop.workflow.models import CaseItem, ItemState

RATEABLE_CASE_STATES = (CaseStatus.COMPLETED, CaseStatus.REJECTED)
# A step someone worked: its result issued or refused (a cancelled step was never worked).
RATEABLE_ITEM_STATES = (ItemState.DONE, ItemState.REFUSED)


def case_rateable(case: Case) -> bool:
    """Rating opens when the case is finished (办结) or was refused at pre-review."""
    return case.status in RATEABLE_CASE_STATES


def rateable_steps(case: Case) -> list[CaseItem]:
    """The department steps of ``case`` that can be rated, in the case's order."""
    if case.status != CaseStatus.COMPLETED:
        return []
    return list(
        CaseItem.objects.filter(case=case, state__in=RATEABLE_ITEM_STATES).order_by("position")
    )


def rateable_keys(case: Case, items: Sequence[Any] | None = None) -> list[str]:
    """The keys of `rateable_steps`; ``items``: every item of the case as a page read it
    (``item`` key, ``state``, in the case's order), so they cost no statement."""
    if items is None:
        return [row.key for row in rateable_steps(case)]
    if case.status != CaseStatus.COMPLETED:
        return []
    return [i.item for i in items if i.state in RATEABLE_ITEM_STATES]


def unrated_steps(case: Case, items: Sequence[Any] | None = None) -> list[str]:
    """The steps ("" = the whole service) still open for rating. ``items``: every item of
    the case as the page read it (``item`` key, ``state``, in the case's order), so the
    rateable steps cost no statement (None: asked, `rateable_steps`)."""
    if not case_rateable(case):
        return []
    wanted = [WHOLE_SERVICE, *rateable_keys(case, items)]
    done = set() if stamp_read_none(case, Rating) else {s for (s,) in _RATED_STEPS.rows(case.pk)}
    return [step for step in wanted if step not in done]


def replied_follow_ups(case: Case) -> int:
    """How many of the case's follow-ups were replied to and wait for the parents' word
    (the rating card asks them to look)."""
    if stamp_read_none(case, Rating):  # a follow-up is a rating's (one to one, its case)
        return 0
    return len(_REPLIED_FOLLOW_UPS.rows(case.pk))


# The rating card's two reads by the case's id, compiled once per process (issue 10:
# building and compiling these querysets was most of the card on a finished case's page,
# cProfile): the steps rated, the follow-ups replied to (their ids: few a case).
_RATED_STEPS = CompiledValues(
    Rating,
    lambda case_id: Rating.objects.filter(case_id=case_id).values_list("step"),
    -7_340_029_605,
)
_REPLIED_FOLLOW_UPS = CompiledValues(
    FollowUp,
    lambda case_id: FollowUp.objects.filter(
        case_id=case_id, status=FollowUpStatus.REPLIED
    ).values_list("pk"),
    -7_340_029_607,
)


def _division_prefix(user: User) -> str | None:
    if user.role == Role.ADMIN or user.is_superuser:
        return ""
    if user.jurisdiction_kind == JurisdictionKind.DIVISION and user.jurisdiction_code:
        return user.jurisdiction_code
    return None


def follow_ups_visible_to(user: User, qs: QuerySet[FollowUp] | None = None) -> QuerySet[FollowUp]:
    """Officers: their department's follow-ups in their jurisdiction. Supervisors: every
    follow-up in their division (the departments' and the whole service's). Admins: all."""
    qs = FollowUp.objects.all() if qs is None else qs
    if not user.is_authenticated or not user.is_active:
        return qs.none()
    if user.role == Role.OFFICER:
        if not user.department:
            return qs.none()
        qs = qs.filter(department=user.department)
        prefix = _division_prefix(user)
        if prefix is not None:
            return qs.filter(division__startswith=prefix)
        if not user.jurisdiction_code:
            return qs.none()
        return qs.filter(
            jurisdiction_kind=user.jurisdiction_kind, jurisdiction_code=user.jurisdiction_code
        )
    if user.role in (Role.SUPERVISOR, Role.ADMIN) or user.is_superuser:
        prefix = _division_prefix(user)
        return qs.none() if prefix is None else qs.filter(division__startswith=prefix)
    return qs.none()


def can_answer(user: User, follow_up: FollowUp) -> bool:
    """Who replies: an officer of the responsible department in its jurisdiction; for the
    whole service (no department), a supervisor over the case's division."""
    if not follow_ups_visible_to(user, FollowUp.objects.filter(pk=follow_up.pk)).exists():
        return False
    if follow_up.department:
        return user.role == Role.OFFICER
    return user.role == Role.SUPERVISOR


def follow_ups_to_answer(user: User) -> QuerySet[FollowUp]:
    """The open follow-ups ``user`` is to answer (the workbench list and its badge)."""
    qs = follow_ups_visible_to(user).filter(status=FollowUpStatus.OPEN)
    if user.role == Role.OFFICER:
        return qs
    if user.role == Role.SUPERVISOR:
        return qs.filter(department="")
    return qs.none()


def overdue_q(now: datetime) -> Q:
    return Q(status=FollowUpStatus.OPEN, due_at__lt=now)


# --- the dashboard's summary -------------------------------------------------------------


@dataclass
class RatingSummary:
    """Ratings given in [start, end) in a division, and the follow-ups they opened."""

    total: int = 0
    grades: dict[int, int] = field(default_factory=dict)  # grade (5 … 1) → count
    whole_service: dict[int, int] = field(default_factory=dict)
    departments: dict[str, dict[int, int]] = field(default_factory=dict)
    channels: dict[str, dict[int, int]] = field(default_factory=dict)  # channel → grades
    follow_ups_open: int = 0  # waiting for the department's reply (overdue ones included)
    follow_ups_overdue: int = 0  # open and past the due time
    follow_ups_replied: int = 0  # replied, waiting for the parent
    follow_ups_closed: int = 0
    follow_ups_closed_silent: int = 0  # of the closed: 逾期未确认，视为认可

    @property
    def bad(self) -> int:
        return self.grades.get(Grade.DISSATISFIED, 0) + self.grades.get(Grade.VERY_DISSATISFIED, 0)

    @property
    def satisfaction(self) -> float | None:
        """The share rated 满意 or better (非常满意, 满意), None with no rating."""
        if not self.total:
            return None
        good = self.grades.get(Grade.VERY_SATISFIED, 0) + self.grades.get(Grade.SATISFIED, 0)
        return good / self.total

    def add(self, key: tuple[str, str, bool, str, int], values: dict[str, int]) -> None:
        _division, department, whole, channel, grade = key
        n = values["ratings"]
        self.total += n
        self.grades[grade] = self.grades.get(grade, 0) + n
        target = self.whole_service if whole else self.departments.setdefault(department, {})
        target[grade] = target.get(grade, 0) + n
        by_channel = self.channels.setdefault(channel, {})
        by_channel[grade] = by_channel.get(grade, 0) + n
        self.follow_ups_open += values["follow_ups_open"]
        self.follow_ups_replied += values["follow_ups_replied"]
        self.follow_ups_closed += values["follow_ups_closed"]
        self.follow_ups_closed_silent += values["follow_ups_closed_silent"]


def summary(
    division_prefix: str, start: datetime, end: datetime, *, now: datetime | None = None
) -> RatingSummary:
    """Counts per grade, per department (and for the whole service), per channel, and the
    follow-ups of those ratings by status (open / overdue / replied / closed), for ratings
    given in [``start``, ``end``) in cases whose division starts with ``division_prefix``
    ("" = everywhere).

    Read from the daily roll-up ``RatingDay`` for the whole days rolled up (a whole past
    month summed once and kept in the cache under its markers' days and ids:
    ``supervision.rollups.rolled_parts``, three statements for any period), and
    from the rating rows by the same function for the rest (today, a stale day); overdue
    follow-ups live from the open ones."""
    from onestop.ratings.rollups import rating_day_markers, rating_figures, rolled_figures
    from onestop.supervision.rollups import midnight, rolled_parts, spans, within

    now = now or timezone.now()
    result = RatingSummary(grades={int(g): 0 for g in Grade.values})
    first_day = to_beijing(start).date()
    if midnight(first_day) < start:
        first_day += timedelta(days=1)
    last_day = to_beijing(end).date()  # days before it end by ``end``
    rolled: set[Any] = set()
    if first_day < last_day:
        rolled, parts = rolled_parts(
            "ratings",
            division_prefix,
            first_day,
            last_day,
            now,
            rating_day_markers(),
            lambda days: rolled_figures(days, division_prefix),
        )
        for found in parts:
            for k, values in found.items():
                result.add(k, values)
    scope = within(Rating.objects.all(), division_prefix)
    for span_start, span_end in spans(start, end, rolled):
        for k, values in rating_figures(span_start, span_end, scope).items():
            result.add(k, values)
    result.follow_ups_overdue = (
        FollowUp.objects.filter(overdue_q(now))
        .filter(
            rating__at__gte=start,
            rating__at__lt=end,
            rating__division__startswith=division_prefix,
        )
        .count()
    )
    return result
