"""The supervisors' picture (issue 12 part 4, ADR 0041): every dashboard number equals a
count computed directly from the database (live, from the roll-ups, and after a case of a
rolled-up day is decided again), the jurisdiction filter never reaches beyond the
supervisor's own division (over HTTP), and the exports parse (CSV) and open (openpyxl)."""

from __future__ import annotations

import csv
import io
import itertools
import re
from collections import Counter
from datetime import date
from typing import Any

import pytest
from django.test import Client

from onestop.calendar.domain import load_default_calendar
from onestop.cases.models import Case
from onestop.cases.services import case_submit, case_supplement
from onestop.core.clock import parse_time, to_beijing
from onestop.ops.demo import shift_dates
from onestop.supervision.case_rollups import cases_rollup
from onestop.supervision.dashboards import (
    OUTCOME_NAMES,
    PANELS_BY_SLUG,
    Figures,
    Scope,
    channel_name,
    reason_name,
)
from onestop.supervision.models import CaseDay, CaseDoneDay
from onestop.supervision.rollups import efficiency_rollup
from onestop.supervision.templatetags.region_tags import region_name
from onestop.testing.factories import SAMPLE_RESULTS, staff
from onestop.testing.newborns import another_newborn
from onestop.testing.preview import preview_sign
from onestop.workflow.models import CaseItem
from onestop.workflow.services import item_complete

pytestmark = pytest.mark.django_db

CAL = load_default_calendar()
NOW = "2026-11-30T10:00:00+08:00"
babies = itertools.count(100)


def t(text: str):
    return parse_time(text)


@pytest.fixture
def submit(example, media_root):
    def go(name: str, at: str, **changes):
        document = another_newborn(example(name), next(babies))
        shift_dates(document, t(at))
        document.update(changes)
        return case_submit(document=document, actor=None, now=t(at)).case

    return go


def finish_all(case: Case, at: str) -> None:
    """Complete every item of the case as it becomes ready (the departments' work); Fuzhou's
    applicant signs the previews first (ADR 0035)."""
    preview_sign(case, now=t(at))
    for _round in range(10):
        ready = list(CaseItem.objects.filter(case=case, state__in=("ready", "in_progress")))
        if not ready:
            break
        for row in ready:
            item_complete(
                item_id=row.pk, actor=None, result=SAMPLE_RESULTS.get(row.item, {}), now=t(at)
            )
    case.refresh_from_db()


@pytest.fixture
def varied(submit):
    """Cases of four regions in November 2026, online and at a counter, accepted, waiting
    for a supplement and not accepted; three finished (Fuzhou's two by post: no visit;
    Qinbei's social security card is picked up), one of them today; one item of another
    finished late; the rest open (overdue by the 30th)."""
    made = {
        "q1": submit("qinbei-accept", "2026-11-16T09:00:00+08:00"),
        "q2": submit("qinbei-accept", "2026-11-16T10:00:00+08:00"),
        "q3": submit("qinbei-supplement-missing-materials", "2026-11-17T09:30:00+08:00"),
        "q4": submit("qinbei-reject-hk-father-late-applicant", "2026-11-17T10:00:00+08:00"),
        "l1": submit("lanzhou-accept", "2026-11-18T15:00:00+08:00"),
        "j1": submit("jilin-accept-counter", "2026-11-17T14:00:00+08:00"),
        "f1": submit("fuzhou-accept", "2026-11-19T11:05:00+08:00"),
        "f2": submit("fuzhou-reject-outside-city-invalid-id", "2026-11-30T09:00:00+08:00"),
        "f3": submit("fuzhou-accept", "2026-11-30T09:10:00+08:00"),
    }
    assert made["q3"].status == "supplement" and made["q4"].status == "rejected"
    finish_all(made["q1"], "2026-11-18T10:00:00+08:00")  # the SSC picked up: a visit
    finish_all(made["f1"], "2026-11-20T10:00:00+08:00")  # all by post: no visit
    finish_all(made["f3"], "2026-11-30T09:30:00+08:00")  # today: not rolled up
    assert all(made[k].status == "completed" for k in ("q1", "f1", "f3"))
    bmc = CaseItem.objects.get(case=made["q2"], item="birth_certificate")
    item_complete(
        item_id=bmc.pk, actor=None, result=SAMPLE_RESULTS["birth_certificate"], now=t(NOW)
    )
    return made


