"""The supervisor's efficiency report (on-time rate, median working time) and the overdue /
near-due list, with the numbers worked out by hand."""

from __future__ import annotations

import itertools
import re
from typing import Any

import pytest
from django.test import Client

from onestop.calendar.domain import load_default_calendar
from onestop.cases.services import case_submit, case_supplement
from onestop.core.clock import parse_time
from onestop.ops.demo import shift_dates
from onestop.supervision.selectors import deadline_items, efficiency_report, item_working_time
from onestop.testing.costs import count_decryptions
from onestop.testing.factories import officer, staff
from onestop.testing.newborns import another_newborn
from onestop.workflow.models import CaseItem
from onestop.workflow.services import item_complete, item_return

pytestmark = pytest.mark.django_db

CAL = load_default_calendar()


def t(text: str):
    return parse_time(text)


babies = itertools.count()


@pytest.fixture
def submit(example, media_root):
    def go(at: str):
        document = another_newborn(example("qinbei-accept"), next(babies))
        shift_dates(document, t(at))
        case = case_submit(document=document, actor=None, now=t(at)).case
        assert case.status == "in_progress", case.decision
        return case

    return go


@pytest.fixture
def hospital(db):
    return officer("hospital", "hospital", "qinbei-mch")


@pytest.fixture
def cdc(db):
    return officer("cdc", "division", "450703")


def finish(case, item, who, at, result):
    row = CaseItem.objects.get(case=case, item=item)
    item_complete(item_id=row.pk, actor=who, result=result, now=t(at))


@pytest.fixture
def november(submit, hospital, cdc):
    """Two qinbei cases in November 2026 (Mon 16 – Wed 25, no holidays).

    - case 1, received Mon 16 09:00: BMC done Mon 16 15:00 (on time, 6 h = 0.25 working
      days); vaccination done Wed 18 10:00 (due end of Tue 17: late, 49 h = 2.04 days).
    - case 2, received Fri 20 16:00: BMC done Mon 23 10:00 (on time; Fri 8 h + Mon 10 h =
      0.75 days); vaccination returned Mon 23 10:00, supplemented Wed 25 10:00, done Wed 25
      12:00 (due moved to the end of Wed 25: on time; 68 h less 48 h paused = 0.83 days).
    """
    one = submit("2026-11-16T09:00:00+08:00")
    finish(
        one,
        "birth_certificate",
        hospital,
        "2026-11-16T15:00:00+08:00",
        {"bmc_number": "Q450000001"},
    )
    finish(
        one,
        "vaccination_certificate",
        cdc,
        "2026-11-18T10:00:00+08:00",
        {"certificate_number": "YF2026-0001"},
    )
    two = submit("2026-11-20T16:00:00+08:00")
    finish(
        two,
        "birth_certificate",
        hospital,
        "2026-11-23T10:00:00+08:00",
        {"bmc_number": "Q450000002"},
    )
    vaccination = CaseItem.objects.get(case=two, item="vaccination_certificate")
    item_return(
        item_id=vaccination.pk, actor=cdc, reasons=["请补充"], now=t("2026-11-23T10:00:00+08:00")
    )
    case_supplement(case_id=two.pk, actor=None, now=t("2026-11-25T10:00:00+08:00"))
    vaccination.refresh_from_db()
    assert vaccination.due_at == t("2026-11-25T23:59:59+08:00")
    finish(
        two,
        "vaccination_certificate",
        cdc,
        "2026-11-25T12:00:00+08:00",
        {"certificate_number": "YF2026-0002"},
    )
    return one, two


def by_department(rows):
    return {r.department: r for r in rows}


def test_working_time_less_pauses():
    received, finished = t("2026-11-20T16:00:00+08:00"), t("2026-11-25T12:00:00+08:00")
    pauses = [["2026-11-23T02:00:00+00:00", "2026-11-25T02:00:00+00:00"]]
    spent = item_working_time(CAL, received, finished, pauses)
    assert spent.total_seconds() == 20 * 3600
    # across National Day: received Wed 30 Sep 10:00, done Thu 8 Oct 10:00 = one working day
    assert (
        item_working_time(
            CAL, t("2026-09-30T10:00:00+08:00"), t("2026-10-08T10:00:00+08:00"), []
        ).total_seconds()
        == 24 * 3600
    )


