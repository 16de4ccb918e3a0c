"""Taking back work a lost worker held: one rule for every outbox (SMS, webhooks).

A row that is still pending long after its due time was lost with its task (a worker
killed mid-run). The sweep moves its due time to ``now`` by a conditional update and
queues it only if that update took: two workers sweeping at once queue it once, and a
queue running behind is not flooded with another copy of every late row each minute.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.db.models import QuerySet


def late_rows_requeue(
    pending: QuerySet[Any],
    *,
    late_before: datetime,
    now: datetime,
    enqueue: Callable[[int], object],
    limit: int = 500,
) -> int:
    """Queue again the ``pending`` rows due before ``late_before``; how many were queued."""
    stale = (
        pending.filter(next_attempt_at__lte=late_before)
        .order_by("next_attempt_at", "pk")
        .values_list("pk", "next_attempt_at")[:limit]
    )
    count = 0
    for pk, due in stale:
        if pending.filter(pk=pk, next_attempt_at=due).update(next_attempt_at=now):
            enqueue(pk)
            count += 1
    return count