def scope(
    prefix: str = "", start: str = "2026-11-01", end: str = "2026-12-01", now: str = NOW
) -> Scope:
    return Scope(
        prefix=prefix,
        start=date.fromisoformat(start),
        end=date.fromisoformat(end),
        now=t(now),
        calendar=CAL,
    )


def table(slug: str, s: Scope) -> dict[str, list[Any]]:
    built = PANELS_BY_SLUG[slug].build(Figures(s))
    return {str(row[0]): list(row[1:]) for row in built.rows}


def no_visit_direct(case: Case) -> bool:
    """零跑腿, judged again from the stored document."""
    if case.channel != "online":
        return False
    delivery = case.document.get("delivery") or {}
    return all(
        not (isinstance(choice, dict) and choice.get("method") == "pickup")
        for choice in delivery.values()
    )


def direct(prefix: str, now_text: str = NOW) -> dict[str, dict[str, list[Any]]]:
    """Every dashboard number counted straight from the cases and items of November."""
    start, end = t("2026-11-01T00:00:00+08:00"), t("2026-12-01T00:00:00+08:00")
    cases = list(
        Case.objects.filter(
            division__startswith=prefix, submitted_at__gte=start, submitted_at__lt=end
        )
    )
    out: dict[str, dict[str, list[Any]]] = {}
    out["cases-region"] = {region_name(r): [n] for r, n in Counter(c.region for c in cases).items()}
    out["cases-channel"] = {
        k: [n] for k, n in Counter(channel_name(c.channel, c.counter_kind) for c in cases).items()
    }
    outcomes = Counter(c.decision["decision"] for c in cases)
    out["decisions"] = {
        str(name): [outcomes.get(code, 0), f"{outcomes.get(code, 0) / len(cases) * 100:.1f}%"]
        for code, name in OUTCOME_NAMES.items()
    }
    reasons = Counter(
        reason_name(r["code"]) for c in cases for r in c.decision.get("reasons") or []
    )
    out["reasons"] = {k: [n] for k, n in reasons.items()}
    done = [
        c
        for c in Case.objects.filter(division__startswith=prefix, status="completed")
        if c.completed_at is not None and start <= c.completed_at < end
    ]
    by_region: dict[str, list[int]] = {}
    for c in done:
        row = by_region.setdefault(region_name(c.region), [0, 0])
        row[0] += 1
        row[1] += no_visit_direct(c)
    out["no-visit"] = {k: [v[0], v[1], round(v[1] / v[0] * 100, 1)] for k, v in by_region.items()}
    items = CaseItem.objects.filter(division__startswith=prefix)
    finished = [
        i
        for i in items.filter(state__in=("done", "refused"), automatic=False)
        if i.finished_at is not None and start <= i.finished_at < end
    ]
    late = Counter(
        (i.department, i.item)
        for i in finished
        if i.due_at and i.finished_at and i.finished_at > i.due_at
    )
    overdue = Counter(
        (i.department, i.item)
        for i in items.filter(state__in=("ready", "in_progress"), due_at__lt=t(now_text))
    )
    out["overdue-keys"] = {
        f"{k[0]}·{k[1]}": [overdue[k], late[k]] for k in set(late) | set(overdue)
    }
    out["finished"] = {f"{i.department}·{i.item}": [] for i in finished}
    out["finished-count"] = {"n": [len(finished)]}
    return out


def check(prefix: str, now: str = NOW) -> None:
    s = scope(prefix, now=now)
    want = direct(prefix, now)
    assert table("cases-region", s) == want["cases-region"]
    assert table("cases-channel", s) == want["cases-channel"]
    assert table("decisions", s) == want["decisions"]
    assert table("reasons", s) == want["reasons"]
    assert table("no-visit", s) == want["no-visit"]
    overdue = PANELS_BY_SLUG["overdue"].build(Figures(s))
    assert sorted([r[1], r[2]] for r in overdue.rows) == sorted(want["overdue-keys"].values())
    efficiency = PANELS_BY_SLUG["efficiency"].build(Figures(s))
    assert efficiency.total is not None
    assert efficiency.total[1] == want["finished-count"]["n"][0]
    assert len(efficiency.rows) == len(want["finished"])
    hospitals = table("cases-hospital", s)
    assert sum(v[0] for v in hospitals.values()) == sum(v[0] for v in want["cases-region"].values())


