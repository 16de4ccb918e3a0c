"""The e-licence an item's result becomes (``ItemCompleted`` → sealed ``ELicence``), in
the transaction of the completion. Registered with the one handler table
(``onestop.core.events``) when the certificates app starts."""

from __future__ import annotations

from onestop.certificates.models import ELicence
from onestop.certificates.services import elicence_issue
from onestop.core.events import Phase, effects
from onestop.workflow.events import ItemCompleted
from onestop.workflow.models import CaseItem

# The licence a completion issued, kept on the completed row it returns (issue 10 part 2):
# the API's answer shows the serial of the done task's licence in force, and that is this
# one — issued in the same transaction, superseded by nothing since — so a reader may take
# it from here instead of asking the database (`issued_with`).
_ISSUED = "_onestop_licence_issued"


def issued_with(row: CaseItem) -> ELicence | None:
    """The e-licence the completion that returned ``row`` issued, else None (a row read
    from the database, or completed without a licence: ask the database)."""
    found: ELicence | None = getattr(row, _ISSUED, None)
    return found


@effects.register(ItemCompleted, phase=Phase.ISSUE, effect="issue the sealed e-licence")
def completed_elicence(event: ItemCompleted) -> None:
    licence = elicence_issue(case=event.case, item=event.row, now=event.at)
    setattr(event.row, _ISSUED, licence)
