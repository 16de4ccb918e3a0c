"""A BMC issued in a region that hands its paper parts to the police joins its batch
(``ItemCompleted`` → ``HandoverEntry``), in the transaction of the completion. Registered
with the one handler table (``onestop.core.events``) when the app starts."""

from __future__ import annotations

from onestop.core.events import Phase, effects
from onestop.handover.services import handover_certificate_add
from onestop.workflow.events import ItemCompleted


@effects.register(
    ItemCompleted, phase=Phase.ISSUE, effect="the BMC's sub-page joins its hand-over batch"
)
def completed_certificate_batched(event: ItemCompleted) -> None:
    if event.row.item == "birth_certificate":
        # The event is the certificate's one completion (done is final): in no batch yet.
        handover_certificate_add(
            case=event.case,
            certificate=event.row,
            rows=event.rows,
            now=event.at,
            completed_now=True,
        )
