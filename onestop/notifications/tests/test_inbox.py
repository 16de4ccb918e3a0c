"""Parents' in-app messages: only their own, newest first, marked read when shown, and the
unread count in the header."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from onestop.cases.services import case_submit
from onestop.notifications.models import Notification
from onestop.notifications.services import notification_deliver, notification_queue
from onestop.testing.factories import officer, parent
from onestop.testing.newborns import another_newborn

pytestmark = pytest.mark.django_db

MOTHER = "13800000000"
OTHER = "13711112222"


def send_all() -> None:
    for pk in Notification.objects.filter(status="pending").values_list("pk", flat=True):
        notification_deliver(pk)


@pytest.fixture
def cases(example, beijing, media_root):
    mine = case_submit(
        document=example("qinbei-accept"), actor=None, now=beijing("2026-11-20T09:30:00+08:00")
    ).case
    doc = another_newborn(example("qinbei-accept"), 1)
    doc["applicant"]["phone"] = OTHER
    doc["mother"]["phone"] = OTHER
    theirs = case_submit(document=doc, actor=None, now=beijing("2026-11-20T09:40:00+08:00")).case
    send_all()
    return mine, theirs


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def unread_badge(html: str) -> int:
    match = re.search(r'class="nav-messages">[^<]*<span class="badge"[^>]*>(\d+)</span>', html)
    return int(match.group(1)) if match else 0


def test_a_parent_sees_only_their_own_sent_in_app_messages(cases, beijing):
    mine, theirs = cases
    # An in-app message still waiting in the outbox (one written before in-app messages
    # were written sent, or a dead one put back) is not shown yet.
    notification_queue(
        key="test:pending",
        phones=[MOTHER],
        body="尚未发送的消息",
        at=beijing("2026-11-20T10:00:00+08:00"),
    )
    Notification.objects.filter(dedup_key__startswith="test:pending:").update(
        status=Notification.Status.PENDING, sent_at=None
    )
    page = client_for(parent(MOTHER)).get("/my/messages/")
    assert page.status_code == 200
    text = page.content.decode()
    assert mine.number in text
    assert theirs.number not in text
    assert "尚未发送的消息" not in text
    assert "验证码" not in text
    assert len(page.context["rows"]) == 1  # one in-app message (the SMS copy is not listed)

    other_page = client_for(parent(OTHER)).get("/my/messages/").content.decode()
    assert theirs.number in other_page and mine.number not in other_page


def test_an_in_app_message_is_in_the_inbox_when_its_change_commits(cases, beijing):
    """Issue 10, session 27: an in-app message has nothing to send, so it is written sent
    — no worker round between the change and the parent's inbox."""
    notification_queue(
        key="test:at-once",
        phones=[MOTHER],
        body="写入即送达",
        at=beijing("2026-11-20T10:00:00+08:00"),
    )
    in_app = Notification.objects.get(dedup_key__startswith="test:at-once:in_app:")
    sms = Notification.objects.get(dedup_key__startswith="test:at-once:sms:")
    assert (in_app.status, sms.status) == ("sent", "pending")
    assert "写入即送达" in client_for(parent(MOTHER)).get("/my/messages/").content.decode()


def _deliver(case, key, body, at):
    """One more SMS to the mother about ``case``, sent (it lands in her inbox)."""
    notification_queue(
        key=f"case:{case.number}:{key}", phones=[MOTHER], body=body, at=at, case=case
    )
    send_all()


def test_viewing_marks_read_and_the_header_count_follows(cases, beijing):
    mine, _ = cases
    _deliver(mine, "test", "第二条消息", beijing("2026-11-21T09:00:00+08:00"))
    client = client_for(parent(MOTHER))
    assert unread_badge(client.get("/my/cases/").content.decode()) == 2
    inbox = client.get("/my/messages/")
    rows = inbox.context["rows"]
    assert rows[0]["message"].body == "第二条消息"  # newest first
    assert all(row["new"] for row in rows)  # shown as new this once
    assert unread_badge(inbox.content.decode()) == 0
    assert not Notification.objects.filter(
        channel="in_app", case=mine, read_at__isnull=True
    ).exists()
    again = client.get("/my/messages/").context["rows"]
    assert not any(row["new"] for row in again)


def test_read_state_of_someone_elses_messages_is_untouched(cases):
    _, theirs = cases
    client_for(parent(MOTHER)).get("/my/messages/")
    assert Notification.objects.filter(channel="in_app", case=theirs, read_at__isnull=True).count()


def test_paging_keeps_older_messages_unread_until_shown(cases, beijing):
    mine, _ = cases
    start = beijing("2026-11-22T09:00:00+08:00")
    for n in range(25):
        notification_queue(
            key=f"bulk:{n}",
            phones=[MOTHER],
            body=f"消息{n}",
            at=start + timedelta(minutes=n),
            case=mine,
        )
    send_all()
    client = client_for(parent(MOTHER))
    first = client.get("/my/messages/")
    assert len(first.context["rows"]) == 20
    assert unread_badge(first.content.decode()) == 6  # 5 older bulk + the acceptance message
    second = client.get("/my/messages/?page=2")
    assert len(second.context["rows"]) == 6
    assert unread_badge(second.content.decode()) == 0


def test_staff_and_anonymous_visitors_get_no_inbox(db):
    assert (
        client_for(officer("hospital", "hospital", "qinbei-mch")).get("/my/messages/").status_code
        == 404
    )
    anonymous = Client().get("/my/messages/")
    assert anonymous.status_code == 302 and "/accounts/parent/" in anonymous["Location"]


def test_the_header_count_is_the_stamps_and_a_new_message_shows_on_the_next_read(cases, beijing):
    """The header's unread count is read with the page's stamp (issue 10 part 3: no
    statement of its own); a message delivered since changes the stamp, so the next read
    of an otherwise unchanged page is rendered again with the new count — on every parent's
    page, the kept body never shows the old one."""
    mine, _ = cases
    client = client_for(parent(MOTHER))
    pages = ("/my/cases/", f"/my/cases/{mine.number}/")
    for page in pages:
        client.get(page)  # rendered and kept
    with CaptureQueriesContext(connection) as queries:
        for page in pages:
            assert unread_badge(client.get(page).content.decode()) == 1
    assert _counted_apart(queries) == []
    _deliver(mine, "later", "又一条消息", beijing("2026-11-21T10:00:00+08:00"))
    with CaptureQueriesContext(connection) as queries:
        for page in pages:
            assert unread_badge(client.get(page).content.decode()) == 2
    assert _counted_apart(queries) == []  # rendered again, the count still the stamp's


def _counted_apart(queries: CaptureQueriesContext) -> list[str]:
    """Statements that count messages outside a page's stamp (its one UNION ALL)."""
    return [
        q["sql"]
        for q in queries.captured_queries
        if "notifications_notification" in q["sql"]
        and "COUNT(" in q["sql"]
        and "UNION ALL" not in q["sql"]
    ]
