"""One mechanism for every outbox (SMS and in-app messages, webhooks to department
systems): the backoff schedule, what is due, the lease a sender takes, how an attempt is
recorded, the dead letter and the replay.

An outbox row is written in the transaction of the change that caused it, so it commits
or rolls back with the change ("Nothing is sent before commit, nothing is lost after",
DESIGN.md). The row itself is the unit of background work (ADR 0023): no task is queued
per row; the worker takes the due rows of each outbox in batches (`Outbox.send_due`).
Sending goes:

1. **claim** — one UPDATE, committed at once, takes a lease on up to ``limit`` due rows
   (on PostgreSQL ``UPDATE … WHERE id IN (SELECT … FOR UPDATE SKIP LOCKED) RETURNING``,
   along the partial index of pending rows): each row's due time moves ``lease()`` ahead
   and its attempt count goes up. A row is claimable when it is pending and due (or never
   tried: its due time is the change's time, which a worker's clock may not have reached
   yet). Two senders racing for a row: one takes it.
2. **send** — the gateway or receiver is called outside any transaction and holds no
   row lock, so a slow SMS gateway or department system never blocks the change that
   writes the next row, nor a staff member's replay.
3. **record** — the rows sent are marked done together (one UPDATE); a failed row is
   backed off exponentially (30 s, 1 min, 2 min, … capped at 1 hour: its due time is its
   retry time), or after ``max_attempts`` marked dead for staff to see and replay.

A sender killed between claim and record leaves the row pending with its lease, so the
row is due again when the lease ends and the next batch takes it: nothing to requeue, and
no row is taken twice while its lease holds (the old sweep queued a task per late row
every two minutes, however many were already queued). Receivers deduplicate on the row's
id (the SMS ``message_id``, the webhook ``delivery_id``), so at-least-once sending is
exactly-once receiving.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Generic, TypeVar, cast

from django.conf import settings
from django.db import connections, models, router, transaction
from django.db.models import F, Q, QuerySet

from onestop.common.fields import read_sealed, unseal

log = logging.getLogger(__name__)

PENDING = "pending"
DEAD = "dead"
NOT_DUE = "not_due"  # another sender holds the row's lease, or its retry time has not come
MISSING = "missing"

Row = TypeVar("Row", bound=models.Model)


WAKE_CHANNEL = "onestop_outbox"


def outbox_wake(using: str = "default") -> None:
    """Tell idle workers that outbox rows are waiting (ADR 0024): on PostgreSQL a
    ``NOTIFY onestop_outbox`` in the writing transaction — delivered when, and only if,
    it commits — at most once per transaction (the flag is the outermost atomic block).
    Elsewhere nothing: the worker polls (``ONESTOP_WORKER_IDLE_SECONDS``)."""
    if not outbox_wake_due(using):
        return
    with connections[using].cursor() as cursor:
        cursor.execute("SELECT pg_notify(%s, '')", [WAKE_CHANNEL])
    outbox_woken(using)


def outbox_wake_due(using: str = "default") -> bool:
    """Whether `outbox_wake` would send its ``NOTIFY`` now: on PostgreSQL, where this
    transaction has not sent it yet. A writer that sends ``pg_notify(WAKE_CHANNEL, '')``
    in a statement of its own (the webhooks' INSERT: issue 10, one statement less) asks
    this first and calls `outbox_woken` after."""
    connection = connections[using]
    if connection.vendor != "postgresql":
        return False
    # Once per transaction: the mark is a no-op on-commit callback, which Django drops at
    # the transaction's end (commit or rollback) and with a rolled-back savepoint, exactly
    # as PostgreSQL drops a NOTIFY sent inside it. (It was the id() of the outermost
    # atomic block, which a later transaction's block can reuse — and a decorated
    # function's block is the same object every call — so a later commit went unannounced.)
    return not (
        connection.in_atomic_block and any(entry[1] is _woken for entry in connection.run_on_commit)
    )


def outbox_woken(using: str = "default") -> None:
    """Mark the transaction as having sent the ``NOTIFY`` (`outbox_wake_due`)."""
    connection = connections[using]
    if connection.in_atomic_block:
        connection.on_commit(_woken)


def _woken() -> None:
    """The mark of a transaction that has told the workers (``outbox_wake``)."""


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
    ``attempts``, ``next_attempt_at``, ``last_error`` and a ``done_at_field`` time, and a
    partial index on ``(next_attempt_at, id)`` of the pending rows (the due rows' index).
    """

    model: type[Row]
    done_status: str
    done_at_field: str
    max_attempts: int
    related: tuple[str, ...] = ()  # what a sender reads with the row (select_related)
    # Encrypted columns (also of ``related``) a batch reads as stored, each decrypted when
    # a send reads it (`fields.read_sealed`): an in-app message's phone and text are never
    # read, a receiver's secret once per POST, not once per row (issue 10).
    sealed: tuple[str, ...] = ()
    # The columns a batch's sends and records read (also of ``related``: "client__key_id");
    # empty: all. A batch builds each claimed row from these only (issue 10: a webhook
    # row's receiver came with its subscriptions' JSON and times, decoded per row).
    reads: tuple[str, ...] = ()

    def backoff(self, attempts: int) -> timedelta:
        return backoff(attempts)

    def pending(self) -> QuerySet[Row]:
        return self.model._default_manager.filter(status=PENDING)

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
            # The retry time is the row's due time: the batch after it takes the row.
            if mine.update(next_attempt_at=now + self.backoff(attempts), last_error=error, **extra):
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

    # --- the worker: due rows in batches ----------------------------------------------------

    def claim_batch(self, *, now: datetime, limit: int) -> list[Row]:
        """Take the lease on up to ``limit`` due rows, oldest due first (committed at once),
        and return them. Rows another sender holds are skipped, never waited for.

        Due means ``next_attempt_at <= now`` — a range of the partial index — without the
        never-tried exception of `claim`: a row written by a clock slightly ahead is taken
        by the next batch."""
        using = router.db_for_write(self.model)
        connection = connections[using]
        leased_until = now + lease()
        if connection.vendor == "postgresql":
            # One statement: pick along the partial index of pending rows, skip the rows
            # another worker is claiming, take the lease, return what was taken.
            table = connection.ops.quote_name(self.model._meta.db_table)
            # RETURNING comes back in no particular order: the due time each row had is
            # returned with it, so the batch is sent oldest due first.
            sql = (
                f"UPDATE {table} AS t SET next_attempt_at = %s, attempts = t.attempts + 1 "
                f"FROM (SELECT id, next_attempt_at AS due FROM {table} WHERE status = %s "
                "AND next_attempt_at <= %s "
                "ORDER BY next_attempt_at, id LIMIT %s FOR UPDATE SKIP LOCKED) AS picked "
                "WHERE t.id = picked.id RETURNING t.id, picked.due"
            )
            with (
                transaction.atomic(using=using, savepoint=False),
                connection.cursor() as cursor,
            ):
                cursor.execute(sql, [leased_until, PENDING, now, limit])
                pks = [pk for pk, _due in sorted(cursor.fetchall(), key=lambda r: (r[1], r[0]))]
        else:
            # SQLite (one writer at a time): a conditional UPDATE per candidate, in one
            # transaction; a row another sender took meanwhile no longer matches.
            candidates = list(
                self.pending()
                .filter(next_attempt_at__lte=now)
                .order_by("next_attempt_at", "pk")
                .values_list("pk", flat=True)[:limit]
            )
            pks = []
            with transaction.atomic(using=using, savepoint=False):
                for pk in candidates:
                    if self._claimable(pk, now).update(
                        next_attempt_at=leased_until, attempts=F("attempts") + 1
                    ):
                        pks.append(pk)
        if not pks:
            return []
        read = self.model._default_manager.select_related(*self.related).filter(pk__in=pks)
        if self.reads:
            read = read.only(*self.reads)
        if self.sealed:
            read = read_sealed(read, *self.sealed)
        order = {pk: n for n, pk in enumerate(pks)}
        rows = sorted(read, key=lambda row: order[row.pk])
        for row in rows if self.sealed else ():
            unseal(row, *self.sealed)
        return rows

    def record_batch(self, results: list[tuple[Row, Attempt]], *, now: datetime) -> dict[str, int]:
        """Record the results of a batch: the rows sent are marked done in one UPDATE per
        set of extra columns (usually one); each failure is recorded by itself (`record`).
        How many rows ended in each status."""
        counts: dict[str, int] = {}
        sent: dict[tuple[tuple[str, Any], ...], list[int]] = {}
        for row, attempt in results:
            if attempt.error:
                status = self.record(row, now=now, attempt=attempt)
                counts[status] = counts.get(status, 0) + 1
            else:
                fields = tuple(sorted((attempt.fields or {}).items()))
                sent.setdefault(fields, []).append(row.pk)
        for fields, pks in sent.items():
            done = (
                self.pending()
                .filter(pk__in=pks)
                .update(
                    status=self.done_status,
                    last_error="",
                    **{self.done_at_field: now},
                    **dict(fields),
                )
            )
            counts[self.done_status] = counts.get(self.done_status, 0) + done
        return counts

    def send_due(
        self,
        send: Callable[[Row], Attempt],
        *,
        now: datetime,
        limit: int = 100,
        clock: Callable[[], float] = time.monotonic,
        plan: Callable[[list[Row]], Plan[Row]] | None = None,
        send_group: Callable[[list[Row]], Attempt] | None = None,
    ) -> BatchResult:
        """One batch: claim up to ``limit`` due rows, ``send`` each outside any transaction,
        record the results together. A full batch means more may be waiting.

        With ``plan`` and ``send_group`` (webhook batches, ADR 0028) the claimed rows are
        split into groups, each sent by one call whose result counts for every row of the
        group; rows the plan holds back are given back, due at the time it names.

        A batch sends for at most half its lease: the rows it has not reached by then
        (slow receivers) are given back, due at once, so that no row is sent after its
        lease ended — when another worker may have taken it.

        Two transactions (ADR 0045): the claim with the rows' read and the plan's, and the
        record of every result with the rows given back (`send_together`)."""
        sender = Sender(self, send, now=now, limit=limit, plan=plan, send_group=send_group)
        return send_together([sender], clock=clock)[0]

    # --- recovery, the dead letter and retention ------------------------------------------

    def late(self, *, now: datetime) -> int:
        """How many pending rows are more than a lease past their due time (a backlog, or
        senders down): for monitoring. Nothing to requeue: a row is due until it is sent."""
        return self.pending().filter(next_attempt_at__lte=now - lease()).count()

    def replay(self, pk: int, *, now: datetime) -> bool:
        """Staff put a dead row back in the queue (same id: a receiver that did get it
        after all deduplicates): due now, the next batch sends it. False when the row is
        not dead."""
        updated = self.model._default_manager.filter(pk=pk, status=DEAD).update(
            status=PENDING, attempts=0, next_attempt_at=now
        )
        return bool(updated)

    def prune(self, *, before: datetime, only: Q | None = None) -> int:
        """Delete the rows done before ``before`` (dead and pending rows are kept)."""
        done = self.model._default_manager.filter(
            status=self.done_status, **{f"{self.done_at_field}__lt": before}
        )
        if only is not None:
            done = done.filter(only)
        deleted, _ = done.delete()
        return deleted


@dataclass(frozen=True)
class Plan(Generic[Row]):
    """How a claimed batch is sent: ``groups`` of rows, each sent by one call, in order;
    ``held``: rows not sent now, given back due at the time given (row id → due time)."""

    groups: list[list[Row]]
    held: dict[int, datetime]


@dataclass(frozen=True)
class BatchResult:
    """What one batch did: rows claimed, how many ended in each status, and whether the
    batch was full (more rows may be due)."""

    claimed: int
    statuses: dict[str, int]
    full: bool


@dataclass
class Sender(Generic[Row]):
    """One outbox's batch in a worker round, in three steps (`send_together`): take (the
    claim), send (outside any transaction), finish (the record)."""

    outbox: Outbox[Row]
    send: Callable[[Row], Attempt]
    now: datetime
    limit: int = 100
    plan: Callable[[list[Row]], Plan[Row]] | None = None
    send_group: Callable[[list[Row]], Attempt] | None = None
    rows: list[Row] = field(default_factory=list)
    groups: list[list[Row]] = field(default_factory=list)
    held: dict[int, datetime] = field(default_factory=dict)
    results: list[tuple[Row, Attempt]] = field(default_factory=list)
    sent: int = 0

    @property
    def using(self) -> str:
        return str(router.db_for_write(self.outbox.model))

    def take(self) -> None:
        """Claim (inside the caller's transaction) and plan the groups."""
        self.rows = self.outbox.claim_batch(now=self.now, limit=self.limit)
        if not self.rows:
            return
        if self.plan is not None and self.send_group is not None:
            planned = self.plan(self.rows)
            self.groups, self.held = planned.groups, planned.held
        else:
            self.groups, self.held = [[row] for row in self.rows], {}

    def deliver(self, started: float, clock: Callable[[], float]) -> None:
        """Send the groups, outside any transaction, until half the lease has passed."""
        budget = lease().total_seconds() / 2
        for group in self.groups:
            if clock() - started > budget:
                break
            if self.send_group is not None and self.plan is not None:
                attempt = self.send_group(group)
                self.results.extend((row, attempt) for row in group)
            else:
                self.results.append((group[0], self.send(group[0])))
            self.sent += 1

    def finish(self) -> BatchResult:
        """Record the results and give back what was not sent (in the caller's
        transaction)."""
        if not self.rows:
            return BatchResult(0, {}, full=False)
        outbox, now = self.outbox, self.now
        statuses = outbox.record_batch(self.results, now=now)
        rest = [row.pk for group in self.groups[self.sent :] for row in group]
        if rest:
            outbox.pending().filter(pk__in=rest).update(
                next_attempt_at=now, attempts=F("attempts") - 1
            )
            statuses["released"] = len(rest)
        if self.held:
            by_due: dict[datetime, list[int]] = {}
            for pk, due in self.held.items():
                by_due.setdefault(due, []).append(pk)
            for due, pks in by_due.items():
                outbox.pending().filter(pk__in=pks).update(
                    next_attempt_at=due, attempts=F("attempts") - 1
                )
            statuses["held"] = len(self.held)
        return BatchResult(len(self.rows), statuses, full=len(self.rows) >= self.limit)


def send_together(
    senders: list[Sender[Any]], *, clock: Callable[[], float] = time.monotonic
) -> list[BatchResult]:
    """One worker round over several outboxes in two transactions (issue 10, ADR 0045):
    every outbox's claim (with the rows' and the plan's reads) commits together before
    anything is sent; then each sends outside any transaction; then every result is
    recorded in one transaction. Before, a round cost a claim, a read and a record per
    outbox, each a transaction of its own, and a round with nothing due two claims.

    A worker killed between the two leaves every claimed row leased: due again when the
    lease ends, sent again, deduplicated by the receiver — as with one outbox."""
    if not senders:
        return []
    using = senders[0].using
    with transaction.atomic(using=using):
        for sender in senders:
            sender.take()
    started = clock()
    for sender in senders:
        sender.deliver(started, clock)
    if not any(sender.rows for sender in senders):
        return [BatchResult(0, {}, full=False) for _ in senders]
    with transaction.atomic(using=using):
        return [sender.finish() for sender in senders]
