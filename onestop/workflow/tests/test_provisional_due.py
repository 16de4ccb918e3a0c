"""Due times beyond the working-day table (issue 8, defect 4).

"A Qinbei SSC item (30 working days) received in November 2026 shows '办理期限：—' to
officer, parent and supervisor, so it can never be overdue. The spec says a date beyond the
table is an error that staff see, never a silent guess. Required: the item still gets a due
time computed on weekends only, clearly marked provisional (暂按双休日计算) everywhere it
is shown, and recomputed automatically when an administrator publishes the year;
administrators and supervisors get a warning from 60 days before the table runs out; the
efficiency report counts such items instead of dropping them."

The shipped table ends with 2026. The social security card (社会保障卡, 30 working days)
becomes ready on Thu 26 Nov 2026 at 10:00: counting weekends only, the 30th working day is
Thu 7 Jan 2027. The 2027 arrangement the administrator publishes here is the fictional one
of ``onestop/calendar/tests/test_admin_years.py`` (New Year's Day, Fri 1 Jan, off), which
moves it to Fri 8 Jan.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from onestop.accounts.models import Role, User
from onestop.audit.models import AuditRecord
from onestop.calendar.selectors import current_calendar
from onestop.calendar.tests.test_admin_years import FICTIONAL_2027, SOURCE, enter_2027
from onestop.cases.models import Case, TimelineEntry
from onestop.cases.services import case_submit
from onestop.integration.tests.support import Api, issue
from onestop.ops.demo import shift_dates
from onestop.supervision.models import DeadlineEvent, StaffMessage
from onestop.supervision.services import calendar_watch, deadlines_sweep
from onestop.testing.factories import SAMPLE_RESULTS, officer, parent, staff
from onestop.testing.reliability import reliability_record
from onestop.workflow.models import CaseItem, Urgency
from onestop.workflow.services import item_complete, item_return, items_resume

pytestmark = pytest.mark.django_db

MOTHER_PHONE = "13800000000"  # qinbei-accept: the mother applies
MARK = "暂按双休日计算"
RECEIVED = "2026-11-26T10:00:00+08:00"
PROVISIONAL_DUE = "2027-01-07T23:59:59+08:00"  # weekends only
PUBLISHED_DUE = "2027-01-08T23:59:59+08:00"  # with New Year's Day 2027 off


def frozen(monkeypatch: pytest.MonkeyPatch, beijing: Callable[[str], datetime], at: str) -> None:
    monkeypatch.setattr(timezone, "now", lambda: beijing(at))


def logged_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def ssc(case: Case) -> CaseItem:
    return CaseItem.objects.get(case=case, item="social_security_card")


@pytest.fixture
def case(example, beijing, media_root, monkeypatch) -> Case:
    """Submitted Fri 20 Nov 2026; on Thu 26 Nov the prerequisites of the social security
    card are done, the last one by the medical insurance officer on the workbench."""
    submitted = beijing("2026-11-20T09:30:00+08:00")
    document = example("qinbei-accept")
    shift_dates(document, submitted)
    found = case_submit(document=document, actor=None, now=submitted).case
    assert found.status == "in_progress", found.decision
    at = beijing(RECEIVED)
    for item in ("birth_certificate", "birth_registration"):
        row = CaseItem.objects.get(case=found, item=item)
        item_complete(item_id=row.pk, actor=None, result=SAMPLE_RESULTS[item], now=at)
    enrolment = CaseItem.objects.get(case=found, item="medical_insurance_enrolment")
    clerk = officer("medical_insurance", enrolment.jurisdiction_kind, enrolment.jurisdiction_code)
    frozen(monkeypatch, beijing, RECEIVED)
    done = logged_in(clerk).post(
        f"/work/tasks/{enrolment.pk}/complete/",
        {"version": enrolment.version, **SAMPLE_RESULTS["medical_insurance_enrolment"]},
    )
    assert done.status_code == 302
    assert ssc(found).state == "ready"
    return found


@pytest.fixture
def hrss(case) -> User:
    row = ssc(case)
    return officer("hrss", row.jurisdiction_kind, row.jurisdiction_code)


@pytest.fixture
def supervisor(db) -> User:
    return staff(Role.SUPERVISOR, kind="division", code="45")


@pytest.fixture
def admin(db) -> User:
    return User.objects.create_superuser(
        username="calendar-admin", password="demo-pass-123", role=Role.ADMIN
    )


def publish_2027(admin: User) -> None:
    """The administrator enters and publishes 2027 through the admin form."""
    form = {
        "year": "2027",
        "published": "on",
        "source": SOURCE,
        "days-TOTAL_FORMS": str(len(FICTIONAL_2027)),
        "days-INITIAL_FORMS": "0",
        "days-MIN_NUM_FORMS": "0",
        "days-MAX_NUM_FORMS": "1000",
    }
    for n, (day, kind, name) in enumerate(FICTIONAL_2027):
        form |= {f"days-{n}-date": day, f"days-{n}-kind": kind, f"days-{n}-name": name}
    response = logged_in(admin).post(reverse("admin:workcalendar_calendaryear_add"), form)
    assert response.status_code == 302, response.content.decode()[:2000]


def test_a_due_time_beyond_the_table_is_shown_everywhere_marked_provisional(
    case, hrss, supervisor, beijing, monkeypatch
):
    row = ssc(case)
    assert row.due_at == beijing(PROVISIONAL_DUE)
    assert row.due_provisional
    frozen(monkeypatch, beijing, "2026-11-27T09:00:00+08:00")
    shown = "2027年1月7日 23:59"

    officer_client = logged_in(hrss)
    queue = officer_client.get("/work/").content.decode()
    task = officer_client.get(f"/work/tasks/{row.pk}/").content.decode()
    mother = logged_in(parent(MOTHER_PHONE))
    progress = mother.get(f"/my/cases/{case.number}/").content.decode()
    watch = logged_in(supervisor).get(f"/supervise/cases/{case.number}/").content.decode()
    for page in (queue, task, progress, watch):
        assert shown in page and MARK in page
    assert "办理期限：—" not in task

    # The timeline the parents read names the due time with the mark; staff see why.
    ready = TimelineEntry.objects.get(case=case, kind="item_ready", item=row.item)
    assert f"办理期限 {shown}（{MARK}）" in ready.message and ready.message in progress
    note = TimelineEntry.objects.get(case=case, kind="calendar_missing", item=row.item)
    assert not note.visible_to_parent and "2027" in note.message

    # The API: the task and the case carry due_provisional.
    credentials = issue("hrss", row.jurisdiction_kind, row.jurisdiction_code)
    api = Api(credentials.token)
    task_body = api.get(f"/tasks/{row.pk}").json()
    assert task_body["due_provisional"] is True
    assert task_body["due_at"] == "2027-01-07T15:59:59Z"
    items = {i["item"]: i for i in api.get(f"/cases/{case.number}").json()["items"]}
    assert items["social_security_card"]["due_provisional"] is True
    assert items["birth_certificate"]["due_provisional"] is False
    schema = Client().get("/api/v1/openapi.json").json()["components"]["schemas"]
    assert "due_provisional" in schema["TaskOut"]["properties"]
    assert "due_provisional" in schema["CaseItemOut"]["properties"]


def test_publishing_the_year_in_the_admin_recomputes_and_clears_the_mark(
    case, hrss, admin, beijing, monkeypatch
):
    row = ssc(case)
    frozen(monkeypatch, beijing, "2026-12-01T09:00:00+08:00")
    publish_2027(admin)

    row.refresh_from_db()
    assert row.due_at == beijing(PUBLISHED_DUE)  # New Year's Day off: one day later
    assert not row.due_provisional
    assert row.version == ssc(case).version  # an officer's open form is not invalidated
    line = TimelineEntry.objects.get(case=case, kind="due_recomputed", item=row.item)
    assert line.visible_to_parent and "2027年1月8日 23:59" in line.message
    audit = AuditRecord.objects.get(stream=case.number, action="item_due_recomputed")
    assert audit.detail["due_at"] == beijing(PUBLISHED_DUE).isoformat()
    published = AuditRecord.objects.get(stream="calendar", action="calendar_year_published")
    assert published.object_id == "2027" and published.detail["due_times_recomputed"] == 1
    assert published.actor_id == admin.pk

    task = logged_in(hrss).get(f"/work/tasks/{row.pk}/").content.decode()
    assert "2027年1月8日 23:59" in task and MARK not in task
    progress = logged_in(parent(MOTHER_PHONE)).get(f"/my/cases/{case.number}/").content.decode()
    ssc_row = progress.split('data-item="social_security_card"')[1].split("</tr>")[0]
    assert "2027年1月8日 23:59" in ssc_row and MARK not in ssc_row
    credentials = issue("hrss", row.jurisdiction_kind, row.jurisdiction_code)
    assert Api(credentials.token).get(f"/tasks/{row.pk}").json()["due_provisional"] is False

    # Publishing again (a later edit) changes nothing more.
    calendar_watch(beijing("2026-12-01T10:00:00+08:00"))
    assert AuditRecord.objects.filter(action="item_due_recomputed").count() == 1


def test_the_sweep_warns_and_marks_a_provisional_item_overdue(
    case, hrss, supervisor, beijing, monkeypatch
):
    row = ssc(case)
    # Thu 7 Jan 2027 (beyond the table): less than one working day left → amber.
    report = deadlines_sweep(beijing("2027-01-07T09:00:00+08:00"))
    assert report.calendar_missing
    row.refresh_from_db()
    assert row.urgency == Urgency.WARNING
    assert DeadlineEvent.objects.filter(item=row, kind="warning").exists()
    # Fri 8 Jan 2027: past due → red, recorded once, officers and supervisors told.
    deadlines_sweep(beijing("2027-01-08T09:00:00+08:00"))
    deadlines_sweep(beijing("2027-01-08T09:05:00+08:00"))
    row.refresh_from_db()
    assert row.urgency == Urgency.OVERDUE
    assert DeadlineEvent.objects.filter(item=row, kind="overdue").count() == 1
    message = StaffMessage.objects.get(user=hrss, kind="overdue")
    assert f"2027年1月7日 23:59（{MARK}）" in message.body
    assert StaffMessage.objects.filter(user=supervisor, kind="overdue").exists()
    # Escalation after 3 working days overdue (weekends only): Wed 13 Jan.
    deadlines_sweep(beijing("2027-01-13T09:00:00+08:00"))
    assert DeadlineEvent.objects.filter(item=row, kind="escalated_1").exists()

    frozen(monkeypatch, beijing, "2027-01-08T10:00:00+08:00")
    page = logged_in(supervisor).get("/supervise/deadlines/?which=overdue").content.decode()
    assert f'data-item="{row.pk}" data-light="overdue"' in page
    assert "2027年1月7日 23:59" in page and MARK in page
    queue = logged_in(hrss).get("/work/").content.decode()
    assert 'class="light overdue"' in queue


def test_a_pause_moves_a_provisional_due_time_and_publishing_recomputes_it(
    case, hrss, admin, beijing
):
    row = ssc(case)
    item_return(
        item_id=row.pk,
        actor=hrss,
        reasons=["请补充银行卡信息"],
        now=beijing("2027-01-04T10:00:00+08:00"),
    )
    with_case = Case.objects.get(pk=case.pk)
    items_resume(with_case, actor=None, now=beijing("2027-01-06T10:00:00+08:00"))
    row.refresh_from_db()
    # Tue 5 and Wed 6 Jan lost: Thu 7 → Mon 11 Jan, still provisional.
    assert row.due_at == beijing("2027-01-11T23:59:59+08:00")
    assert row.due_provisional
    enter_2027(published=True)
    calendar_watch(beijing("2027-01-06T11:00:00+08:00"))
    row.refresh_from_db()
    # From Fri 8 Jan (New Year's Day off), two working days lost → Tue 12 Jan.
    assert row.due_at == beijing("2027-01-12T23:59:59+08:00")
    assert not row.due_provisional


def test_the_efficiency_report_counts_a_provisional_item(
    case, hrss, supervisor, beijing, monkeypatch
):
    row = ssc(case)
    item_complete(
        item_id=row.pk,
        actor=hrss,
        result=SAMPLE_RESULTS["social_security_card"],
        now=beijing("2027-01-05T15:00:00+08:00"),
    )
    frozen(monkeypatch, beijing, "2027-01-06T09:00:00+08:00")
    page = logged_in(supervisor).get(
        "/supervise/efficiency/?from=2027-01-01&to=2027-01-06&department=hrss"
    )
    body = page.content.decode()
    assert page.status_code == 200
    assert 'data-department="hrss"' in body
    assert "100.0%" in body and "(1/1)" in body  # counted, on time, not dropped
    assert 'data-provisional-count="1"' in body and MARK in body


@pytest.mark.parametrize(
    ("at", "warned"),
    [
        ("2026-10-31T09:00:00+08:00", False),  # 61 days before 31 Dec 2026
        ("2026-11-01T09:00:00+08:00", True),  # 60 days before
        ("2027-01-04T09:00:00+08:00", True),  # after the table ended
    ],
)
def test_administrators_and_supervisors_are_warned_from_60_days_before_the_table_ends(
    at, warned, admin, supervisor, beijing, monkeypatch
):
    assert current_calendar().last_year == 2026
    clerk = officer("hrss", "division", "450703")
    frozen(monkeypatch, beijing, at)
    index = logged_in(admin).get("/admin/").content.decode()
    deadlines = logged_in(supervisor).get("/supervise/deadlines/").content.decode()
    cases = logged_in(supervisor).get("/supervise/").content.decode()
    for page in (index, deadlines, cases):
        assert ("data-calendar-warning" in page) is warned
        assert ("2026年12月31日" in page) is warned

    first = calendar_watch(beijing(at))
    again = calendar_watch(beijing(at))  # the job runs every hour: one message only
    assert first.warned == (2 if warned else 0)
    assert again.warned == 0
    assert StaffMessage.objects.filter(user=admin).count() == int(warned)
    assert StaffMessage.objects.filter(user=supervisor).count() == int(warned)
    assert not StaffMessage.objects.filter(user=clerk).exists()
    if warned:
        body = StaffMessage.objects.get(user=supervisor).body
        assert "2027年" in body and "双休日" in body
        reliability_record("calendar", "hourly runs of the calendar watch", 2)
        reliability_record("calendar", "staff warned of the table's end (admin, supervisor)", 2)
        reliability_record("calendar", "warnings repeated by the second run", again.warned)


def test_without_a_published_year_no_due_time_is_blank(case, beijing):
    """The outside test's question: any open item with a limit and no due time?"""
    blank = CaseItem.objects.filter(
        received_at__isnull=False, time_limit_days__isnull=False, due_at__isnull=True
    ).exclude(clock_start="on_bank_choice")
    reliability_record("calendar", "items with a time limit received beyond the table", 1)
    reliability_record("calendar", "of those, items shown with a blank due time", blank.count())
    assert not blank.exists()