def test_efficiency_per_department_and_jurisdiction(november):
    supervisor = staff("supervisor", kind="division", code="4507")
    now = t("2026-11-30T10:00:00+08:00")
    rows = by_department(
        efficiency_report(
            supervisor,
            start=t("2026-11-01T00:00:00+08:00"),
            end=t("2026-12-01T00:00:00+08:00"),
            now=now,
            calendar=CAL,
        )
    )
    hospital = rows["hospital"]
    assert (hospital.jurisdiction_kind, hospital.jurisdiction_code) == ("hospital", "qinbei-mch")
    assert (hospital.finished, hospital.with_limit, hospital.on_time) == (2, 2, 2)
    assert hospital.on_time_rate == 1.0
    assert hospital.median_working_days == 0.5  # (0.25 + 0.75) / 2
    cdc = rows["cdc"]
    assert (cdc.jurisdiction_kind, cdc.jurisdiction_code) == ("division", "450703")
    assert (cdc.finished, cdc.with_limit, cdc.on_time) == (2, 2, 1)
    assert cdc.on_time_rate == 0.5
    assert cdc.median_working_days == round((49 / 24 + 20 / 24) / 2, 2)  # 1.44
    # both police registrations are open (ready since the BMCs were issued): case 1's was
    # due at the end of Wed 18 Nov, case 2's at the end of Wed 25 Nov
    police = rows["police"]
    assert (police.finished, police.open_total, police.open_overdue) == (0, 2, 2)
    assert police.median_working_days is None and police.on_time_rate is None


def test_the_period_is_half_open(november):
    supervisor = staff("supervisor", kind="division", code="450703")
    rows = by_department(
        efficiency_report(
            supervisor,
            start=t("2026-11-16T00:00:00+08:00"),
            end=t("2026-11-25T00:00:00+08:00"),  # before case 2's vaccination finished
            now=t("2026-11-24T10:00:00+08:00"),
            calendar=CAL,
        )
    )
    assert (rows["cdc"].finished, rows["cdc"].on_time) == (1, 0)
    assert rows["cdc"].median_working_days == round(49 / 24, 2)
    assert (rows["hospital"].finished, rows["hospital"].on_time) == (2, 2)


def test_other_divisions_and_officers_see_nothing(november):
    now = t("2026-11-30T10:00:00+08:00")
    kwargs = {
        "start": t("2026-11-01T00:00:00+08:00"),
        "end": t("2026-12-01T00:00:00+08:00"),
        "now": now,
        "calendar": CAL,
    }
    assert efficiency_report(staff("supervisor", kind="division", code="6201"), **kwargs) == []
    assert efficiency_report(officer("police", "police_station", "qinbei-xintang"), **kwargs) == []


def test_overdue_and_near_due_list(november):
    supervisor = staff("supervisor", kind="division", code="4507")
    # Wed 25 Nov 09:00: case 1's registration is overdue, case 2's is due tonight
    now = t("2026-11-25T09:00:00+08:00")
    rows = deadline_items(supervisor, now=now, calendar=CAL)
    got = [(r.item.case_id, r.item.item, r.light) for r in rows]
    one, two = november
    assert got == [
        (one.pk, "birth_registration", "overdue"),
        (two.pk, "birth_registration", "warning"),
    ]
    assert rows[0].overdue_days == 4.38  # Thu 19, Fri 20, Mon 23, Tue 24 and 9 h of Wed 25
    assert [
        r.light for r in deadline_items(supervisor, now=now, calendar=CAL, which="overdue")
    ] == ["overdue"]
    assert deadline_items(supervisor, now=now, calendar=CAL, department="hospital") == []
    assert (
        deadline_items(staff("supervisor", kind="division", code="6201"), now=now, calendar=CAL)
        == []
    )


def test_the_supervisor_pages(november, monkeypatch):
    from django.utils import timezone

    monkeypatch.setattr(timezone, "now", lambda: t("2026-11-25T09:00:00+08:00"))
    client = Client()
    client.force_login(staff("supervisor", kind="division", code="450703"))
    one, two = november
    listing = client.get("/supervise/deadlines/").content.decode()
    assert one.number in listing and two.number in listing
    assert 'data-light="overdue"' in listing and 'data-light="warning"' in listing
    only = client.get("/supervise/deadlines/", {"which": "overdue"}).content.decode()
    assert one.number in only and two.number not in only
    report = client.get("/supervise/efficiency/", {"from": "2026-11-01", "to": "2026-12-01"})
    text = report.content.decode()
    assert 'data-department="cdc"' in text and "50.0%" in text and "100.0%" in text
    bad = client.get("/supervise/efficiency/", {"from": "2026-11-10", "to": "2026-11-01"})
    assert "结束日期必须晚于开始日期" in bad.content.decode()
    police = Client()
    police.force_login(officer("police", "police_station", "qinbei-xintang"))
    assert police.get("/supervise/deadlines/").status_code == 404
    assert police.get("/supervise/efficiency/").status_code == 404


