"""Case events for department systems: every item transition and case decision is recorded
here inside the transaction of the change, so webhooks to department systems are queued
atomically with it (outbox pattern, like the notifications).

`case_event` is the single entry point the services call.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any


def case_event(
    *,
    case: Any,
    kind: str,
    at: datetime,
    item: str = "",
    department: str = "",
    jurisdiction: tuple[str, str] | None = None,
    data: dict[str, Any] | None = None,
) -> None:
    """Record one event of ``case`` (call inside the change's transaction).

    ``kind`` is the event name (``item_became_ready`` = a new task for ``department`` in
    ``jurisdiction``; ``item_completed``; ``case_decided``; …). ``data`` must hold no
    personal data: codes, states and times only.
    """
    from onestop.integration.services import webhooks_queue

    webhooks_queue(
        case=case,
        kind=kind,
        at=at,
        item=item,
        department=department,
        jurisdiction=jurisdiction,
        data=data,
    )
