"""The supervisors' picture (监管驾驶舱; issue 12 part 4, ADR 0041): panels of figures over a
period and a division prefix, each a table (names, not codes) that the page also draws as
a chart and exports as CSV and Excel.

Every figure over finished work or submitted cases is read from the daily roll-ups
(``CaseDay``, ``CaseDoneDay``, ``EfficiencyDay``) for the days already rolled up, and
computed the same way from the rows for the others (today, a stale day); open overdue items
are counted live through the open-items index (ADR 0025). Nothing scans every case.

A new panel is one entry in ``PANELS``: a slug, a title, a chart kind and a function from
the request's ``Figures`` to a ``Table`` (the ratings panels will be such entries).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import cached_property
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from onestop.accounts.models import JurisdictionKind
from onestop.calendar.domain import WorkingCalendar
from onestop.cases.models import Case
from onestop.common.names import department_label, item_label
from onestop.eligibility.reasons import REASON_KINDS
from onestop.policy.loader import default_packs
from onestop.supervision.case_rollups import (
    DONE_COUNTS,
    case_day_markers,
    case_figures,
    done_day_markers,
    done_figures,
)
from onestop.supervision.models import CaseDay, CaseDoneDay, EfficiencyDay
from onestop.supervision.rollups import (
    Merged,
    add_histogram,
    day_figures,
    efficiency_markers,
    merge,
    midnight,
    rolled_parts,
    spans,
    unrolled_parts,
    within,
)
from onestop.supervision.selectors import (
    OPEN_STATES,
    ROLLED_COUNTS,
    _histogram_median,
    jurisdiction_labels,
)
from onestop.supervision.templatetags.region_tags import region_name
from onestop.workflow.models import CaseItem

# Short names of the pre-review reason codes (spec/decisions.md); a code a pack adds is
# shown by its pack's message.
REASON_NAMES: dict[str, Promise] = {
    "invalid_id_number": gettext_lazy("身份证号码无效"),
    "birth_in_future": gettext_lazy("出生时间晚于申请时间"),
    "outside_age_window": gettext_lazy("超过办理期限"),
    "born_outside_region": gettext_lazy("不在本地助产机构出生"),
    "not_in_hospital_birth": gettext_lazy("非住院分娩"),
    "non_marital_birth": gettext_lazy("非婚内生育"),
    "single_or_divorced_parent": gettext_lazy("父母离异或单亲"),
    "mother_unknown": gettext_lazy("母亲身份不明"),
    "foreign_parent": gettext_lazy("父母一方非内地居民"),
    "no_local_hukou": gettext_lazy("户籍不在本地"),
    "newborn_unnamed": gettext_lazy("新生儿尚未取名"),
    "wrong_applicant": gettext_lazy("申请人身份不符"),
    "ssc_already_applied": gettext_lazy("已在其他渠道申领社会保障卡"),
    "bmc_missing": gettext_lazy("尚未取得出生医学证明"),
    "collective_hukou_not_supported": gettext_lazy("落户户口类型不受理"),
    "missing_material": gettext_lazy("缺少申请材料"),
    "ethnicity_confirmation_missing": gettext_lazy("民族成份未经父母双方确认"),
    "authorization_missing": gettext_lazy("缺少有效的授权委托"),
    "field_invalid": gettext_lazy("填报信息有误"),
}

OUTCOME_NAMES: dict[str, Promise] = {
    "accept": gettext_lazy("受理"),
    "supplement": gettext_lazy("需补正"),
    "reject": gettext_lazy("不予受理"),
}


def reason_name(code: str) -> str:
    if code in REASON_NAMES:
        return str(REASON_NAMES[code])
    packs = default_packs()
    for region in packs.regions:
        pack = packs.current(region)
        entry = pack.reasons.get(code) if pack is not None else None
        if entry is not None and entry.message:
            return entry.message.split("{")[0].strip("，：; ") or code
    kind = REASON_KINDS.get(code)
    return kind.message.split("{")[0].strip("，：; ") if kind and kind.message else code


def channel_name(channel: str, counter_kind: str) -> str:
    if channel == "online":
        return _("网上申请")
    if counter_kind == "hospital":
        return _("医院窗口受理")
    if counter_kind == "service_center":
        return _("政务服务中心窗口受理")
    return _("窗口受理") if channel == "counter" else (channel or _("未记录"))


# --- what a request asks ------------------------------------------------------------------


@dataclass(frozen=True)
class Scope:
    """A period of Beijing days [start, end) and a division prefix ("" = everything)."""

    prefix: str
    start: date
    end: date
    now: datetime
    calendar: WorkingCalendar = field(compare=False)

    @property
    def start_at(self) -> datetime:
        return midnight(self.start)

    @property
    def end_at(self) -> datetime:
        return midnight(self.end)


def _median(histogram: dict[str, int]) -> float | None:
    found = _histogram_median(histogram)
    return None if found is None else round(found, 2)


CASE_COUNTS = ("cases",)


class Figures:
    """The roll-ups of one scope, read once per request and shared by the panels.

    Each of ``cases``, ``done`` and ``items`` maps a key (what the panels group by) to its
    counts and a histogram (``histogram``: the reason codes' counts for the cases, the
    working days for the others). The rolled-up days are read by ``rolled_parts``: a whole
    past month's figures once and kept in the cache, the other days' in one statement —
    three statements per roll-up for a period of any length."""

    def __init__(self, scope: Scope) -> None:
        self.scope = scope
        # Figures of registered panels (ratings), read once per request by their app.
        self.extra: dict[str, Any] = {}

    def _rolled(
        self,
        kind: str,
        markers: QuerySet[Any],
        read: Callable[[set[date]], Merged],
        counts: Iterable[str],
    ) -> tuple[Merged, set[date]]:
        s = self.scope
        rolled, parts = rolled_parts(
            f"dashboards:{kind}", s.prefix, s.start, s.end, s.now, markers, read
        )
        out: Merged = {}
        for part in parts:
            for key, values in part.items():
                merge(out, key, values, counts)
        return out, rolled

    @cached_property
    def cases(self) -> Merged:
        """(region, hospital, channel, counter kind, outcome) → cases and the count of each
        reason code (``histogram``)."""
        s = self.scope

        def read(days: set[date]) -> Merged:
            part: Merged = {}
            for row in (
                CaseDay.objects.filter(day__in=days, division__startswith=s.prefix)
                .exclude(region="")
                .values_list(
                    "region",
                    "hospital_code",
                    "channel",
                    "counter_kind",
                    "outcome",
                    "cases",
                    "reasons",
                )
                .iterator()
            ):
                merge(part, tuple(row[:5]), {"cases": row[5], "histogram": row[6]}, CASE_COUNTS)
            return part

        out, rolled = self._rolled("cases", case_day_markers(), read, CASE_COUNTS)
        scope = within(Case.objects.all(), s.prefix)
        for start, end in spans(s.start_at, s.end_at, rolled):
            for key, values in case_figures(start, end, scope).items():
                merge(
                    out,
                    (key[0], *key[2:]),
                    {"cases": values["cases"], "histogram": values["reasons"]},
                    CASE_COUNTS,
                )
        return out

    @cached_property
    def done(self) -> Merged:
        """(region,) → the completed cases' counts and end-to-end working-day histogram."""
        s = self.scope

        def read(days: set[date]) -> Merged:
            part: Merged = {}
            for row in (
                CaseDoneDay.objects.filter(day__in=days, division__startswith=s.prefix)
                .exclude(region="")
                .values("region", *DONE_COUNTS, "working_days")
                .iterator()
            ):
                row["histogram"] = row["working_days"]
                merge(part, (row["region"],), row, DONE_COUNTS)
            return part

        out, rolled = self._rolled("done", done_day_markers(), read, DONE_COUNTS)
        scope = within(Case.objects.all(), s.prefix)
        for figures in unrolled_parts(
            "dashboards:done",
            s.prefix,
            (s.start_at, s.end_at, s.now),
            rolled,
            lambda a, b: Case.objects.filter(completed_at__gte=a, completed_at__lt=b),
            lambda a, b: done_figures(a, b, s.calendar, scope),
        ):
            for key, values in figures.items():
                merge(out, (key[0],), {**values, "histogram": values["working_days"]}, DONE_COUNTS)
        return out

    @cached_property
    def items(self) -> Merged:
        """(department, item) → the efficiency counts of the items finished in the period
        and their working-day histogram."""
        s = self.scope

        def read(days: set[date]) -> Merged:
            part: Merged = {}
            for row in (
                EfficiencyDay.objects.filter(day__in=days, division__startswith=s.prefix)
                .exclude(department="")
                .values("department", "item", *ROLLED_COUNTS, "working_days")
                .iterator()
            ):
                row["histogram"] = row["working_days"]
                merge(part, (row["department"], row["item"]), row, ROLLED_COUNTS)
            return part

        out, rolled = self._rolled("items", efficiency_markers(), read, ROLLED_COUNTS)
        scope = within(CaseItem.objects.all(), s.prefix)
        for figures in unrolled_parts(
            "dashboards:items",
            s.prefix,
            (s.start_at, s.end_at, s.now),
            rolled,
            lambda a, b: CaseItem.objects.filter(finished_at__gte=a, finished_at__lt=b),
            lambda a, b: day_figures(a, b, s.calendar, scope),
        ):
            for key, values in figures.items():
                merge(
                    out,
                    (key[0], key[1]),
                    {**values, "histogram": values["working_days"]},
                    ROLLED_COUNTS,
                )
        return out

    @cached_property
    def open_items(self) -> dict[tuple[str, ...], dict[str, int]]:
        """(department, item) → open items now, and of them those past their due time
        (read through the open-items partial index)."""
        return {
            (row["department"], row["item"]): {"open": row["open"], "overdue": row["overdue"]}
            for row in CaseItem.objects.filter(
                state__in=OPEN_STATES, division__startswith=self.scope.prefix
            )
            .order_by()
            .values("department", "item")
            .annotate(
                open=Count("pk"),
                overdue=Count("pk", filter=Q(due_at__lt=self.scope.now)),
            )
        }