def test_every_number_equals_the_database_live_and_from_the_rollups(varied):
    check("")
    check("4507")
    # the counts are not empty: the fixture's variety shows
    s = scope("")
    assert table("decisions", s)["不予受理"][0] == 2
    assert table("decisions", s)["需补正"][0] == sum(
        1 for c in Case.objects.all() if c.decision["decision"] == "supplement"
    ), [(c.number, c.status) for c in Case.objects.all()]
    assert table("decisions", s)["需补正"][0] >= 1
    assert table("no-visit", s)[region_name("qinbei")] == [1, 0, 0.0]
    assert table("no-visit", s)[region_name("fuzhou")] == [2, 2, 100.0]
    assert table("cases-channel", s)["窗口受理"] == [1]
    # Names, not codes: hospitals, regions, departments and items, reasons.
    for slug in ("cases-hospital", "cases-region", "efficiency", "overdue", "reasons"):
        for name in table(slug, s):
            assert not re.fullmatch(r"[a-z0-9_\- ·]+", name), (slug, name)

    # The roll-ups: every whole day up to Sunday 29th; Monday 30th stays live.
    assert cases_rollup(now=t(NOW))["days"] == 14
    efficiency_rollup(now=t(NOW))
    assert CaseDay.objects.filter(region="", outcome="").count() == 14
    assert CaseDoneDay.objects.filter(region="").count() == 12  # from the first completion (18th)
    assert CaseDay.objects.exclude(region="").exists()
    check("")
    check("4507")
    assert cases_rollup(now=t(NOW))["days"] == 0  # nothing new: idempotent

    # Decided again after a supplement: the submission day is stale at once, the numbers
    # still equal the database, and the next run rolls the day up again.
    q3 = varied["q3"]
    document = dict(q3.document)
    document["materials"] = [
        "mother_id_card",
        "father_id_card",
        "household_register",
        "marriage_certificate",
        "delivery_record_page",
    ]
    case_supplement(case_id=q3.pk, actor=None, document=document, now=t(NOW))
    q3.refresh_from_db()
    day = to_beijing(q3.submitted_at).date()
    assert CaseDay.objects.get(day=day, region="").outcome == "stale"
    check("")
    assert table("decisions", scope(""))["需补正"][0] == (1 if q3.status == "supplement" else 0)
    assert cases_rollup(now=t(NOW))["days"] == 1
    assert CaseDay.objects.get(day=day, region="").outcome == ""
    check("")


def test_the_past_hours_kept_are_computed_again_when_a_row_joins_them(varied, monkeypatch):
    """Today's hours already past are kept (cache) once computed; an item finished with a
    time in those hours (given in the past) makes them computed again."""
    from onestop.supervision import dashboards

    computed: list[tuple[object, object]] = []
    real = dashboards.day_figures  # type: ignore[attr-defined]

    def counted(start, end, *args, **kwargs):
        computed.append((start, end))
        return real(start, end, *args, **kwargs)

    monkeypatch.setattr(dashboards, "day_figures", counted)
    s = scope("")
    before = PANELS_BY_SLUG["efficiency"].build(Figures(s)).total
    assert before is not None
    first = len(computed)
    assert PANELS_BY_SLUG["efficiency"].build(Figures(s)).total == before
    # Again: only the live hour (10:00 – the period's end) is computed, not the past ones.
    assert len(computed) == first + 1 and computed[-1][0] == t(NOW)
    row = CaseItem.objects.filter(case=varied["l1"], state="ready").first()
    assert row is not None
    item_complete(
        item_id=row.pk,
        actor=None,
        result=SAMPLE_RESULTS.get(row.item, {}),
        now=t("2026-11-30T08:00:00+08:00"),
    )
    after = PANELS_BY_SLUG["efficiency"].build(Figures(s)).total
    assert after is not None and after[1] == before[1] + 1
    check("")


