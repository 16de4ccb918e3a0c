"""An idle worker is woken by the commit that writes outbox rows (ADR 0024): on
PostgreSQL one NOTIFY per writing transaction, delivered only if it commits."""

from __future__ import annotations

import pytest
from django.db import connection, transaction
from django.utils import timezone

from onestop.common.outbox import WAKE_CHANNEL
from onestop.notifications.services import notification_queue
from onestop.ops.pace import Pace
from onestop.ops.worker import Waiter
from onestop.testing.costs import database_cost


@pytest.mark.django_db(transaction=True)
def test_a_commit_with_outbox_rows_wakes_the_worker_and_a_rollback_does_not(settings):
    if connection.vendor != "postgresql":
        pytest.skip("LISTEN/NOTIFY: PostgreSQL")
    settings.WORKER_IDLE_SECONDS = 30
    waiter = Waiter(interval=1.0)
    listener = waiter._listen()
    try:
        with database_cost() as cost, transaction.atomic():
            notification_queue(key="wake:1", phones=["13800000000"], body="一", at=timezone.now())
            notification_queue(key="wake:2", phones=["13800000001"], body="二", at=timezone.now())
        notifies = [n.channel for n in listener.notifies(timeout=5, stop_after=1)]
        assert notifies == [WAKE_CHANNEL]
        assert cost.transactions == 1
        assert list(listener.notifies(timeout=0.5)) == []  # one per transaction

        with pytest.raises(RuntimeError), transaction.atomic():
            notification_queue(key="wake:3", phones=["13800000002"], body="三", at=timezone.now())
            raise RuntimeError("rolled back")
        assert list(listener.notifies(timeout=1)) == []
    finally:
        waiter.close()


@pytest.mark.django_db(transaction=True)
def test_a_busy_worker_does_not_listen_and_listens_again_when_idle(settings):
    """ADR 0045: each NOTIFY delivered to a listening session is a transaction of that
    session (two workers: two per writing commit). A worker whose round found work polls
    without listening; idle again, it listens and takes one more round at once."""
    if connection.vendor != "postgresql":
        pytest.skip("LISTEN/NOTIFY: PostgreSQL")
    settings.WORKER_IDLE_SECONDS = 30
    waiter = Waiter(interval=0.0)
    listener = waiter._listen()
    try:
        waiter.pause()  # the round found work
        assert waiter.listening is False
        with transaction.atomic():
            notification_queue(key="busy:1", phones=["13800000003"], body="四", at=timezone.now())
        assert list(listener.notifies(timeout=1)) == []  # not delivered: not listening
        waiter.wait(lambda: True)  # idle: listens again and returns for one more round
        assert waiter.listening is True
        with transaction.atomic():
            notification_queue(key="busy:2", phones=["13800000004"], body="五", at=timezone.now())
        notifies = [n.channel for n in listener.notifies(timeout=5, stop_after=1)]
        assert notifies == [WAKE_CHANNEL]
    finally:
        waiter.close()


@pytest.mark.django_db(transaction=True)
def test_every_writing_transaction_wakes_the_workers_even_through_the_same_atomic_block(
    settings,
):
    """A decorated function's atomic block is one object for every call, and a finished
    block's address can be reused by the next: the once-per-transaction mark must end with
    its transaction (it was the block's id(), and a later commit went unannounced — the
    worker then waited for its idle round)."""
    if connection.vendor != "postgresql":
        pytest.skip("LISTEN/NOTIFY: PostgreSQL")
    settings.WORKER_IDLE_SECONDS = 30
    waiter = Waiter(interval=1.0)
    listener = waiter._listen()

    @transaction.atomic
    def queue(n: int) -> None:
        notification_queue(key=f"again:{n}", phones=["13800000005"], body="六", at=timezone.now())
        notification_queue(key=f"again:{n}b", phones=["13800000006"], body="七", at=timezone.now())

    try:
        for n in range(3):
            queue(n)
            notifies = [x.channel for x in listener.notifies(timeout=5, stop_after=1)]
            assert notifies == [WAKE_CHANNEL], n
            assert list(listener.notifies(timeout=0.3)) == []  # once per transaction
        with transaction.atomic():
            try:
                with transaction.atomic():  # a savepoint that told, then rolled back
                    notification_queue(
                        key="again:sp", phones=["13800000007"], body="八", at=timezone.now()
                    )
                    raise RuntimeError
            except RuntimeError:
                pass
            notification_queue(
                key="again:after", phones=["13800000008"], body="九", at=timezone.now()
            )
        assert [x.channel for x in listener.notifies(timeout=5, stop_after=1)] == [WAKE_CHANNEL]
    finally:
        waiter.close()