# --- tables -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Table:
    columns: list[str]
    rows: list[list[Any]]
    # The chart: the column of the labels and the columns drawn as series.
    label_column: int = 0
    series: tuple[int, ...] = (1,)
    total: list[Any] | None = None


def _sum_by(
    rows: dict[tuple[str, ...], dict[str, Any]],
    key: Callable[[tuple[str, ...]], str],
    count: str = "cases",
) -> dict[str, int]:
    out: dict[str, int] = {}
    for k, values in rows.items():
        out[key(k)] = out.get(key(k), 0) + int(values[count])
    return out


def _ranked(counts: dict[str, int]) -> list[list[Any]]:
    return [[name, n] for name, n in sorted(counts.items(), key=lambda p: (-p[1], p[0])) if n]


def _rate(part: int, whole: int) -> str:
    return f"{part / whole * 100:.1f}%" if whole else "—"


def _percent(part: int, whole: int) -> float | None:
    return round(part / whole * 100, 1) if whole else None


def cases_by_region(f: Figures) -> Table:
    counts = _sum_by(f.cases, lambda k: region_name(k[0]))
    return Table([_("地区"), _("办件数")], _ranked(counts), total=[_("合计"), sum(counts.values())])


def cases_by_hospital(f: Figures) -> Table:
    codes = {k[1] for k in f.cases if k[1]}
    names = jurisdiction_labels((JurisdictionKind.HOSPITAL, c) for c in codes)
    counts = _sum_by(
        f.cases, lambda k: names[(JurisdictionKind.HOSPITAL, k[1])] if k[1] else _("未填写")
    )
    return Table(
        [_("出生医疗机构"), _("办件数")], _ranked(counts), total=[_("合计"), sum(counts.values())]
    )