def test_the_rollup_gives_the_report_and_the_database_counts(november):
    """ADR 0025: the report from the daily roll-up equals the report computed from the
    items, and the roll-up's counts equal direct counts of the items."""
    from onestop.supervision.models import EfficiencyDay
    from onestop.supervision.rollups import efficiency_rollup

    supervisor = staff("supervisor", kind="division", code="4507")
    kwargs = {
        "start": t("2026-11-01T00:00:00+08:00"),
        "end": t("2026-12-01T00:00:00+08:00"),
        "now": t("2026-11-30T10:00:00+08:00"),
        "calendar": CAL,
    }
    direct = efficiency_report(supervisor, **kwargs)
    assert not EfficiencyDay.objects.exists()
    # rolled up to Sun 29 Nov; Mon 30 (today) is not over and stays live
    done = efficiency_rollup(now=t("2026-11-30T10:00:00+08:00"))
    assert done["days"] == 14  # Mon 16 (the first finished item) … Sun 29
    assert EfficiencyDay.objects.filter(department="").count() == 14
    assert efficiency_report(supervisor, **kwargs) == direct
    # a second run finds nothing new; a day rolled up again changes nothing
    assert efficiency_rollup(now=t("2026-11-30T11:00:00+08:00"))["days"] == 0
    assert efficiency_report(supervisor, **kwargs) == direct
    finished = CaseItem.objects.filter(state__in=("done", "refused"))
    rolled = EfficiencyDay.objects.exclude(department="")
    assert sum(r.finished + r.automatic for r in rolled) == finished.count()
    assert sum(r.on_time for r in rolled) == sum(
        1
        for i in finished
        if i.due_at is not None and i.finished_at is not None and i.finished_at <= i.due_at
    )
    assert (
        sum(sum(r.working_days.values()) for r in rolled)
        == finished.filter(automatic=False, received_at__isnull=False).count()
    )
    # a half-day period: its part day from the items, its whole days from the roll-up
    half = efficiency_report(supervisor, **{**kwargs, "start": t("2026-11-16T12:00:00+08:00")})
    assert sum(r.finished for r in half) == 4  # all four finished after noon on the 16th


def test_a_years_report_reads_a_whole_past_month_once(november):
    """Issue 10 (the report for a year at 1 M cases: 5,840 day rows decoded and summed per
    request): a whole past month is summed once and kept, as the dashboards' months (ADR
    0025, amendment of session 31); the report stays equal to the one from the items, also
    for a period that starts or ends within a day."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from onestop.supervision.rollups import efficiency_rollup

    supervisor = staff("supervisor", kind="division", code="4507")
    now = t("2026-12-10T10:00:00+08:00")
    periods = [
        (t("2026-01-01T00:00:00+08:00"), t("2027-01-01T00:00:00+08:00")),
        (t("2026-11-16T12:00:00+08:00"), t("2026-12-10T09:30:00+08:00")),
        (t("2026-11-18T10:00:00+08:00"), t("2026-11-25T11:00:00+08:00")),
    ]
    common = {"now": now, "calendar": CAL}
    direct = [efficiency_report(supervisor, start=a, end=b, **common) for a, b in periods]
    assert sum(r.finished for r in direct[0]) == 4
    assert sum(r.finished for r in direct[2]) == 2  # the vaccination on the 18th at 10:00 and
    # the BMC on the 23rd; the vaccination done on the 25th at 12:00 is after the end
    efficiency_rollup(now=now)

    def year() -> tuple[list[Any], list[str]]:
        with CaptureQueriesContext(connection) as seen:
            rows = efficiency_report(supervisor, start=periods[0][0], end=periods[0][1], **common)
        return rows, [q["sql"] for q in seen.captured_queries]

    first, first_sql = year()
    again, again_sql = year()
    assert first == again == direct[0]
    day_rows = [q for q in first_sql if "supervision_efficiencyday" in q and "working_days" in q]
    assert day_rows, first_sql  # November's rows read once …
    # … and then kept: only the current month's (December's) days are read again
    assert not [q for q in again_sql if "supervision_efficiencyday" in q and "working_days" in q]
    for (a, b), expected in zip(periods[1:], direct[1:], strict=True):
        assert efficiency_report(supervisor, start=a, end=b, **common) == expected


def test_the_deadlines_page_names_places_in_a_fixed_number_of_queries(
    november, submit, monkeypatch
):
    """Issue 10: the deadlines page queried one institution per row (507 statements for a
    page of 500); the labels are now read in one go, whatever the number of rows."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from onestop.testing.second_factor import mark_verified

    monkeypatch.setattr("django.utils.timezone.now", lambda: t("2026-11-30T10:00:00+08:00"))
    supervisor = staff("supervisor", kind="division", code="4507")
    client = Client()
    client.force_login(supervisor)
    mark_verified(client, supervisor)
    client.get("/supervise/deadlines/")  # the session and the reference cache settle
    with CaptureQueriesContext(connection) as few:
        page = client.get("/supervise/deadlines/")
    assert page.status_code == 200
    rows = page.content.count(b"<tr")
    for day in ("2026-11-17T09:00:00+08:00", "2026-11-18T09:00:00+08:00"):
        submit(day)  # more open items, all overdue by the 30th
    with CaptureQueriesContext(connection) as again:
        page = client.get("/supervise/deadlines/")
    assert page.status_code == 200
    assert page.content.count(b"<tr") > rows
    assert len(again.captured_queries) == len(few.captured_queries)


