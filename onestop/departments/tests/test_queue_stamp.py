"""The officer's queue answered from its stamp (ADR 0026 amendment "session 19"), through
HTTP: the same officer, the same page, nothing changed: a 304 to If-None-Match and the
kept body otherwise, in fewer statements; anyone else, a signed-out request, or any change
of what the page shows (an item claimed, a due time passing, a new staff message): not."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from onestop.cases.services import case_submit
from onestop.common.revalidate import PAGE_CACHE
from onestop.supervision.models import StaffMessage
from onestop.testing.factories import officer
from onestop.testing.newborns import another_newborn
from onestop.workflow.models import CaseItem
from onestop.workflow.services import item_claim

pytestmark = pytest.mark.django_db

# Session, user and whether they enrolled a second factor (django-otp's question, one
# statement), the calendar's published years and the stamp: an unchanged queue page (a
# rendered one: `test_queue_statements`).
UNCHANGED_QUEUE_STATEMENTS = 4


@pytest.fixture
def cases(example, beijing, media_root):
    PAGE_CACHE.clear()
    for n in range(3):
        case_submit(
            document=another_newborn(example("qinbei-accept"), n + 1),
            actor=None,
            now=beijing("2026-11-20T09:30:00+08:00"),
        )


def _signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    client.get("/accounts/login/")  # a first page: the CSRF cookie, the session written
    return client


def _numbers(user) -> list[str]:
    return [i.case.number for i in CaseItem.objects.filter(department=user.department)]


def test_an_unchanged_queue_is_304_to_its_etag_and_the_same_body_without(cases):
    client = _signed_in(officer("hospital", "hospital", "qinbei-mch"))
    for url in ("/work/", "/work/?order=new"):
        first = client.get(url)
        assert first.status_code == 200 and first["ETag"], url
        assert first.content.decode().count('href="/work/tasks/') == 3
        again = client.get(url, HTTP_IF_NONE_MATCH=first["ETag"])
        assert again.status_code == 304 and again.content == b""
        hits = PAGE_CACHE.hits
        with CaptureQueriesContext(connection) as queries:
            kept = client.get(url)
        assert kept.status_code == 200 and kept.content == first.content
        assert PAGE_CACHE.hits == hits + 1
        assert len(queries) <= UNCHANGED_QUEUE_STATEMENTS, [q["sql"] for q in queries]


def test_another_officer_never_gets_the_owners_page_nor_a_304(cases):
    owner = officer("hospital", "hospital", "qinbei-mch")
    shown = _signed_in(owner).get("/work/")
    numbers = _numbers(owner)
    assert numbers and all(n in shown.content.decode() for n in numbers)
    for other in (
        officer("hospital", "hospital", "qinbei-people"),  # another station
        officer("hospital", "hospital", "qinbei-mch"),  # a colleague at the same desk
    ):
        client = _signed_in(other)
        answer = client.get("/work/", HTTP_IF_NONE_MATCH=shown["ETag"])
        assert answer.status_code == 200 and answer["ETag"] != shown["ETag"]
        assert answer.content != shown.content
        if other.jurisdiction_code != owner.jurisdiction_code:
            assert not any(n in answer.content.decode() for n in numbers)


def test_a_signed_out_request_is_sent_to_sign_in(cases):
    owner = _signed_in(officer("hospital", "hospital", "qinbei-mch"))
    etag = owner.get("/work/")["ETag"]
    answer = Client().get("/work/", HTTP_IF_NONE_MATCH=etag)
    assert answer.status_code == 302 and "/accounts/login/" in answer["Location"]


def test_an_item_claimed_changes_the_page_at_once(cases):
    user = officer("hospital", "hospital", "qinbei-mch", name="王医生")
    client = _signed_in(user)
    first = client.get("/work/")
    assert "王医生" not in first.content.decode().split("<main>", 1)[1]
    item = CaseItem.objects.filter(department="hospital").order_by("pk").first()
    assert item is not None
    item_claim(item_id=item.pk, actor=user, expected_version=item.version)
    after = client.get("/work/", HTTP_IF_NONE_MATCH=first["ETag"])
    assert after.status_code == 200 and after["ETag"] != first["ETag"]
    assert "王医生" in after.content.decode().split("<main>", 1)[1]


def test_a_due_time_passing_changes_the_page_at_once(cases, monkeypatch):
    client = _signed_in(officer("hospital", "hospital", "qinbei-mch"))
    item = CaseItem.objects.filter(department="hospital").order_by("pk").first()
    assert item is not None
    now = timezone.now()
    CaseItem.objects.update(due_at=now + timedelta(days=30))  # none overdue but this one
    CaseItem.objects.filter(pk=item.pk).update(due_at=now + timedelta(minutes=10))
    first = client.get("/work/")
    assert client.get("/work/")["ETag"] == first["ETag"]  # nothing changed yet
    assert "light overdue" not in first.content.decode()
    monkeypatch.setattr(timezone, "now", lambda: now + timedelta(minutes=11))
    after = client.get("/work/", HTTP_IF_NONE_MATCH=first["ETag"])
    assert after.status_code == 200 and after["ETag"] != first["ETag"]
    assert after.content.decode().count("light overdue") == 1


def test_a_new_staff_message_changes_the_page_at_once(cases):
    user = officer("hospital", "hospital", "qinbei-mch")
    client = _signed_in(user)
    first = client.get("/work/")
    StaffMessage.objects.create(
        user=user, dedup_key="t-1", kind="urged", body="催办", created_at=timezone.now()
    )
    after = client.get("/work/", HTTP_IF_NONE_MATCH=first["ETag"])
    assert after.status_code == 200 and after["ETag"] != first["ETag"]
    assert 'class="nav-messages">工作消息 <span class="badge"' in after.content.decode()


def test_a_page_number_the_view_corrects_is_rendered_without_a_stamp(cases):
    client = _signed_in(officer("hospital", "hospital", "qinbei-mch"))
    for url in ("/work/?page=9", "/work/?page=x", "/work/?page=0"):
        answer = client.get(url)
        assert answer.status_code == 200 and not answer.has_header("ETag"), url
        assert answer.content.decode().count('href="/work/tasks/') == 3


def test_the_header_counts_read_with_the_page_are_the_counts(cases):
    """The header's unread count of work messages comes from the queue's stamp and from the
    task page's item statement (issue 10 part 3, session 20): the same number the header's
    own count gives, read messages left out, another officer's never counted."""
    user = officer("hospital", "hospital", "qinbei-mch")
    other = officer("hospital", "hospital", "qinbei-mch")
    now = timezone.now()
    for n in range(3):
        StaffMessage.objects.create(
            user=user, dedup_key=f"h-{n}", kind="urged", body="催办", created_at=now
        )
    StaffMessage.objects.create(
        user=user, dedup_key="h-read", kind="urged", body="催办", created_at=now, read_at=now
    )
    StaffMessage.objects.create(
        user=other, dedup_key="h-other", kind="urged", body="催办", created_at=now
    )
    client = _signed_in(user)
    badge = '<span class="badge" aria-label="未读消息">3</span>'
    queue = client.get("/work/").content.decode()
    assert badge in queue
    assert 'id="corrections-link"' in queue and "待审核 0 件" in queue
    row = CaseItem.objects.filter(department="hospital").order_by("pk").first()
    assert row is not None
    assert badge in client.get(f"/work/tasks/{row.pk}/").content.decode()
    assert 'aria-label="未读消息">1</span>' in _signed_in(other).get("/work/").content.decode()