def cases_by_channel(f: Figures) -> Table:
    counts = _sum_by(f.cases, lambda k: channel_name(k[2], k[3]))
    return Table(
        [_("申请渠道"), _("办件数")], _ranked(counts), total=[_("合计"), sum(counts.values())]
    )


def decisions(f: Figures) -> Table:
    counts = _sum_by(f.cases, lambda k: k[4])
    total = sum(counts.values())
    rows = [
        [str(name), counts.get(code, 0), _rate(counts.get(code, 0), total)]
        for code, name in OUTCOME_NAMES.items()
    ] + [[code, n, _rate(n, total)] for code, n in counts.items() if code not in OUTCOME_NAMES]
    return Table([_("预审结论"), _("办件数"), _("占比")], rows, total=[_("合计"), total, ""])


def reasons(f: Figures) -> Table:
    counts: dict[str, int] = {}
    for values in f.cases.values():
        for code, n in values["histogram"].items():
            counts[code] = counts.get(code, 0) + int(n)
    named: dict[str, int] = {}
    for code, n in counts.items():
        named[reason_name(code)] = named.get(reason_name(code), 0) + n
    return Table([_("原因"), _("次数")], _ranked(named), total=[_("合计"), sum(named.values())])


def _item_key(key: tuple[str, ...]) -> tuple[str, str]:
    return (department_label(key[0]), item_label(key[1]))