def test_a_whole_past_month_is_merged_once_and_stays_true(varied):
    """Seen from December, November is a whole past month: its roll-up rows are merged
    once and kept; a day made stale, then rolled again, changes the month's fingerprint."""
    december = "2026-12-15T10:00:00+08:00"
    cases_rollup(now=t(NOW))
    efficiency_rollup(now=t(NOW))
    check("", december)
    check("", december)  # from the kept month
    check("4507", december)
    q3 = varied["q3"]
    document = dict(q3.document)
    document["materials"] = [
        "mother_id_card",
        "father_id_card",
        "household_register",
        "marriage_certificate",
        "delivery_record_page",
    ]
    case_supplement(case_id=q3.pk, actor=None, document=document, now=t(NOW))
    check("", december)  # the stale day read from the cases
    assert cases_rollup(now=t(NOW))["days"] == 1
    check("", december)  # rolled again: new rows, a new fingerprint


def test_a_period_and_a_division_narrow_the_numbers(varied):
    cases_rollup(now=t(NOW))
    only_16 = table("cases-region", scope("", "2026-11-16", "2026-11-17"))
    assert only_16 == {region_name("qinbei"): [2]}
    assert table("cases-region", scope("22")) == {region_name("jilin"): [1]}
    assert table("cases-region", scope("99")) == {}
    # Rolled-up days are read from the roll-up, not from the cases: a changed roll-up row
    # shows (only a test would change one).
    row = CaseDay.objects.filter(day=date(2026, 11, 16)).exclude(region="").get()
    CaseDay.objects.filter(pk=row.pk).update(cases=row.cases + 40)
    assert table("cases-region", scope("", "2026-11-16", "2026-11-17")) == {
        region_name("qinbei"): [42]
    }


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_jurisdiction_filter_stays_within_the_supervisors_own(varied, monkeypatch):
    monkeypatch.setattr("django.utils.timezone.now", lambda: t(NOW))
    city = _client(staff("supervisor", kind="division", code="4507"))
    page = city.get("/supervise/dashboards/", {"from": "2026-11-01", "to": "2026-11-30"})
    assert page.status_code == 200
    text = page.content.decode()
    assert region_name("qinbei") in text and region_name("jilin") not in text
    assert 'data-chart="chart-data-cases-region"' in text
    assert 'type="application/json"' in text and "<script>" not in text
    # A narrower division inside the jurisdiction: allowed.
    assert city.get("/supervise/dashboards/", {"division": "450703"}).status_code == 200
    # Above or beside it: refused, on the page and on the exports; nothing leaks.
    for division in ("45", "", "2201"):
        if not division:
            continue
        for url in (
            "/supervise/dashboards/",
            "/supervise/dashboards/export/cases-region.csv",
            "/supervise/dashboards/export/all.xlsx",
        ):
            refused = city.get(url, {"division": division})
            assert refused.status_code == 403, (url, division)
            assert region_name("jilin").encode() not in refused.content
    assert city.get("/supervise/dashboards/", {"division": "45x"}).status_code == 403
    # A supervisor of Jilin sees Jilin only.
    jilin = _client(staff("supervisor", kind="division", code="22"))
    csv_text = jilin.get(
        "/supervise/dashboards/export/cases-region.csv", {"preset": "this-month"}
    ).content.decode("utf-8-sig")
    assert region_name("jilin") in csv_text and region_name("qinbei") not in csv_text
    # Not a supervisor: no page.
    officer = _client(staff("officer", department="police", kind="police_station", code="x"))
    assert officer.get("/supervise/dashboards/").status_code == 404


