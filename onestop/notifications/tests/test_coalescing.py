"""Messages coalesced per recipient and state change (issue 10: "one SMS when several items
become ready together, not one per item"): the messages one state change queues for one
parent become one SMS and one in-app message, their texts one after the other."""

from __future__ import annotations

import pytest
from django.db import transaction

from onestop.cases.services import case_submit
from onestop.core.events import emit
from onestop.notifications.models import Notification
from onestop.notifications.services import notification_queue
from onestop.workflow.models import CaseItem

pytestmark = pytest.mark.django_db


def jilin_with_automatic_items(example, beijing):
    document = example("jilin-accept-counter")
    document["items"] += ["vaccination_certificate", "maternity_reimbursement"]
    document["maternity"] = {"plurality": 1, "delivery_mode": "natural", "payout": "ssc"}
    return case_submit(document=document, actor=None, now=beijing("2026-11-17T14:00:00+08:00")).case


def test_acceptance_and_the_items_granted_with_it_make_one_sms(example, beijing, media_root):
    """Jilin grants vaccination and maternity reimbursement without application (免申即享):
    they complete in the transaction that accepts the case. The parent gets one SMS saying
    all three things, not three."""
    case = jilin_with_automatic_items(example, beijing)
    done = CaseItem.objects.filter(case=case, state="done").count()
    assert done == 2
    sms = Notification.objects.filter(case=case, channel="sms")
    in_app = Notification.objects.filter(case=case, channel="in_app")
    parents = {n.phone_index for n in sms}
    assert len(parents) == 2  # both parents on the case
    assert sms.count() == in_app.count() == len(parents)  # one each, not three each
    for message in sms:
        lines = message.body.split("\n")
        assert len(lines) == 1 + done  # the decision, then each item done, in event order
        assert case.number in lines[0] and "受理" in lines[0]
        assert all("已办结" in line for line in lines[1:])
        assert message.body.count("【出生一件事】") == 1  # the signature once, first
        assert lines[0].startswith("【出生一件事】")
        assert in_app.get(phone_index=message.phone_index).body == message.body
        assert message.dedup_key.startswith("joined:")


def test_messages_queued_outside_a_state_change_are_written_at_once(media_root, beijing):
    at = beijing("2026-11-17T14:00:00+08:00")
    notification_queue(key="t:1", phones=["13800000000"], body="一", at=at, channels=["sms"])
    notification_queue(key="t:2", phones=["13800000000"], body="二", at=at, channels=["sms"])
    assert sorted(Notification.objects.values_list("body", flat=True)) == ["一", "二"]


