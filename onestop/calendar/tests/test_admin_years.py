"""A calendar year entered by an administrator takes effect once published.

The shipped table ends with 2026. The State Council notice for 2027 is not in the table, so
these tests use a clearly fictional but valid arrangement for 2027 (marked 示例): it only
has to move due times the way a real notice would.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse

from onestop.accounts.models import Role, User
from onestop.calendar.models import CalendarYear, SpecialDay
from onestop.calendar.selectors import current_calendar
from onestop.cases.models import TimelineEntry
from onestop.cases.services import case_submit
from onestop.core.errors import CalendarNotCovered
from onestop.supervision.services import calendar_watch
from onestop.testing.newborns import another_newborn
from onestop.workflow.models import CaseItem

pytestmark = pytest.mark.django_db

SOURCE = "示例（虚构）安排，仅供测试，非国务院公布的2027年节假日安排"

# (date, kind, name): New Year, Spring Festival with one make-up Saturday, National Day with
# a make-up Sunday before and a make-up Saturday after.
FICTIONAL_2027 = [
    ("2027-01-01", "holiday", "元旦"),
    *((f"2027-02-{d:02d}", "holiday", "春节") for d in range(6, 13)),
    ("2027-02-20", "workday", "春节"),
    ("2027-09-26", "workday", "国庆节"),
    *((f"2027-10-{d:02d}", "holiday", "国庆节") for d in range(1, 8)),
    ("2027-10-09", "workday", "国庆节"),
]


def enter_2027(*, published: bool) -> CalendarYear:
    year = CalendarYear.objects.create(year=2027, published=published, source=SOURCE)
    SpecialDay.objects.bulk_create(
        SpecialDay(year=year, date=dt.date.fromisoformat(day), kind=kind, name=name)
        for day, kind, name in FICTIONAL_2027
    )
    return year


def submit_in_2027(example, beijing, at: str):
    doc = example("qinbei-accept")
    doc["submitted_at"] = at
    doc["newborns"][0]["born_at"] = "2027-09-20T08:20:00+08:00"
    another_newborn(doc, int(at[11:13]))  # one newborn, one active case: a baby per call
    case = case_submit(document=doc, actor=None, now=beijing(at)).case
    assert case.status == "in_progress", case.decision
    return case


def bmc(case) -> CaseItem:
    return CaseItem.objects.get(case=case, item="birth_certificate")


def test_published_year_extends_the_calendar():
    with pytest.raises(CalendarNotCovered):
        current_calendar().is_working_day(dt.date(2027, 10, 8))
    enter_2027(published=True)
    calendar = current_calendar()
    assert calendar.last_year == 2027
    assert not calendar.is_working_day(dt.date(2027, 10, 1))
    assert calendar.is_working_day(dt.date(2027, 9, 26))  # a make-up Sunday
    assert calendar.is_working_day(dt.date(2027, 10, 8))


def test_due_time_skips_the_published_holidays(example, beijing, media_root):
    enter_2027(published=True)
    # Received Thursday 2027-09-30; 1 working day; 10-01..10-07 are days off → Friday 10-08.
    case = submit_in_2027(example, beijing, "2027-09-30T10:00:00+08:00")
    assert bmc(case).due_at == beijing("2027-10-08T23:59:59+08:00")
    assert not TimelineEntry.objects.filter(case=case, kind="calendar_missing").exists()


def test_due_time_counts_a_published_make_up_working_day(example, beijing, media_root):
    enter_2027(published=True)
    # Received Saturday 2027-09-25; Sunday 09-26 is a make-up working day.
    case = submit_in_2027(example, beijing, "2027-09-25T10:00:00+08:00")
    assert bmc(case).due_at == beijing("2027-09-26T23:59:59+08:00")


def test_unpublished_year_does_not_take_effect_and_staff_see_why(example, beijing, media_root):
    enter_2027(published=False)
    case = submit_in_2027(example, beijing, "2027-09-30T10:00:00+08:00")
    item = bmc(case)
    assert item.state == "ready"
    # Issue 8, defect 4: never blank. Weekends only beyond the table: Fri 2027-10-01 (the
    # unpublished National Day is not known), marked provisional.
    assert item.due_at == beijing("2027-10-01T23:59:59+08:00")
    assert item.due_provisional
    missing = TimelineEntry.objects.get(case=case, kind="calendar_missing", item=item.item)
    assert "2027" in missing.message
    assert not missing.visible_to_parent  # a message for staff, not for the parents
    ready = TimelineEntry.objects.get(case=case, kind="item_ready", item=item.item)
    assert "办理期限 2027年10月1日 23:59（暂按双休日计算）" in ready.message


def test_publishing_later_applies_to_items_dispatched_afterwards(example, beijing, media_root):
    year = enter_2027(published=False)
    before = submit_in_2027(example, beijing, "2027-09-30T10:00:00+08:00")
    year.published = True
    year.save()
    after = submit_in_2027(example, beijing, "2027-09-30T11:00:00+08:00")
    # Published outside the admin (a plain save): the periodic calendar watch recomputes it.
    assert bmc(before).due_provisional
    assert bmc(after).due_at == beijing("2027-10-08T23:59:59+08:00")
    assert not bmc(after).due_provisional
    calendar_watch(beijing("2027-09-30T12:00:00+08:00"))
    assert bmc(before).due_at == beijing("2027-10-08T23:59:59+08:00")
    assert not bmc(before).due_provisional


@pytest.fixture
def admin_client() -> Client:
    user = User.objects.create_superuser(
        username="calendar-admin", password="demo-pass-123", role=Role.ADMIN
    )
    client = Client()
    client.force_login(user)
    return client


def test_admin_enters_and_publishes_a_year_through_the_admin_form(
    admin_client, example, beijing, media_root
):
    rows = FICTIONAL_2027
    form = {
        "year": "2027",
        "published": "on",
        "source": SOURCE,
        "days-TOTAL_FORMS": str(len(rows)),
        "days-INITIAL_FORMS": "0",
        "days-MIN_NUM_FORMS": "0",
        "days-MAX_NUM_FORMS": "1000",
    }
    for n, (day, kind, name) in enumerate(rows):
        form |= {f"days-{n}-date": day, f"days-{n}-kind": kind, f"days-{n}-name": name}
    response = admin_client.post(reverse("admin:workcalendar_calendaryear_add"), form)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert SpecialDay.objects.filter(year_id=2027).count() == len(rows)
    case = submit_in_2027(example, beijing, "2027-09-30T10:00:00+08:00")
    assert bmc(case).due_at == beijing("2027-10-08T23:59:59+08:00")


def test_admin_change_page_of_a_year_loads(admin_client):
    enter_2027(published=True)
    page = admin_client.get(reverse("admin:workcalendar_calendaryear_change", args=[2027]))
    assert page.status_code == 200
    text = page.content.decode()
    assert "2027-10-01" in text and "国庆节" in text
    assert (
        admin_client.get(reverse("admin:workcalendar_calendaryear_changelist")).status_code == 200
    )