def _body(response: Any) -> str:
    return str(response.content.decode().split("<main>", 1)[1])


@pytest.mark.parametrize("name", ["王医生", "王|医生"])
def test_the_rows_written_from_the_stamp_are_the_rows_read_again(cases, monkeypatch, name):
    """The table is written from the rows the stamp read (no statement of its own): the
    same bytes as from the rows the view reads itself, for every kind of row — claimed,
    urged, which baby, overdue, in warning, provisional, returned, no due time — in both
    orders; a claimer's name with a ``|`` (not read back for certain) is read again."""
    from onestop.departments.stamps import queue_rows
    from onestop.supervision.models import ItemUrge
    from onestop.workflow.models import ItemState

    user = officer("hospital", "hospital", "qinbei-mch", name=name)
    client = _signed_in(user)
    now = timezone.now()
    items = list(CaseItem.objects.filter(department="hospital").order_by("pk"))
    assert len(items) == 3
    CaseItem.objects.filter(pk=items[0].pk).update(
        due_at=now - timedelta(hours=1), claimed_by=user, newborn=1
    )
    CaseItem.objects.filter(pk=items[1].pk).update(
        due_at=now + timedelta(minutes=10), due_provisional=True
    )
    CaseItem.objects.filter(pk=items[2].pk).update(due_at=None, received_at=None)
    for days in range(2):
        day = now.date() - timedelta(days)
        ItemUrge.objects.create(item=items[1], case=items[1].case, at=now, working_day=day)
    for returned in (False, True):
        if returned:
            CaseItem.objects.filter(pk=items[1].pk).update(state=ItemState.RETURNED)
        for url in ("/work/", "/work/?order=new"):
            PAGE_CACHE.clear()
            with CaptureQueriesContext(connection) as stamped:
                written = client.get(url)
            monkeypatch.setattr("onestop.departments.views.queue_rows", lambda *a: None)
            PAGE_CACHE.clear()
            with CaptureQueriesContext(connection) as read:
                again = client.get(url)
            monkeypatch.setattr("onestop.departments.views.queue_rows", queue_rows)
            assert written.status_code == again.status_code == 200
            assert _body(written) == _body(again), url
            body = _body(written)
            assert "badge urged" in body and "data-baby" in body and "data-due-provisional" in body
            assert "light overdue" in body and ("light warning" in body) is not returned
            assert "—</td>" in body and name in body
            # The rows read again: one statement more, unless the stamp's rows were not read
            # back (a "|" in the claimer's name).
            assert len(read) == len(stamped) + (1 if "|" not in name else 0)