def test_exports_parse_and_open(varied, monkeypatch):
    from openpyxl import load_workbook

    monkeypatch.setattr("django.utils.timezone.now", lambda: t(NOW))
    client = _client(staff("admin"))
    period = {"from": "2026-11-01", "to": "2026-11-30"}
    s = scope("")
    for slug in PANELS_BY_SLUG:
        answer = client.get(f"/supervise/dashboards/export/{slug}.csv", period)
        assert answer.status_code == 200
        assert answer["Content-Type"].startswith("text/csv")
        assert "attachment" in answer["Content-Disposition"]
        rows = list(csv.reader(io.StringIO(answer.content.decode("utf-8-sig"))))
        built = PANELS_BY_SLUG[slug].build(Figures(s))
        header = rows.index([str(c) for c in built.columns])
        body = rows[header + 1 : header + 1 + len(built.rows)]
        assert [r[0] for r in body] == [str(r[0]) for r in built.rows]
        assert [r[1] for r in body] == [str(r[1]) for r in built.rows]
    book = client.get("/supervise/dashboards/export/all.xlsx", period)
    assert book.status_code == 200
    workbook = load_workbook(io.BytesIO(book.content))
    assert len(workbook.sheetnames) == len(PANELS_BY_SLUG)
    sheet = workbook[str(PANELS_BY_SLUG["cases-region"].title)]
    values = [list(r) for r in sheet.iter_rows(values_only=True)]
    header = values.index(["地区", "办件数"])
    regions = {r[0]: r[1] for r in values[header + 1 :] if r[0] and r[0] != "合计"}
    assert all(cell.font.b for cell in list(sheet.iter_rows())[header])  # the header: bold
    assert regions == {k: v[0] for k, v in table("cases-region", s).items()}
    heading = client.get("/supervise/dashboards/export/decisions.csv", period)
    assert "统计期间：2026年11月1日至2026年11月30日" in heading.content.decode("utf-8-sig")
    one = client.get("/supervise/dashboards/export/decisions.xlsx", period)
    assert load_workbook(io.BytesIO(one.content)).sheetnames == ["预审结论"]
    assert client.get("/supervise/dashboards/export/nothing.csv").status_code == 404
    assert client.get("/supervise/dashboards/export/decisions.pdf").status_code == 404


def test_a_year_reads_the_rollups_in_a_few_statements(varied, django_assert_max_num_queries):
    """Issue 10: "dashboards under 500 ms (roll-ups, not scans)". The rolled-up days of a
    period are read in three statements per roll-up (its markers, one cache read for every
    whole past month, the other days' rows), so three years cost the statements of one
    (was: two per month and roll-up, 121 for a year's page), and a year read from the kept
    months gives the numbers its days' rows give."""
    from onestop.ratings.rollups import ratings_rollup
    from onestop.supervision.dashboards import panel_tables

    january = "2027-01-15T10:00:00+08:00"
    cases_rollup(now=t(january))
    efficiency_rollup(now=t(january))
    ratings_rollup(now=t(january))

    def tables(start: str, end: str) -> dict[str, Any]:
        built = panel_tables(scope("", start, end, now=january))
        return {panel.slug: (table.rows, table.total) for panel, table in built}

    counted: dict[str, int] = {}
    for name, start in (("year", "2026-01-15"), ("years", "2024-01-01")):
        tables(start, "2027-01-16")  # the whole past months read once and kept
        with django_assert_max_num_queries(30) as captured:
            tables(start, "2027-01-16")
        counted[name] = len(captured.captured_queries)
    assert counted["year"] == counted["years"], counted
    # Every case and item of the fixture is in November: the year (November kept whole)
    # equals a period that reads November's days from the rows (partial months).
    assert tables("2026-01-15", "2027-01-16") == tables("2026-11-10", "2026-12-05")


