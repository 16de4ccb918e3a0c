"""Parents urge (催办) an overdue item of their own case, once per working day; the
department's officers get a message and see the count on their queue and task view."""

from __future__ import annotations

import pytest
from django.test import Client
from django.utils import timezone

from onestop.cases.models import TimelineEntry
from onestop.cases.services import case_submit
from onestop.ops.demo import shift_dates
from onestop.supervision.models import ItemUrge, StaffMessage
from onestop.supervision.services import UrgeRefused, item_urge
from onestop.testing.factories import officer, parent
from onestop.workflow.models import CaseItem
from onestop.workflow.services import item_return

pytestmark = pytest.mark.django_db

MOTHER_PHONE = "13800000000"  # qinbei-accept: the mother applies


@pytest.fixture
def case(example, beijing, media_root):
    """Submitted Tue 29 Sep 2026: the BMC is due at the end of Wed 30 Sep."""
    now = beijing("2026-09-29T10:00:00+08:00")
    document = example("qinbei-accept")
    shift_dates(document, now)
    found = case_submit(document=document, actor=None, now=now).case
    assert found.status == "in_progress", found.decision
    return found


@pytest.fixture
def mother(db):
    return parent(MOTHER_PHONE)


@pytest.fixture
def hospital(db):
    return officer("hospital", "hospital", "qinbei-mch")


def urge(case, mother, beijing, at, item="birth_certificate"):
    return item_urge(case=case, item=item, parent=mother, now=beijing(at))


def refusal(case, mother, beijing, at, item="birth_certificate") -> str:
    with pytest.raises(UrgeRefused) as caught:
        urge(case, mother, beijing, at, item)
    return caught.value.code


def test_an_item_can_be_urged_once_it_is_overdue(case, mother, hospital, beijing):
    assert refusal(case, mother, beijing, "2026-09-30T20:00:00+08:00") == "urge_not_overdue"
    done = urge(case, mother, beijing, "2026-10-01T09:00:00+08:00")
    assert done.working_day.isoformat() == "2026-10-08"  # a holiday counts for the next one
    entry = TimelineEntry.objects.get(case=case, kind="item_urged")
    assert entry.visible_to_parent and "第1次" in entry.message
    message = StaffMessage.objects.get(kind="urged")
    assert message.user == hospital and message.item is not None
    assert message.item.item == "birth_certificate"
    assert "催办" in message.body and case.number in message.body


def test_once_per_working_day_across_the_holiday_and_the_make_up_day(
    case, mother, hospital, beijing
):
    urge(case, mother, beijing, "2026-10-03T09:00:00+08:00")  # counts for Thu 8 Oct
    assert refusal(case, mother, beijing, "2026-10-07T18:00:00+08:00") == "urge_too_soon"
    assert refusal(case, mother, beijing, "2026-10-08T09:00:00+08:00") == "urge_too_soon"
    urge(case, mother, beijing, "2026-10-09T09:00:00+08:00")
    assert refusal(case, mother, beijing, "2026-10-09T17:00:00+08:00") == "urge_too_soon"
    urge(case, mother, beijing, "2026-10-10T09:00:00+08:00")  # Saturday, a working day
    urge(case, mother, beijing, "2026-10-11T09:00:00+08:00")  # Sunday → Mon 12 Oct
    assert refusal(case, mother, beijing, "2026-10-12T09:00:00+08:00") == "urge_too_soon"
    assert ItemUrge.objects.count() == 4
    assert StaffMessage.objects.filter(user=hospital, kind="urged").count() == 4
    with pytest.raises(UrgeRefused, match="下一个工作日（2026-10-13）"):
        urge(case, mother, beijing, "2026-10-12T10:00:00+08:00")


def test_returned_items_and_other_parents_cannot_urge(case, mother, hospital, beijing):
    assert refusal(case, parent("13900000001"), beijing, "2026-10-09T09:00:00+08:00") == (
        "urge_forbidden"
    )
    item_return(
        item_id=CaseItem.objects.get(case=case, item="birth_certificate").pk,
        actor=hospital,
        reasons=["请补充分娩记录"],
        now=beijing("2026-10-08T09:00:00+08:00"),
    )
    assert refusal(case, mother, beijing, "2026-10-09T09:00:00+08:00") == "urge_paused"
    assert refusal(case, mother, beijing, "2026-10-09T09:00:00+08:00", "birth_registration") == (
        "urge_not_open"
    )
    assert refusal(case, mother, beijing, "2026-10-09T09:00:00+08:00", "nothing") == (
        "urge_item_unknown"
    )


def test_the_parent_urges_from_the_progress_page_and_the_officer_sees_it(
    case, mother, hospital, monkeypatch, beijing
):
    monkeypatch.setattr(timezone, "now", lambda: beijing("2026-10-09T09:00:00+08:00"))
    client = Client()
    client.force_login(mother)
    page = client.get(f"/my/cases/{case.number}/").content.decode()
    assert f"/my/cases/{case.number}/urge/birth_certificate/" in page
    response = client.post(f"/my/cases/{case.number}/urge/birth_certificate/", follow=True)
    assert response.redirect_chain[-1][0] == f"/my/cases/{case.number}/"
    body = response.content.decode()
    assert "已催办" in body and "第1次" in body
    again = client.post(f"/my/cases/{case.number}/urge/birth_certificate/", follow=True)
    assert "每个工作日只能催办一次" in again.content.decode()
    assert client.get(f"/my/cases/{case.number}/urge/birth_certificate/").status_code == 405

    work = Client()
    work.force_login(hospital)
    queue = work.get("/work/").content.decode()
    assert "已催办 1 次" in queue
    item = CaseItem.objects.get(case=case, item="birth_certificate")
    assert "已催办 1 次" in work.get(f"/work/tasks/{item.pk}/").content.decode()
    inbox = work.get("/work/messages/").content.decode()
    assert "【家长催办】" in inbox and f"/work/tasks/{item.pk}/" in inbox
    assert StaffMessage.objects.get(user=hospital).read_at is not None


def test_someone_elses_case_is_not_found(case, beijing):
    client = Client()
    client.force_login(parent("13900000002"))
    response = client.post(f"/my/cases/{case.number}/urge/birth_certificate/")
    assert response.status_code == 404