def _task_ids(body: str) -> list[int]:
    return [int(part.split("/", 1)[0]) for part in body.split('href="/work/tasks/')[1:]]


def test_the_rows_are_in_the_queues_order_ties_by_id(cases, example, beijing, monkeypatch):
    """The stamp reads its rows' places with ``row_number()`` over the queue's order (its
    one definition, `selectors.queue_row_order`): the page written from the stamp lists the
    rows as the page read again does — ties (same due time and arrival) by id, NULLs where
    the database puts them, an urged and an overdue row among them — in both orders."""
    from onestop.departments.selectors import officer_queue
    from onestop.departments.stamps import queue_rows
    from onestop.supervision.models import ItemUrge

    for n in range(3, 7):
        case_submit(
            document=another_newborn(example("qinbei-accept"), n + 1),
            actor=None,
            now=beijing("2026-11-20T09:30:00+08:00"),
        )
    user = officer("hospital", "hospital", "qinbei-mch")
    client = _signed_in(user)
    now = timezone.now()
    items = list(CaseItem.objects.filter(department="hospital").order_by("pk"))
    assert len(items) == 7
    tied = items[:4]
    for item in reversed(tied):  # rewritten last id first: stored in the reverse order
        CaseItem.objects.filter(pk=item.pk).update(
            due_at=now + timedelta(days=2), received_at=now - timedelta(hours=1)
        )
    CaseItem.objects.filter(pk=items[4].pk).update(due_at=None)
    CaseItem.objects.filter(pk=items[5].pk).update(received_at=None)
    CaseItem.objects.filter(pk=items[6].pk).update(due_at=now - timedelta(hours=1))
    ItemUrge.objects.create(item=items[6], case=items[6].case, at=now, working_day=now.date())
    for url, order in (("/work/", "due"), ("/work/?order=new", "new")):
        PAGE_CACHE.clear()
        written = _body(client.get(url))
        monkeypatch.setattr("onestop.departments.views.queue_rows", lambda *a: None)
        PAGE_CACHE.clear()
        again = _body(client.get(url))
        monkeypatch.setattr("onestop.departments.views.queue_rows", queue_rows)
        assert written == again, url
        shown = _task_ids(written)
        assert shown == list(officer_queue(user, order=order).values_list("pk", flat=True))
        assert [pk for pk in shown if pk in {i.pk for i in tied}] == [i.pk for i in tied]
        assert "badge urged" in written and "light overdue" in written
        assert sorted(shown) == [i.pk for i in items]