def _openpyxl_export(tables, asked) -> bytes:
    """The every-panel workbook as the export wrote it before (session 24): openpyxl's
    write-only mode, a temporary file per sheet."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    from onestop.supervision.dashboard_views import _heading, _lines

    book = Workbook(write_only=True)
    bold = Font(bold=True)
    for panel, built in tables:
        sheet = book.create_sheet(re.sub(r"[\[\]:*?/\\]", " ", str(panel.title))[:31])
        sheet.column_dimensions["A"].width = 36
        for heading in _heading(panel, asked):
            sheet.append([heading])
        sheet.append([])
        header, *lines = _lines(built)
        cells = [WriteOnlyCell(sheet, value=value) for value in header]
        for cell in cells:
            cell.font = bold
        sheet.append(cells)
        for line in lines:
            sheet.append(line)
    data = io.BytesIO()
    book.save(data)
    return data.getvalue()


def _read_back(data: bytes) -> list[tuple[Any, ...]]:
    """Every sheet's title and cells (where, value, type, bold) as openpyxl reads them,
    and its first column's width in whole characters."""
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(data))
    out: list[tuple[Any, ...]] = []
    for ws in book.worksheets:
        cells = [
            (c.coordinate, c.value, c.data_type, bool(c.font.b))
            for row in ws.iter_rows()
            for c in row
            if c.value is not None or c.font.b
        ]
        out.append((ws.title, int(ws.column_dimensions["A"].width or 0), cells))
    return out


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_the_workbook_holds_what_openpyxl_wrote(varied, language):
    """Issue 10 (session 25): the export's workbook is written by XlsxWriter in memory;
    for every panel over several divisions and periods, live and rolled up, read back it
    holds the sheets, cells (value and type), bold header and first column's width that
    openpyxl's write-only mode wrote (session 24's code, kept above)."""
    from django.utils import translation

    from onestop.supervision.dashboard_views import Asked, _workbook
    from onestop.supervision.dashboards import panel_tables

    cases_rollup(now=t(NOW))
    efficiency_rollup(now=t(NOW))
    compared = 0
    with translation.override(language):
        for prefix in ("", "45", "4507", "22", "35", "99"):
            for start, end in (
                ("2026-11-01", "2026-12-01"),
                ("2026-11-16", "2026-11-17"),
                ("2025-12-01", "2026-12-01"),
                ("2026-11-30", "2026-12-01"),
            ):
                s = scope(prefix, start, end)
                tables = panel_tables(s)
                asked = Asked(s, "", prefix, "", "")
                ours = _read_back(_workbook(tables, asked))
                assert ours == _read_back(_openpyxl_export(tables, asked)), (prefix, start)
                compared += sum(len(cells) for _, _, cells in ours)
    assert compared > 500  # the fixture's numbers, not empty sheets only


def test_text_in_the_workbook_is_never_a_formula_or_a_link(monkeypatch):
    """A name from reference data that begins with ``=`` (or reads like a link or a
    number) is written as the text it is: opened in Excel it never computes."""
    from onestop.supervision.dashboard_views import Asked, _workbook
    from onestop.supervision.dashboards import PANELS

    hostile = ['=HYPERLINK("http://x","y")', "https://example.org/", "007", "#N/A", "+1"]
    monkeypatch.setattr(
        "onestop.supervision.dashboard_views._lines",
        lambda table: [["名称"], *[[h] for h in hostile]],
    )
    monkeypatch.setattr("onestop.supervision.dashboard_views._heading", lambda panel, asked: [])
    nothing: Any = None  # the table and the scope are not read: _lines and _heading replaced
    data = _workbook([(PANELS[0], nothing), (PANELS[0], nothing)], Asked(nothing, "", "", "", ""))
    sheets = _read_back(data)
    assert len(sheets) == 2 and sheets[0][0] != sheets[1][0]  # a title taken is numbered
    assert [(value, kind) for _, value, kind, _ in sheets[0][2][1:]] == [(h, "s") for h in hostile]


def test_text_in_the_csv_never_opens_as_a_formula(varied, monkeypatch):
    """The CSV export: a text Excel would compute (``=``, ``+``, ``-``, ``@`` first) is
    written after an apostrophe; numbers (negative ones too) and other text as they are."""
    hostile = ["=1+1", "+1", "-2", "@SUM(A1)", "名称"]
    monkeypatch.setattr(
        "onestop.supervision.dashboard_views._lines",
        lambda table: [["名称", "数量"], *[[h, -3] for h in hostile]],
    )
    client = _client(staff("admin"))
    answer = client.get("/supervise/dashboards/export/decisions.csv", {"preset": "this-month"})
    assert answer.status_code == 200
    rows = list(csv.reader(io.StringIO(answer.content.decode("utf-8-sig"))))
    assert rows[-5:] == [
        ["'=1+1", "-3"],
        ["'+1", "-3"],
        ["'-2", "-3"],
        ["'@SUM(A1)", "-3"],
        ["名称", "-3"],
    ]