def test_the_deadlines_page_decrypts_nothing(november, monkeypatch):
    """Issue 10, part 4: each of the page's (up to 500) rows loaded its case — document and
    decision, decrypted on load — and its own result; it shows none of them. The page still
    links each row to its case and shows its due time and state."""
    from onestop.testing.second_factor import mark_verified

    monkeypatch.setattr("django.utils.timezone.now", lambda: t("2026-11-25T09:00:00+08:00"))
    supervisor = staff("supervisor", kind="division", code="4507")
    client = Client()
    client.force_login(supervisor)
    mark_verified(client, supervisor)
    client.get("/supervise/deadlines/")  # the session and the reference cache settle
    decrypted = count_decryptions(monkeypatch)
    page = client.get("/supervise/deadlines/").content.decode()
    one, two = november
    assert f'href="/supervise/cases/{one.number}/"' in page
    assert f'href="/supervise/cases/{two.number}/"' in page
    assert 'data-light="overdue"' in page and 'data-light="warning"' in page
    assert decrypted == []


def test_the_reports_kept_months_are_kept_apart_per_department_and_any_asked_text(
    november, monkeypatch
):
    """The department a request asks is free text that names a kept month's cache entry: a
    long or odd value is answered, finds no items and is kept under a key the cache's
    table takes; each department's month is its own (ADR 0025, amendment of session 31)."""
    from django.db import connection
    from django.utils import timezone

    from onestop.supervision.rollups import efficiency_rollup

    now = t("2026-12-10T10:00:00+08:00")
    monkeypatch.setattr(timezone, "now", lambda: now)
    efficiency_rollup(now=now)
    client = Client()
    client.force_login(staff("supervisor", kind="division", code="450703"))
    period = {"from": "2026-01-01", "to": "2027-01-01"}

    def kept() -> list[str]:
        with connection.cursor() as cur:
            cur.execute(
                "SELECT cache_key FROM onestop_cache WHERE cache_key LIKE %s", ["%efficiency%"]
            )
            return [row[0] for row in cur.fetchall()]

    for asked in ("x" * 5000, "cdc%ff'--<b>", "卫健委" * 300):
        before = len(kept())
        answer = client.get("/supervise/efficiency/", {**period, "department": asked})
        assert answer.status_code == 200
        assert 'data-department="' not in answer.content.decode()
        # its months kept too (a key of 5,000 characters did not fit the cache's table:
        # PostgreSQL refused the write, which Django's cache swallows)
        assert len(kept()) > before
    # control characters are refused before the view (the HTTP guard)
    odd = client.get("/supervise/efficiency/", {**period, "department": "cdc\x00\n"})
    assert odd.status_code == 400
    seen: dict[str, list[set[str]]] = {}
    for department in ("cdc", "hospital", "", "cdc", "hospital"):
        text = client.get("/supervise/efficiency/", {**period, "department": department})
        shown = set(re.findall(r'data-department="([^"]*)"', text.content.decode()))
        seen.setdefault(department, []).append(shown)
    assert seen["cdc"] == [{"cdc"}, {"cdc"}]
    assert seen["hospital"] == [{"hospital"}, {"hospital"}]
    assert {"cdc", "hospital"} <= seen[""][0]  # and the departments with open items
    assert all(len(k) < 250 for k in kept())
