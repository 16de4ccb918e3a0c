"""Webhooks to department systems for the case and item events, queued in the transaction
of the change (outbox: sent after commit by the worker). Registered with the one handler
table (``onestop.core.events``) when the integration app starts.

Which event is told as which webhook (``X-Onestop-Event``; the names are the API's
contract, ADR 0011): `WEBHOOK_OF`. Payloads hold codes, states and times only.
"""

from __future__ import annotations

from onestop.cases.events import CaseDecided
from onestop.core.events import Event, Phase, effects
from onestop.corrections import events as corrections
from onestop.integration.services import webhooks_queue
from onestop.workflow import events as ev

TASK_CREATED = "task.created"
TASK_UPDATED = "task.updated"
CASE_DECIDED = "case.decided"
CASE_COMPLETED = "case.completed"
CORRECTION_REQUESTED = "correction.requested"
RESULT_CORRECTED = "result.corrected"

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
    # Corrections (ADR 0042): the issuing department hears of a request; the departments
    # of the later items that used the old value hear of the corrected result.
    corrections.CorrectionRequested: CORRECTION_REQUESTED,
    corrections.ResultCorrected: RESULT_CORRECTED,
}
"""The events department systems hear of; the others (timeline-only notes, the submission
itself) have no webhook."""


# The changes an API client makes on the task it acts on (claim, complete, return,
# refuse): told to that client only if it keeps its echoes (``ApiClient.webhook_echo``;
# issue 10, session 28). What follows from them (the next items' task.created, the items a
# refusal cancelled) and every change by someone else is told as before.
ECHOES = (ev.ItemClaimed, ev.ItemCompleted, ev.ItemReturned, ev.ItemRefused)


def task_webhook(event: ev.ItemEvent) -> None:
    row = event.row
    actor = event.actor
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
        task=row,
        acted_by=actor.pk if actor is not None and isinstance(event, ECHOES) else None,
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


def _correction(event: corrections.CorrectionEvent) -> dict[str, object]:
    correction = event.correction
    return {
        "id": correction.pk,
        "item": event.row.item,
        "field": correction.field,
        "state": correction.state,
    }


@effects.register(
    corrections.CorrectionRequested, phase=Phase.PUBLISH, effect=f"webhook {CORRECTION_REQUESTED}"
)
def correction_requested_webhook(event: corrections.CorrectionRequested) -> None:
    row = event.row
    webhooks_queue(
        case=event.case,
        event=CORRECTION_REQUESTED,
        change=event.name,
        at=event.at,
        item=row.item,
        newborn=row.newborn,
        department=row.department,
        jurisdiction=(row.jurisdiction_kind, row.jurisdiction_code),
        data={"state": row.state, "version": row.version},
        extra={"correction": _correction(event)},
    )


@effects.register(
    corrections.ResultCorrected, phase=Phase.PUBLISH, effect=f"webhook {RESULT_CORRECTED}"
)
def result_corrected_webhook(event: corrections.ResultCorrected) -> None:
    """To each later item's department: the result it used was corrected (codes and
    serials only; the new value is read from the corrected e-licence)."""
    body = {
        "correction": _correction(event),
        "elicence": {"serial": event.new_serial, "replaces": event.old_serial},
    }
    for row in event.downstream:
        webhooks_queue(
            case=event.case,
            event=RESULT_CORRECTED,
            change=event.name,
            at=event.at,
            item=row.item,
            newborn=row.newborn,
            department=row.department,
            jurisdiction=(row.jurisdiction_kind, row.jurisdiction_code),
            data={"state": row.state, "version": row.version},
            extra=body,
        )
