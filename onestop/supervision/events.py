"""The events of time-limit supervision (their effects: ``onestop.core.events``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from onestop.accounts.models import User
from onestop.cases.events import CaseEvent
from onestop.workflow.models import CaseItem


@dataclass(frozen=True, kw_only=True)
class ItemUrged(CaseEvent):
    """A parent urged an overdue item (催办); ``count`` urges of it so far."""

    name = "item_urged"
    row: CaseItem
    parent: User
    count: int
    urge_id: int


@dataclass(frozen=True, kw_only=True)
class ItemDeadlineReached(CaseEvent):
    """The deadline sweep found an item near its due time, overdue, or overdue long enough
    to escalate (``kind``: a ``DeadlineEvent.Kind``). ``recipients`` hear of it by work
    message, ``body``; ``line`` is the staff-only timeline line. The handlers add to
    ``queued`` how many messages they queued (the sweep's report)."""

    name = "item_deadline_reached"
    row: CaseItem
    kind: str
    due_at: datetime
    recipients: tuple[User, ...]
    body: str
    line: str
    queued: list[int] = field(default_factory=list)