def test_every_recipients_message_outside_a_state_change_is_one_insert(media_root, beijing):
    """Outside a state change the messages to every phone on every channel are written by
    one INSERT (issue 10), the rows those of one INSERT per phone and channel: the phones in
    the order given, each once (an empty one skipped), SMS before in-app, the same keys; a
    retry writes none."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from onestop.common.fields import index_of

    at = beijing("2026-11-17T14:00:00+08:00")
    phones = ["13900000000", "", "13800000000", "13900000000"]
    with CaptureQueriesContext(connection) as queries:
        notification_queue(key="t:all", phones=phones, body="一", at=at)
    inserts = [q["sql"] for q in queries if q["sql"].lstrip().upper().startswith("INSERT")]
    assert len(inserts) == 1, inserts
    rows = list(Notification.objects.order_by("pk"))
    expected = [
        (f"t:all:{channel}:{index_of(phone, purpose='phone')[:16]}", channel, phone)
        for phone in ("13900000000", "13800000000")
        for channel in ("sms", "in_app")
    ]
    assert [(r.dedup_key, r.channel, r.phone) for r in rows] == expected
    for row in rows:
        assert row.phone_index == index_of(row.phone or "", purpose="phone")
        assert (row.body, row.created_at, row.next_attempt_at) == ("一", at, at)
        # An in-app message is written sent (it has nothing to send); an SMS waits.
        sent = row.channel == "in_app"
        assert (row.status, row.attempts, row.case_id, row.read_at) == (
            "sent" if sent else "pending",
            0,
            None,
            None,
        )
        assert row.sent_at == (at if sent else None)
    notification_queue(key="t:all", phones=phones, body="再一次", at=at)  # a retry
    assert list(Notification.objects.order_by("pk")) == rows
    assert {r.body for r in Notification.objects.all()} == {"一"}


def test_one_message_per_recipient_and_a_retry_queues_none(media_root, beijing):
    """Two recipients stay two messages; the same change handled again (a retried call)
    queues nothing new: the joined message is named by its events' keys."""
    from onestop.core.events import Event, Phase, effects

    at = beijing("2026-11-17T14:00:00+08:00")

    class _Happened(Event):
        name = "coalescing_test_happened"

    def twice(event: Event) -> None:
        for n in (1, 2):
            notification_queue(
                key=f"t:{n}", phones=["13800000000", "13900000000"], body=f"第{n}条", at=at
            )

    effects.register(_Happened, phase=Phase.MESSAGE, effect="test")(twice)
    try:
        for _ in range(2):
            with transaction.atomic():
                emit(_Happened())
    finally:
        effects._handlers.pop(_Happened, None)
    rows = Notification.objects.all()
    assert rows.count() == 4  # 2 phones × (SMS, in-app)
    assert {r.body for r in rows} == {"第1条\n第2条"}
    assert len({r.phone_index for r in rows}) == 2


def test_a_failed_state_change_leaves_no_message_held(media_root, beijing):
    from onestop.core.events import Event, Phase, effects

    at = beijing("2026-11-17T14:00:00+08:00")

    class _Broke(Event):
        name = "coalescing_test_broke"

    def queue_then_fail(event: Event) -> None:
        notification_queue(key="t:x", phones=["13800000000"], body="不该发", at=at)
        raise RuntimeError("the change fails")

    effects.register(_Broke, phase=Phase.MESSAGE, effect="test")(queue_then_fail)
    try:
        with pytest.raises(RuntimeError):
            emit(_Broke())
    finally:
        effects._handlers.pop(_Broke, None)
    emit()  # the next state change (no events) writes nothing held from the failed one
    assert not Notification.objects.exists()


def test_a_recipients_two_rows_store_each_text_encrypted_once(media_root, beijing):
    """A parent's message is an SMS row and an in-app row with the same phone and text:
    the write encrypts each text once and the rows store its token (issue 10, session
    30: four encryptions per recipient were two); different texts keep different tokens,
    each row reads back its own plaintext, and an encryption outside that write is a
    fresh token."""
    from django.db import connection

    from onestop.common.fields import cipher

    at = beijing("2026-11-17T14:00:00+08:00")
    notification_queue(key="t:once", phones=["13900000000", "13800000000"], body="一", at=at)
    table = Notification._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT channel, phone, body FROM {table} ORDER BY id")
        stored = cursor.fetchall()
    assert [channel for channel, _, _ in stored] == ["sms", "in_app", "sms", "in_app"]
    phones = [phone for _, phone, _ in stored]
    assert phones[0] == phones[1] != phones[2] == phones[3]  # a token per phone
    assert len({body for _, _, body in stored}) == 1  # one text: one token in this write
    assert [cipher().decrypt(token) for token in phones] == [
        "13900000000",
        "13900000000",
        "13800000000",
        "13800000000",
    ]
    assert cipher().decrypt(stored[0][2]) == "一"
    assert [(n.phone, n.body) for n in Notification.objects.order_by("pk")] == [
        ("13900000000", "一"),
        ("13900000000", "一"),
        ("13800000000", "一"),
        ("13800000000", "一"),
    ]
    assert cipher().encrypt("一") != stored[0][2]  # outside the write: a fresh token
