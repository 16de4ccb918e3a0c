"""The e-licence an item's result becomes (``ItemCompleted`` → sealed ``ELicence``), in
the transaction of the completion. Registered with the one handler table
(``onestop.core.events``) when the certificates app starts."""

from __future__ import annotations

from onestop.certificates.services import elicence_issue
from onestop.core.events import Phase, effects
from onestop.workflow.events import ItemCompleted


@effects.register(ItemCompleted, phase=Phase.ISSUE, effect="issue the sealed e-licence")
def completed_elicence(event: ItemCompleted) -> None:
    elicence_issue(case=event.case, item=event.row, now=event.at)
