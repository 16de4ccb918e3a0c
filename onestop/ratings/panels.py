"""The supervisors' dashboard panels of ratings and their follow-ups (issue 12 parts 1 and
4): registered in ``RatingsConfig.ready`` through ``supervision.dashboards.panel_register``.

The numbers come from ``ratings.selectors.summary``: three grouped queries over the period's
ratings (one row per rating and step, far fewer than items), not a scan of the cases."""

from __future__ import annotations

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from onestop.common.names import department_label
from onestop.ratings.models import Grade
from onestop.ratings.selectors import summary
from onestop.supervision.dashboards import Figures, Panel, Table

GRADES = [Grade(g) for g in sorted(Grade.values, reverse=True)]  # 非常满意 … 非常不满意


def _grade_row(label: str, counts: dict[int, int]) -> list[object]:
    return [label, *(counts.get(int(g), 0) for g in GRADES), sum(counts.values())]


def ratings_by_department(f: Figures) -> Table:
    s = f.scope
    found = summary(s.prefix, s.start_at, s.end_at, now=s.now)
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


def follow_ups(f: Figures) -> Table:
    s = f.scope
    found = summary(s.prefix, s.start_at, s.end_at, now=s.now)
    waiting = found.follow_ups_open - found.follow_ups_overdue
    rows: list[list[object]] = [
        [_("待答复（未超期）"), waiting],
        [_("超期未答复"), found.follow_ups_overdue],
        [_("已答复待确认"), found.follow_ups_replied],
        [_("已办结"), found.follow_ups_closed],
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
        "follow-ups",
        gettext_lazy("差评整改"),
        "pie",
        follow_ups,
        gettext_lazy("期间内差评引起的整改，按当前状态统计。"),
    ),
]
