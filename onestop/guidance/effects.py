"""A case's parenting-guidance item done (by the health officer, the department's system
or automatically) registers the family for guidance (``ItemCompleted`` →
``GuidanceRegistration``), in the transaction of the completion (ADR 0040)."""

from __future__ import annotations

from onestop.core.events import Phase, effects
from onestop.guidance.services import ITEM, guidance_register
from onestop.workflow.events import ItemCompleted


@effects.register(
    ItemCompleted, phase=Phase.ISSUE, effect="the family is registered for parenting guidance"
)
def completed_guidance_registered(event: ItemCompleted) -> None:
    if event.row.item == ITEM:
        # The case's only guidance item, just done: no registration yet (one per case).
        only = sum(1 for row in event.rows.values() if row.item == ITEM) == 1
        guidance_register(
            case=event.case,
            row=event.row,
            now=event.at,
            automatic=bool(event.automatic_reason),
            completed_now=only,
        )