def test_the_workbook_is_written_without_a_temporary_file(varied, monkeypatch):
    """openpyxl wrote each sheet to a temporary file, then read it back into the zip and
    removed it (on a busy disk most of the export's time); the export writes none."""
    import tempfile

    def refused(*args, **kwargs):
        raise AssertionError("a temporary file")

    for name in ("mkstemp", "TemporaryFile", "NamedTemporaryFile", "SpooledTemporaryFile"):
        monkeypatch.setattr(tempfile, name, refused)
    monkeypatch.setattr("openpyxl.worksheet._writer.create_temporary_file", refused)
    monkeypatch.setattr("django.utils.timezone.now", lambda: t(NOW))
    client = _client(staff("admin"))
    book = client.get("/supervise/dashboards/export/all.xlsx", {"preset": "this-month"})
    assert book.status_code == 200 and book.content.startswith(b"PK")
    assert len(_read_back(book.content)) > 5


def test_the_current_months_rolled_days_are_read_once_and_kept(varied):
    """Issue 10 (session 25): the current month's days rolled so far are kept in the cache
    under their markers, as a whole past month is: a second request reads the markers and
    the cache, not the month's roll-up rows; the numbers stay the database's, and a day
    rolled up again (a new marker) makes a new key."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from onestop.supervision.dashboards import panel_tables

    cases_rollup(now=t(NOW))
    efficiency_rollup(now=t(NOW))
    check("")  # read and kept
    with CaptureQueriesContext(connection) as captured:
        panel_tables(scope(""))
    read = " ".join(q["sql"] for q in captured.captured_queries)
    for column in (
        '"supervision_efficiencyday"."working_days"',
        '"supervision_casedoneday"."working_days"',
        '"supervision_caseday"."reasons"',
        'SUM("ratings_ratingday"',
    ):
        assert column not in read, column
    check("")  # from the kept month
    check("4507")
    assert efficiency_rollup(now=t(NOW), days=[date(2026, 11, 20)])["days"] == 1
    assert cases_rollup(now=t(NOW), days=[date(2026, 11, 17)])["days"] == 1
    check("")  # a new key: read again


def test_the_page_and_the_export_plan_each_statement_with_its_values(varied, monkeypatch):
    """Issue 10 (session 30): psycopg prepares a statement a connection has run 5 times, and
    PostgreSQL may then plan it once without its values (a generic plan). For a period and
    a division prefix such a plan walked every rating of the year for the overdue
    follow-ups (the year's export at 1 M cases: 500 ms, its page 91). The dashboards' page
    and exports run nothing prepared, however often a connection asks them; what the
    connection prepared for other requests stays."""
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("prepared statements: PostgreSQL's")
    monkeypatch.setattr("django.utils.timezone.now", lambda: t(NOW))

    def prepared() -> set[str]:
        with connection.cursor() as cur:
            cur.execute("SELECT statement FROM pg_prepared_statements")
            return {row[0] for row in cur.fetchall()}

    client = _client(staff("supervisor", kind="division", code="22"))
    year = {"from": "2025-12-01", "to": "2026-11-30"}
    assert client.get("/supervise/dashboards/", year).status_code == 200
    before = prepared()
    for _ in range(8):
        assert client.get("/supervise/dashboards/", year).status_code == 200
        assert client.get("/supervise/dashboards/export/all.xlsx", year).status_code == 200
    new = prepared() - before
    for table in (
        "ratings_followup",
        "ratings_ratingday",
        "supervision_caseday",
        "supervision_casedoneday",
        "supervision_efficiencyday",
        "workflow_caseitem",
        "onestop_cache",
    ):
        assert not [s for s in new if f'"{table}"' in s], table
    # Elsewhere (a report's decorator is not around it) a statement is prepared as before.
    for _ in range(6):
        CaseDay.objects.filter(day__gte=date(2026, 11, 1)).count()
    assert [s for s in prepared() - before if '"supervision_caseday"' in s]
