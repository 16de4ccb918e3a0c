"""The background worker: sends the outboxes' due rows in batches, runs queued django-tasks
(none is queued per message any more; rows queued before ADR 0023 still run) and the
periodic jobs.

The loop never sleeps while work waits: after a full batch it takes the next at once, and
it waits only when a round found less than a full batch of anything. On PostgreSQL it
waits on ``LISTEN onestop_outbox`` (a connection of its own): a transaction that writes
outbox rows notifies when it commits (``onestop.common.outbox.outbox_wake``), so the
worker wakes within ``interval`` (1 s, as before: no round per commit) while the outboxes
fill fast, within ``WORKER_QUICK_SECONDS`` (0.1 s) while they are quiet (`Loop.gap`,
`onestop.ops.pace`), and an idle worker runs a round only every
``ONESTOP_WORKER_IDLE_SECONDS`` (default 5 s: retries are due ≥ 30 s after a failure,
periodic jobs every ≥ 5 min). Elsewhere (SQLite) it sleeps ``interval`` (1 s).
"""

from __future__ import annotations

import contextlib
import logging
import signal
import time
from collections.abc import Callable
from datetime import datetime
from types import FrameType
from typing import Any

from django.conf import settings
from django.db import close_old_connections, connection
from django.utils import timezone
from django_tasks_db.management.commands.db_worker import Worker

from onestop.common.outbox import WAKE_CHANNEL, send_together
from onestop.integration.services import webhooks_sender
from onestop.notifications.services import notifications_sender
from onestop.ops.pace import Pace
from onestop.ops.schedule import SCHEDULE

log = logging.getLogger(__name__)


def run_tasks(*, max_tasks: int | None = None, worker_id: str = "onestop") -> None:
    """Run queued django-tasks until none is ready (or ``max_tasks`` ran)."""
    Worker(
        queue_names=["*"],
        interval=0,
        batch=True,
        backend_name="default",
        startup_delay=False,
        max_tasks=max_tasks,
        worker_id=worker_id,
        excluded_queue_names=[],
    ).run()


def send_due_batch(*, now: datetime | None = None, limit: int | None = None) -> bool:
    """One batch of each outbox (messages, webhooks); True when a batch was full, so more
    may be due at once."""
    limit = limit or settings.WORKER_BATCH
    # Both outboxes claimed in one transaction and recorded in one (ADR 0045).
    messages, webhooks = send_together(
        [notifications_sender(now=now, limit=limit), webhooks_sender(now=now, limit=limit)]
    )
    return messages.full or webhooks.full