def efficiency(f: Figures) -> Table:
    rows = []
    everything: dict[str, int] = {}
    finished = with_limit = on_time = 0
    for key in sorted(f.items, key=_item_key):
        v = f.items[key]
        if not v["finished"]:
            continue
        finished += v["finished"]
        with_limit += v["with_limit"]
        on_time += v["on_time"]
        add_histogram(everything, v["histogram"])
        rows.append(
            [
                f"{department_label(key[0])} · {item_label(key[1])}",
                v["finished"],
                _percent(v["on_time"], v["with_limit"]),
                _median(v["histogram"]),
                v["automatic"],
            ]
        )
    return Table(
        [
            _("部门 · 事项"),
            _("办结"),
            _("按时办结率（%）"),
            _("办理用时中位数（工作日）"),
            _("自动办结"),
        ],
        rows,
        series=(2,),
        total=[
            _("全部事项"),
            finished,
            _percent(on_time, with_limit),
            _median(everything),
            sum(v["automatic"] for v in f.items.values()),
        ],
    )


def end_to_end(f: Figures) -> Table:
    by_region: dict[str, dict[str, Any]] = {}
    everything: dict[str, Any] = {**dict.fromkeys(DONE_COUNTS, 0), "histogram": {}}
    for key, values in f.done.items():
        for target in (
            by_region.setdefault(key[0], {**dict.fromkeys(DONE_COUNTS, 0), "histogram": {}}),
            everything,
        ):
            for name in DONE_COUNTS:
                target[name] += values[name]
            add_histogram(target["histogram"], values["histogram"])

    def line(name: str, v: dict[str, Any]) -> list[Any]:
        return [
            name,
            v["completed"],
            v["with_promise"],
            _percent(v["kept"], v["with_promise"]),
            _median(v["histogram"]),
        ]

    return Table(
        [
            _("地区"),
            _("办结办件"),
            _("有总承诺时限"),
            _("按承诺时限办结率（%）"),
            _("受理至办结用时中位数（工作日）"),
        ],
        [line(region_name(r), by_region[r]) for r in sorted(by_region)],
        series=(4,),
        total=line(_("合计"), everything),
    )


def overdue(f: Figures) -> Table:
    keys = {k for k, v in f.open_items.items() if v["overdue"]} | {
        k for k, v in f.items.items() if v["with_limit"] > v["on_time"]
    }
    rows: list[list[Any]] = []
    now_late = done_late = 0
    for key in sorted(keys, key=_item_key):
        late = f.items.get(key, {})
        open_overdue = int(f.open_items.get(key, {}).get("overdue", 0))
        finished_late = int(late.get("with_limit", 0)) - int(late.get("on_time", 0))
        now_late += open_overdue
        done_late += finished_late
        rows.append(
            [f"{department_label(key[0])} · {item_label(key[1])}", open_overdue, finished_late]
        )
    return Table(
        [_("部门 · 事项"), _("当前超期未办结"), _("期内超期办结")],
        rows,
        series=(1, 2),
        total=[_("合计"), now_late, done_late],
    )


