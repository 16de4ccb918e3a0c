"""Webhooks to department systems for the case and item events, queued in the transaction
of the change (outbox: sent after commit by the worker). Registered with the one handler
table (``onestop.core.events``) when the integration app starts.

Which event is told as which webhook (``X-Onestop-Event``; the names are the API's
contract, ADR 0011): `WEBHOOK_OF`. Payloads hold codes, states and times only.
"""

from __future__ import annotations

from onestop.cases.events import CaseDecided
from onestop.core.events import Event, Phase, effects
from onestop.integration.services import webhooks_queue
from onestop.workflow import events as ev

TASK_CREATED = "task.created"
TASK_UPDATED = "task.updated"
CASE_DECIDED = "case.decided"
CASE_COMPLETED = "case.completed"

WEBHOOK_OF: dict[type[Event], str] = {
    ev.ItemBecameReady: TASK_CREATED,  # a new task for the item's department and jurisdiction
    ev.ItemClaimed: TASK_UPDATED,
    ev.ItemCompleted: TASK_UPDATED,
    ev.ItemReturned: TASK_UPDATED,
    ev.ItemResumed: TASK_UPDATED,
    ev.ItemRefused: TASK_UPDATED,
    ev.ItemCancelled: TASK_UPDATED,
    CaseDecided: CASE_DECIDED,  # to the system that submitted the case, also after a supplement
    ev.CaseCompleted: CASE_COMPLETED,
}
"""The events department systems hear of; the others (timeline-only notes, the submission
itself) have no webhook."""


def task_webhook(event: ev.ItemEvent) -> None:
    row = event.row
    webhooks_queue(
        case=event.case,
        event=WEBHOOK_OF[type(event)],
        change=event.name,
        at=event.at,
        item=row.item,
        newborn=row.newborn,
        department=row.department,
        jurisdiction=(row.jurisdiction_kind, row.jurisdiction_code),
        data={"state": event.state, "version": event.version},
    )


for _type, _webhook in WEBHOOK_OF.items():
    if issubclass(_type, ev.ItemEvent):
        effects.register(_type, phase=Phase.PUBLISH, effect=f"webhook {_webhook}")(task_webhook)


@effects.register(CaseDecided, phase=Phase.PUBLISH, effect=f"webhook {CASE_DECIDED}")
def decided_webhook(event: CaseDecided) -> None:
    case = event.case
    webhooks_queue(
        case=case,
        event=CASE_DECIDED,
        change=event.name,
        at=event.at,
        data={"decision": event.decision.outcome.value, "region": case.region},
    )


@effects.register(ev.CaseCompleted, phase=Phase.PUBLISH, effect=f"webhook {CASE_COMPLETED}")
def completed_webhook(event: ev.CaseCompleted) -> None:
    case = event.case
    webhooks_queue(
        case=case,
        event=CASE_COMPLETED,
        change=event.name,
        at=event.at,
        data={"status": case.status, "outcome": event.outcome},
    )