def run_queued_tasks(*, max_tasks: int | None = None, worker_id: str = "onestop") -> None:
    """Run everything that is ready now: queued django-tasks, then the outboxes' due rows,
    batch after batch until a batch is not full (at most about ``max_tasks`` rows of each
    outbox when given)."""
    run_tasks(max_tasks=max_tasks, worker_id=worker_id)
    limit = min(settings.WORKER_BATCH, max_tasks) if max_tasks else settings.WORKER_BATCH
    rounds = max(1, (max_tasks or 0) // limit) if max_tasks else None
    while send_due_batch(limit=limit):
        if rounds is not None:
            rounds -= 1
            if rounds <= 0:
                break


class Waiter:
    """Waits for outbox rows: ``LISTEN`` on PostgreSQL, a sleep elsewhere.

    It listens only while the worker is idle (ADR 0045): PostgreSQL delivers each NOTIFY to
    each listening session in a transaction of that session's own — with two workers, two
    transactions per writing commit, about 20 per case. A worker whose last round found
    work does not listen; it takes the next round after ``interval`` (polling while busy,
    one claim per round); when a round finds nothing it listens again, and takes one more
    round first, so a row committed between that round and the LISTEN is not missed."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self.listener: Any = None
        self.listening = False

    def _listen(self) -> Any:
        if self.listener is None or self.listener.closed:
            params = connection.get_connection_params()
            params.pop("pool", None)
            listener = connection.get_new_connection(params)
            listener.autocommit = True
            self.listener = listener
            self.listening = False
        if not self.listening:
            self.listener.execute(f"LISTEN {WAKE_CHANNEL}")
            self.listening = True
        return self.listener

    def pause(self, gap: float | None = None) -> None:
        """Stop listening while the worker is busy (it polls every ``gap`` then: ``interval``
        unless the worker says otherwise, `Loop.gap`)."""
        gap = self.interval if gap is None else gap
        if connection.vendor != "postgresql" or not self.listening or self.listener is None:
            time.sleep(gap)
            return
        try:
            self.listener.execute(f"UNLISTEN {WAKE_CHANNEL}")
            for _ in self.listener.notifies(timeout=0):
                pass
        except Exception:
            self.close()
        self.listening = False
        time.sleep(gap)

    def wait(self, running: Callable[[], bool]) -> None:
        if connection.vendor != "postgresql":
            time.sleep(self.interval)
            return
        idle = settings.WORKER_IDLE_SECONDS
        try:
            if not self.listening:
                # Listening again after busy rounds: one more round first (rows committed
                # since the last round notified nobody).
                self._listen()
                return
            listener = self._listen()
            # At most one round per ``interval`` while rows keep coming (every commit with
            # outbox rows notifies: a round per commit would cost more transactions than
            # the rows it sends); notifications that came meanwhile wake it right after.
            deadline = time.monotonic() + idle
            time.sleep(self.interval)
            while running():
                left = min(1.0, deadline - time.monotonic())  # signals stop it within 1 s
                if left <= 0:
                    return
                if any(True for _ in listener.notifies(timeout=left, stop_after=1)):
                    for _ in listener.notifies(timeout=0):
                        pass
                    return
        except Exception:
            log.warning("worker: no LISTEN connection; polling every %s s", self.interval)
            self.close()
            time.sleep(self.interval)

    def close(self) -> None:
        if self.listener is not None:
            with contextlib.suppress(Exception):  # closing a broken connection
                self.listener.close()
            self.listener = None
        self.listening = False


class Loop:
    def __init__(self, *, interval: float = 1.0, worker_id: str = "onestop") -> None:
        self.interval = interval
        self.worker_id = worker_id
        self.running = True
        self.last_run: dict[str, datetime] = {}
        self.waiter = Waiter(interval)
        self.tasks_due = 0.0  # when to look for queued django-tasks next (monotonic)
        self.worked = False  # the last round sent something
        self.pace = Pace(
            interval=interval,
            quick=settings.WORKER_QUICK_SECONDS,
            floor=settings.WORKER_BUSY_ROWS_PER_SECOND,
            share=settings.WORKER_BUSY_SHARE,
        )

    def stop(self, signum: int, frame: FrameType | None) -> None:
        log.info("worker stopping (signal %s)", signum)
        self.running = False

    def run_due_jobs(self, now: datetime) -> None:
        for job in SCHEDULE:
            last = self.last_run.get(job.name)
            if last is None or now - last >= job.every:
                try:
                    job.run()
                except Exception:
                    log.exception("periodic job %s failed", job.name)
                self.last_run[job.name] = now

    def round(self) -> bool:
        """One round: queued tasks, one batch of each outbox, the periodic jobs that are
        due. True when more work is waiting (a batch was full); ``self.worked`` says
        whether it sent anything."""
        # Nothing of the product queues django-tasks any more (ADR 0023): rows queued by an
        # older version or by hand are looked for every ONESTOP_WORKER_IDLE_SECONDS, not
        # every round — each look was a transaction of its own (ADR 0045).
        if time.monotonic() >= self.tasks_due:
            run_tasks(max_tasks=settings.WORKER_BATCH, worker_id=self.worker_id)
            self.tasks_due = time.monotonic() + settings.WORKER_IDLE_SECONDS
        self.pace.round_began(time.monotonic())
        limit = settings.WORKER_BATCH
        messages, webhooks = send_together(
            [notifications_sender(limit=limit), webhooks_sender(limit=limit)]
        )
        sent = messages.claimed + webhooks.claimed
        self.pace.round_sent(sent)
        self.worked = bool(sent)
        self.run_due_jobs(timezone.now())
        return messages.full or webhooks.full

    def gap(self) -> float:
        """The pause after a round that found less than a full batch (`onestop.ops.pace`):
        ``interval`` while the outboxes fill fast for this machine, the quick gap while
        they fill slowly (a burst's last levels and messages), the interval after a cycle
        that sent nothing."""
        return self.pace.pause(time.monotonic())

    def run(self) -> None:
        signal.signal(signal.SIGTERM, self.stop)
        signal.signal(signal.SIGINT, self.stop)
        log.info("worker %s started", self.worker_id)
        while self.running:
            close_old_connections()
            busy = False
            try:
                busy = self.round()
            except Exception:
                log.exception("worker loop error; retrying")
            if self.running and not busy:
                gap = self.gap()
                if self.worked:
                    self.waiter.pause(gap)  # busy: poll after the gap, not listening
                else:
                    self.waiter.wait(lambda: self.running)  # idle: the interval, then LISTEN
        self.waiter.close()
        log.info("worker %s stopped", self.worker_id)