def no_visit(f: Figures) -> Table:
    by_region: dict[str, list[int]] = {}
    for key, values in f.done.items():
        row = by_region.setdefault(key[0], [0, 0])
        row[0] += values["completed"]
        row[1] += values["no_visit"]
    rows = [
        [
            region_name(r),
            by_region[r][0],
            by_region[r][1],
            _percent(by_region[r][1], by_region[r][0]),
        ]
        for r in sorted(by_region)
    ]
    done = sum(v[0] for v in by_region.values())
    none = sum(v[1] for v in by_region.values())
    return Table(
        [_("地区"), _("办结办件"), _("零跑腿办结"), _("零跑腿占比（%）")],
        rows,
        series=(3,),
        total=[_("合计"), done, none, _percent(none, done)],
    )


@dataclass(frozen=True)
class Panel:
    slug: str
    title: Promise
    chart: str  # "bar" | "pie"
    build: Callable[[Figures], Table]
    note: Promise | str = ""


PANELS: list[Panel] = [
    Panel("cases-region", gettext_lazy("各地区办件量"), "bar", cases_by_region),
    Panel("cases-hospital", gettext_lazy("各出生医疗机构办件量"), "bar", cases_by_hospital),
    Panel("cases-channel", gettext_lazy("各申请渠道办件量"), "pie", cases_by_channel),
    Panel(
        "decisions",
        gettext_lazy("预审结论"),
        "pie",
        decisions,
        gettext_lazy("按提交日期统计，结论为办件当前的预审结论（补正后重新预审的以新结论为准）。"),
    ),
    Panel("reasons", gettext_lazy("补正和不予受理的原因"), "bar", reasons),
    Panel(
        "efficiency",
        gettext_lazy("各部门各事项按时办结率和办理用时"),
        "bar",
        efficiency,
        gettext_lazy(
            "按办结日期统计；办理用时为部门接收到办结的工作日时长，扣除等待补正的时间；"
            "没有办理期限的事项不计入按时办结率，自动办结的不计入办结。"
        ),
    ),
    Panel(
        "end-to-end",
        gettext_lazy("全流程（受理至办结）"),
        "bar",
        end_to_end,
        gettext_lazy("按办结日期统计；按承诺时限办结率只计地区方案有总承诺时限的办件。"),
    ),
    Panel(
        "overdue",
        gettext_lazy("超期事项"),
        "bar",
        overdue,
        gettext_lazy(
            "当前超期未办结为此刻的在办事项；期内超期办结为期间内办结晚于办理期限的事项。"
        ),
    ),
    Panel(
        "no-visit",
        gettext_lazy("零跑腿办结占比"),
        "bar",
        no_visit,
        gettext_lazy("零跑腿：网上申请，且办理结果均以邮寄或电子证照送达，无需到窗口。"),
    ),
]

PANELS_BY_SLUG = {p.slug: p for p in PANELS}


def panel_register(panel: Panel) -> None:
    """A panel of an app above supervision's reach (ratings, ADR 0038): the app registers it
    in its ``AppConfig.ready``, so supervision never imports it (no import cycle)."""
    if panel.slug not in PANELS_BY_SLUG:
        PANELS.append(panel)
        PANELS_BY_SLUG[panel.slug] = panel


def panel_tables(scope: Scope, panels: Iterable[Panel] = PANELS) -> list[tuple[Panel, Table]]:
    figures = Figures(scope)
    return [(panel, panel.build(figures)) for panel in panels]


def chart_data(panel: Panel, table: Table) -> dict[str, Any]:
    """What dashboards.js draws: labels and one series per drawn column."""
    return {
        "id": panel.slug,
        "type": panel.chart,
        "labels": [str(r[table.label_column]) for r in table.rows],
        "series": [
            {
                "name": str(table.columns[i]),
                "values": [r[i] for r in table.rows],
            }
            for i in table.series
        ],
    }


def default_period(today: date, preset: str) -> tuple[date, date]:
    """The presets: this month (up to today), last month, this year."""
    first = today.replace(day=1)
    if preset == "last-month":
        previous = (first - timedelta(days=1)).replace(day=1)
        return previous, first
    if preset == "this-year":
        return today.replace(month=1, day=1), today + timedelta(days=1)
    return first, today + timedelta(days=1)
