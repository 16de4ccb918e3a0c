"""The supervisors' picture (监管驾驶舱, ADR 0041): the dashboards page and the export of
every panel's table as CSV and Excel. The jurisdiction filter is a division prefix within
the supervisor's own: anything beyond it is refused (403), never widened or narrowed
silently."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from onestop.accounts.models import User
from onestop.calendar.selectors import current_calendar
from onestop.common.plans import planned_with_values_view
from onestop.core.clock import to_beijing
from onestop.core.written import written
from onestop.reference.models import Division
from onestop.supervision.dashboards import (
    PANELS,
    PANELS_BY_SLUG,
    Panel,
    Scope,
    Table,
    chart_data,
    default_period,
    panel_tables,
)
from onestop.supervision.deadline_views import _supervisor
from onestop.supervision.selectors import supervised_prefix

PRESETS = (
    ("this-month", "本月"),
    ("last-month", "上月"),
    ("this-year", "本年"),
)
MAX_DAYS = 3700  # ten years and a little
DIVISION = re.compile(r"\d{0,6}")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass(frozen=True)
class Asked:
    scope: Scope
    preset: str
    division: str  # the filter as asked ("" = the whole jurisdiction)
    own: str  # the supervisor's own prefix
    error: str


def _date(value: str | None) -> date | None:
    try:
        return date.fromisoformat((value or "").strip())
    except ValueError:
        return None


def _asked(request: HttpRequest, user: User) -> Asked:
    own = supervised_prefix(user)
    if own is None:
        raise Http404(_("页面不存在"))
    division = request.GET.get("division", "").strip()
    if not DIVISION.fullmatch(division):
        raise PermissionDenied(_("辖区代码无效"))
    if division and not division.startswith(own):
        # Beyond the supervisor's own jurisdiction (or above it): refused, not widened.
        raise PermissionDenied(_("所选辖区超出您的监管范围"))
    prefix = division or own
    now = timezone.now()
    today = to_beijing(now).date()
    preset = request.GET.get("preset", "")
    start, end = default_period(today, preset)
    error = ""
    if not preset or preset not in dict(PRESETS):
        preset = "" if request.GET.get("from") or request.GET.get("to") else "this-month"
        start = _date(request.GET.get("from")) or start
        last = _date(request.GET.get("to"))
        end = last + timedelta(days=1) if last else end
        if end <= start:
            error = _("截止日期不能早于开始日期")
            end = start + timedelta(days=1)
        if (end - start).days > MAX_DAYS:
            error = _("统计期间不能超过十年")
            start = end - timedelta(days=MAX_DAYS)
    scope = Scope(prefix=prefix, start=start, end=end, now=now, calendar=current_calendar())
    return Asked(scope, preset, division, own, error)


def _divisions(own: str) -> list[tuple[str, str]]:
    """The divisions a supervisor may filter on: their own and those under it."""
    rows = (
        Division.objects.filter(code__startswith=own)
        .order_by("code")
        .values_list("code", "name")[:500]
    )
    return [(code, f"{name}（{code}）") for code, name in rows]


def _cell(value: Any) -> Any:
    return "—" if value is None else value


@login_required
@planned_with_values_view
def dashboards(request: HttpRequest) -> HttpResponse:
    user = _supervisor(request)
    asked = _asked(request, user)
    panels = []
    for panel, table in panel_tables(asked.scope):
        panels.append(
            {
                "panel": panel,
                "table": table,
                # (column, value) pairs: on a phone each cell says what it is.
                "rows": [
                    [(str(c), _cell(v)) for c, v in zip(table.columns, row, strict=False)]
                    for row in table.rows
                ],
                "total": (
                    [(str(c), _cell(v)) for c, v in zip(table.columns, table.total, strict=False)]
                    if table.total
                    else None
                ),
                "chart": chart_data(panel, table),
                "chart_id": f"chart-data-{panel.slug}",
            }
        )
    return render(
        request,
        "supervision/dashboards.html",
        {
            "panels": panels,
            "scope": asked.scope,
            "last_day": asked.scope.end - timedelta(days=1),
            "preset": asked.preset,
            "presets": [(value, _(label)) for value, label in PRESETS],
            "division": asked.division,
            "divisions": _divisions(asked.own),
            "error": asked.error,
            "query": request.GET.urlencode(),
        },
    )


def _heading(panel: Panel, asked: Asked) -> list[str]:
    scope = asked.scope
    last = scope.end - timedelta(days=1)
    return [
        str(panel.title),
        _("统计期间：{start}至{end}").format(
            start=written(scope.start, language=get_language() or "zh-hans"),
            end=written(last, language=get_language() or "zh-hans"),
        ),
        _("辖区：{prefix}").format(prefix=scope.prefix or _("全部")),
    ]


def _lines(table: Table) -> list[list[Any]]:
    lines = [list(table.columns)] + [[_cell(v) for v in row] for row in table.rows]
    if table.total:
        lines.append([_cell(v) for v in table.total])
    return lines


# A CSV cell Excel would read as a formula (OWASP's "CSV injection"): a text beginning
# with one of these is written after an apostrophe, which Excel shows as text.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _csv_text(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _filename(slug: str, asked: Asked, ext: str) -> str:
    last = asked.scope.end - timedelta(days=1)
    return f"onestop-{slug}-{asked.scope.start:%Y%m%d}-{last:%Y%m%d}.{ext}"


@login_required
@planned_with_values_view
def export(request: HttpRequest, slug: str, fmt: str) -> HttpResponse:
    """One panel's table (or every panel's, ``all``: a sheet each in Excel, one block after
    another in CSV), for the same period and jurisdiction as the page."""
    user = _supervisor(request)
    asked = _asked(request, user)
    if slug == "all":
        chosen = list(PANELS)
    elif slug in PANELS_BY_SLUG:
        chosen = [PANELS_BY_SLUG[slug]]
    else:
        raise Http404(_("页面不存在"))
    tables = panel_tables(asked.scope, chosen)
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out)
        for n, (panel, table) in enumerate(tables):
            if n:
                writer.writerow([])
            for line in _heading(panel, asked):
                writer.writerow([_csv_text(line)])
            writer.writerows([_csv_text(v) for v in line] for line in _lines(table))
        # With a byte-order mark, so that Excel opens the Chinese as UTF-8.
        response = HttpResponse("\ufeff" + out.getvalue(), content_type="text/csv; charset=utf-8")
    elif fmt == "xlsx":
        response = HttpResponse(_workbook(tables, asked), content_type=XLSX)
    else:
        raise Http404(_("页面不存在"))
    response["Content-Disposition"] = f'attachment; filename="{_filename(slug, asked, fmt)}"'
    return response


def _workbook(tables: list[tuple[Panel, Table]], asked: Asked) -> bytes:
    """A sheet per panel: the heading lines, a blank row, the table with its header row
    bold; the first column 36 characters wide. Written by XlsxWriter in memory (ADR 0041,
    session 25: openpyxl's write-only mode wrote and removed a temporary file per sheet,
    most of a year's export on a busy disk). Text is written as text, never as a formula
    or a link, whatever it begins with."""
    import xlsxwriter

    data = io.BytesIO()
    book = xlsxwriter.Workbook(
        data,
        {
            "in_memory": True,
            "strings_to_formulas": False,
            "strings_to_urls": False,
            "strings_to_numbers": False,
        },
    )
    bold = book.add_format({"bold": True})
    taken: set[str] = set()
    for panel, table in tables:
        sheet = book.add_worksheet(_sheet_title(str(panel.title), taken))
        sheet.set_column(0, 0, 36)
        heading = _heading(panel, asked)
        for row, text in enumerate(heading):
            sheet.write_string(row, 0, text)
        header, *lines = _lines(table)
        first = len(heading) + 1  # after a blank row
        sheet.write_row(first, 0, header, bold)
        for row, line in enumerate(lines, start=first + 1):
            sheet.write_row(row, 0, line)
    book.close()
    return data.getvalue()


def _sheet_title(title: str, taken: set[str]) -> str:
    """At most 31 characters, none of []:*?/\\, no apostrophe first or last (Excel's rules),
    and not one already taken in the workbook (in any case; a number is put after a title
    cut to make room)."""
    title = re.sub(r"[\[\]:*?/\\]", " ", title)[:31].strip("'") or "-"
    base, n = title, 1
    while title.lower() in taken:
        n += 1
        title = f"{base[: 31 - len(str(n))]}{n}"
    taken.add(title.lower())
    return title