def _cycle(pace: Pace, began: float, *rounds: int) -> float:
    """One cycle of rounds (rows each), begun at ``began``: the pause after it."""
    pace.round_began(began)
    for rows in rounds:
        pace.round_sent(rows)
    return pace.pause(began + 0.05)


def test_the_pause_is_the_interval_only_while_the_outboxes_fill_fast():
    """Sessions 27–28: rows that come fast gather for a second (one batch per receiver,
    which its system claims and completes in one request); a quiet outbox's rows — the
    last messages of a burst — wait only the quick gap. Judged by the cycle's rate (the
    rows of the rounds since the last pause over the time since the cycle before began),
    so a quick cycle of a busy outbox (few rows, little time) still counts as busy."""
    pace = Pace(interval=1.0, quick=0.1, floor=20, share=0.5)
    assert _cycle(pace, 0.0, 5) == 0.1  # a first burst: its rate is not known yet
    assert _cycle(pace, 1.0, 100, 60) == 1.0  # 160 rows a second: busy (the peak)
    assert _cycle(pace, 2.0, 3) == 0.1  # 3 rows a second: quiet
    assert _cycle(pace, 2.1, 9) == 1.0  # 90 rows a second in a quick cycle: busy
    assert _cycle(pace, 3.1, 0) == 1.0  # nothing sent: idle, the interval
    quick = Pace(interval=0.05, quick=0.1, floor=20, share=0.5)
    _cycle(quick, 0.0, 1)
    assert _cycle(quick, 1.0, 1) == 0.05  # never longer than the interval


def test_the_last_levels_of_a_burst_are_not_held_a_second_each():
    """Session 28: in make bench the two workers' cycles sent 300–470 rows a second-and-a-
    bit while the cases flowed, and 187, 136, 1 at the end: with session 27's fixed 20
    rows a second each of those last levels waited a whole second. Below half the recent
    peak the pause is the quick gap; the peak is this machine's own, so a slower machine's
    burst is busy at its own rate, and an old peak fades (halves every 30 s)."""
    pace = Pace(interval=1.0, quick=0.1, floor=20, share=0.5)
    at = 0.0
    for rows in (5, 300, 420, 470, 350, 330):  # the burst: every cycle busy after the first
        gap = _cycle(pace, at, rows)
        at += 1.3
    assert gap == 1.0
    assert _cycle(pace, at, 187) == 0.1  # 144 rows a second: under half of ~360
    slow = Pace(interval=1.0, quick=0.1, floor=20, share=0.5)
    at = 0.0
    for rows in (5, 60, 70, 65, 62):  # a slow machine's burst is busy at its own rate
        gap = _cycle(slow, at, rows)
        at += 1.3
    assert gap == 1.0
    assert slow.remembered_peak(at + 300) < 1  # five minutes later the peak is forgotten
    assert _cycle(slow, at + 300, 40) == 0.1  # 0.13 rows a second: under the floor


def test_an_idle_worker_polls_once_per_interval_not_quicker(settings, monkeypatch):
    """An empty round (SQLite, or PostgreSQL without its LISTEN connection) is followed by
    the interval, never by the quick gap: the review of session 27 found an idle worker
    polling ten times a second."""
    from onestop.ops import worker as worker_module

    slept: list[float] = []
    monkeypatch.setattr("onestop.ops.worker.time.sleep", slept.append)
    monkeypatch.setattr("onestop.ops.worker.connection.vendor", "sqlite")
    loop = worker_module.Loop(interval=1.0)
    loop.pace.round_began(0.0)  # an empty round
    loop.waiter.wait(lambda: True)
    loop.waiter.pause(loop.gap())
    assert slept == [1.0, 1.0]
