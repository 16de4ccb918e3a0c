"""One mechanism for every outbox (SMS and in-app messages, webhooks to department
systems): the backoff schedule, what is due, the lease a sender takes, how an attempt is
recorded, the dead letter and the replay.

An outbox row is written in the transaction of the change that caused it, with a
django-tasks task to send it, so it commits or rolls back with the change ("Nothing is
sent before commit, nothing is lost after", DESIGN.md). Sending one row goes:

1. **claim** — one conditional UPDATE, committed at once, takes a lease: the row's due
   time moves ``lease()`` ahead and its attempt count goes up. A row is claimable when it
   is pending and due (or never tried: its due time is the change's time, which a worker's
   clock may not have reached yet). Two senders racing for a row: one UPDATE matches.
2. **send** — the gateway or receiver is called outside any transaction and holds no
   row lock, so a slow SMS gateway or department system never blocks the change that
   writes the next row, nor a staff member's replay.
3. **record** — a short transaction marks the row done, or backs it off exponentially
   (30 s, 1 min, 2 min, … capped at 1 hour) with a task to try again at that time, or
   after ``max_attempts`` marks it dead for staff to see and replay.

A sender killed between claim and record leaves the row pending with its lease; the
periodic sweep queues it again once the lease and the recovery period have passed
(`sweep`). Receivers deduplicate on the row's id (the SMS ``message_id``, the webhook
``delivery_id``), so at-least-once sending is exactly-once receiving.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cached_property
from typing import Any, Generic, Protocol, TypeVar, cast

from django.conf import settings
from django.db import models, transaction
from django.db.models import F, Q, QuerySet
from django.utils.module_loading import import_string

log = logging.getLogger(__name__)

PENDING = "pending"
DEAD = "dead"
NOT_DUE = "not_due"  # another sender holds the row's lease, or its retry time has not come
MISSING = "missing"

Row = TypeVar("Row", bound=models.Model)


class _Enqueueable(Protocol):
    def enqueue(self, *args: Any, **kwargs: Any) -> object: ...

    def using(self, *, run_after: datetime | None = ...) -> _Enqueueable: ...


def lease() -> timedelta:
    """How long a sender holds a claimed row: ``settings.OUTBOX_RECOVERY_SECONDS`` (more
    than the gateway's and the receivers' timeouts)."""
    return timedelta(seconds=settings.OUTBOX_RECOVERY_SECONDS)


def backoff(
    attempts: int,
    *,
    base: timedelta = timedelta(seconds=30),
    cap: timedelta = timedelta(hours=1),
) -> timedelta:
    """The wait after the ``attempts``-th failed attempt: 30 s, 1 min, 2 min, … capped at
    1 hour."""
    delay: timedelta = base * (2 ** max(attempts - 1, 0))
    return min(delay, cap)


@dataclass(frozen=True)
class Attempt:
    """What one send did: ``error`` empty when the receiver took it; ``fields`` are extra
    columns to record with it (e.g. the webhook's HTTP status)."""

    error: str = ""
    fields: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class Outbox(Generic[Row]):
    """One outbox table: rows with ``status`` (``pending`` → ``done_status`` or ``dead``),
    ``attempts``, ``next_attempt_at``, ``last_error`` and a ``done_at_field`` time.

    ``task_path`` names the django-tasks task that sends one row by its primary key; it
    is imported when first needed (the app's task module imports the app's services,
    which use this outbox).
    """

    model: type[Row]
    task_path: str
    done_status: str
    done_at_field: str
    max_attempts: int
    related: tuple[str, ...] = ()  # what a sender reads with the row (select_related)

    @cached_property
    def task(self) -> _Enqueueable:
        task: _Enqueueable = import_string(self.task_path)
        return task

    def backoff(self, attempts: int) -> timedelta:
        return backoff(attempts)

    def pending(self) -> QuerySet[Row]:
        return self.model._default_manager.filter(status=PENDING)

    # --- queueing (inside the change's transaction) ------------------------------------

    def enqueue(self, pk: int, *, run_after: datetime | None = None) -> None:
        """Queue the task that sends row ``pk`` (call inside the transaction that wrote
        or changed the row, so the task commits with it)."""
        if run_after is None:
            self.task.enqueue(pk)
        else:
            self.task.using(run_after=run_after).enqueue(pk)

    def due(self, now: datetime, *, limit: int = 500) -> list[int]:
        """The pending rows whose time has come, oldest first."""
        return list(
            self.pending()
            .filter(next_attempt_at__lte=now)
            .order_by("next_attempt_at", "pk")
            .values_list("pk", flat=True)[:limit]
        )

    # --- sending (in the worker) ------------------------------------------------------

    def _claimable(self, pk: int, now: datetime) -> QuerySet[Row]:
        return self.pending().filter(Q(next_attempt_at__lte=now) | Q(attempts=0), pk=pk)

    def claim(self, pk: int, *, now: datetime) -> Row | None:
        """Take the lease on row ``pk`` (committed at once) and return it, or None when it
        is not pending, not due, or another sender holds it."""
        with transaction.atomic():
            claimed = self._claimable(pk, now).update(
                next_attempt_at=now + lease(), attempts=F("attempts") + 1
            )
        if not claimed:
            return None
        return self.model._default_manager.select_related(*self.related).filter(pk=pk).first()

    def complete(self, pk: int, *, now: datetime, only: Q | None = None) -> bool:
        """Claim and mark done in one UPDATE, if the row is claimable and matches ``only``:
        for rows whose sending needs no call out (in-app messages)."""
        claimable = self._claimable(pk, now)
        if only is not None:
            claimable = claimable.filter(only)
        return bool(
            claimable.update(
                status=self.done_status,
                attempts=F("attempts") + 1,
                last_error="",
                **{self.done_at_field: now},
            )
        )

    def record(self, row: Row, *, now: datetime, attempt: Attempt) -> str:
        """Record the result of the send of the claimed ``row``; its status afterwards.

        A failure whose lease another sender has taken since (the send outlived its lease)
        is left to that sender; a success always counts.
        """
        attempts: int = cast(Any, row).attempts  # this sender's attempt (set by its claim)
        pending = self.pending().filter(pk=row.pk)
        extra = dict(attempt.fields or {})
        error = attempt.error[:200]
        with transaction.atomic():
            if not error:
                done = pending.update(
                    status=self.done_status, last_error="", **{self.done_at_field: now}, **extra
                )
                return self.done_status if done else self.status(row.pk)
            mine = pending.filter(attempts=attempts)
            if attempts >= self.max_attempts:
                if not mine.update(status=DEAD, last_error=error, **extra):
                    return self.status(row.pk)
                log.warning(
                    "%s %s is dead after %s attempts", self.model.__name__, row.pk, attempts
                )
                return DEAD
            retry_at = now + self.backoff(attempts)
            if mine.update(next_attempt_at=retry_at, last_error=error, **extra):
                self.enqueue(row.pk, run_after=retry_at)
                return PENDING
            return self.status(row.pk)

    def deliver(self, pk: int, *, now: datetime, send: Callable[[Row], Attempt]) -> str:
        """Claim row ``pk``, ``send`` it outside any transaction, record the result; the
        row's status afterwards (``not_due`` when it could not be claimed while pending).
        """
        row = self.claim(pk, now=now)
        if row is None:
            status = self.status(pk)
            return NOT_DUE if status == PENDING else status
        return self.record(row, now=now, attempt=send(row))

    def status(self, pk: int) -> str:
        status: str | None = (
            self.model._default_manager.filter(pk=pk).values_list("status", flat=True).first()
        )
        return status or MISSING

    # --- recovery and the dead letter -----------------------------------------------------

    def sweep(self, *, now: datetime, limit: int = 500) -> int:
        """Queue again the pending rows whose time is long past (more than a lease ago) and
        that no task holds: lost with a worker killed mid-run. How many were queued.

        A row is queued once per recovery period, not on every sweep: its due time moves
        to ``now`` by a conditional update and it is queued only if that update took, so
        two workers sweeping at once queue it once and a queue running behind is not
        flooded with another copy of every late row each minute. Sending is leased, so a
        row queued twice is still sent once.
        """
        pending = self.pending()
        stale = (
            pending.filter(next_attempt_at__lte=now - lease())
            .order_by("next_attempt_at", "pk")
            .values_list("pk", "next_attempt_at")[:limit]
        )
        count = 0
        for pk, due in stale:
            with transaction.atomic():
                if pending.filter(pk=pk, next_attempt_at=due).update(next_attempt_at=now):
                    self.enqueue(pk)
                    count += 1
        return count

    def replay(self, pk: int, *, now: datetime) -> bool:
        """Staff put a dead row back in the queue (same id: a receiver that did get it
        after all deduplicates). False when the row is not dead."""
        with transaction.atomic():
            updated = self.model._default_manager.filter(pk=pk, status=DEAD).update(
                status=PENDING, attempts=0, next_attempt_at=now
            )
            if updated:
                self.enqueue(pk)
        return bool(updated)
