"""The supervisors' dashboard panels of ratings and their follow-ups (issue 12 parts 1 and
4): registered in ``RatingsConfig.ready`` through ``supervision.dashboards.panel_register``.

The numbers come from ``ratings.selectors.summary``: the daily roll-up ``RatingDay`` for the
days rolled up, the rating rows for today and stale days (``ratings.rollups``), computed
once per request (``Figures.extra``) and shared by the three panels."""

from __future__ import annotations

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from onestop.common.names import department_label
from onestop.ratings.models import Channel, Grade
from onestop.ratings.selectors import RatingSummary, summary
from onestop.supervision.dashboards import Figures, Panel, Table

GRADES = [Grade(g) for g in sorted(Grade.values, reverse=True)]  # 非常满意 … 非常不满意


def _grade_row(label: str, counts: dict[int, int]) -> list[object]:
    return [label, *(counts.get(int(g), 0) for g in GRADES), sum(counts.values())]


def _summary(f: Figures) -> RatingSummary:
    """One summary per request, shared by the panels."""
    found = f.extra.get("ratings")
    if not isinstance(found, RatingSummary):
        s = f.scope
        found = f.extra["ratings"] = summary(s.prefix, s.start_at, s.end_at, now=s.now)
    return found


def ratings_by_department(f: Figures) -> Table:
    found = _summary(f)
    rows = []
    if found.whole_service:
        rows.append(_grade_row(_("整体服务"), found.whole_service))
    for department in sorted(found.departments):
        rows.append(_grade_row(department_label(department), found.departments[department]))
    return Table(
        [_("评价对象"), *(str(g.label) for g in GRADES), _("合计")],
        rows,
        series=tuple(range(1, len(GRADES) + 1)),
        total=_grade_row(_("合计"), found.grades),
    )


def ratings_by_channel(f: Figures) -> Table:
    """国办发〔2019〕51号: counters, hotlines and apps are all rated."""
    found = _summary(f)
    rows = [
        _grade_row(str(Channel(channel).label), found.channels[channel])
        for channel in Channel.values
        if channel in found.channels
    ]
    return Table(
        [_("评价渠道"), *(str(g.label) for g in GRADES), _("合计")],
        rows,
        series=tuple(range(1, len(GRADES) + 1)),
        total=_grade_row(_("合计"), found.grades),
    )


def follow_ups(f: Figures) -> Table:
    found = _summary(f)
    waiting = found.follow_ups_open - found.follow_ups_overdue
    rows: list[list[object]] = [
        [_("待答复（未超期）"), waiting],
        [_("超期未答复"), found.follow_ups_overdue],
        [_("已答复待确认"), found.follow_ups_replied],
        [_("申请人确认办结"), found.follow_ups_closed - found.follow_ups_closed_silent],
        [_("逾期未确认视为认可"), found.follow_ups_closed_silent],
    ]
    return Table(
        [_("差评整改"), _("件数")],
        rows,
        series=(1,),
        total=[_("合计"), sum(int(r[1]) for r in rows)],  # type: ignore[call-overload]
    )


PANELS = [
    Panel(
        "ratings",
        gettext_lazy("好差评"),
        "bar",
        ratings_by_department,
        gettext_lazy("按评价时间统计；五级评价（国办发〔2019〕51号），整体服务与各部门事项分列。"),
    ),
    Panel(
        "ratings-channel",
        gettext_lazy("好差评渠道"),
        "bar",
        ratings_by_channel,
        gettext_lazy("按评价时间统计；网上、窗口和12345热线评价分列（国办发〔2019〕51号）。"),
    ),
    Panel(
        "follow-ups",
        gettext_lazy("差评整改"),
        "pie",
        follow_ups,
        gettext_lazy("期间内差评引起的整改，按当前状态统计。"),
    ),
]
