"""The events of a case's items (past tense), recorded by the workflow services after they
changed the rows, and the case's completion.

The item events mirror the pure core's (``workflow.domain``), with what their effects need:
the case, the row, the case's rows as the service holds them (an automatic step changes
those same rows), and the state and version the change left (what the webhook tells).
Their effects are the handlers registered in ``onestop.core.events``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from onestop.accounts.models import User
from onestop.cases.events import CaseEvent
from onestop.cases.models import Case
from onestop.core.events import Event
from onestop.workflow.domain.outcome import OutcomeNotice
from onestop.workflow.models import (
    CardProduction,
    CaseItem,
    ConfirmationRequest,
    PaymentNotice,
    PreviewConfirmation,
)


@dataclass(frozen=True, kw_only=True)
class ItemEvent(Event):
    case: Case
    row: CaseItem
    rows: Mapping[str, CaseItem]
    at: datetime
    state: str
    version: int
    actor: User | None = None


@dataclass(frozen=True, kw_only=True)
class ItemBecameReady(ItemEvent):
    """Every prerequisite is done: the item went to its department and its clock started."""

    name = "item_became_ready"


@dataclass(frozen=True, kw_only=True)
class ItemClaimed(ItemEvent):
    """An officer or a department system took the item."""

    name = "item_claimed"


@dataclass(frozen=True, kw_only=True)
class ItemCompleted(ItemEvent):
    """The department (or the platform, for an automatic step) issued the result."""

    name = "item_completed"
    automatic_reason: str = ""  # why no person was needed (免申即享, 秒批), else ""
    same_visit: bool = False  # completed at the counter while the parents wait (当场办理)


@dataclass(frozen=True, kw_only=True)
class ItemReturned(ItemEvent):
    """Returned to the applicant for a supplement; the clock paused."""

    name = "item_returned"
    reasons: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class ItemResumed(ItemEvent):
    """The supplement arrived; the item is back where it was and its clock runs again."""

    name = "item_resumed"


@dataclass(frozen=True, kw_only=True)
class ItemRefused(ItemEvent):
    """The department refused the item (转线下办理); ``cancelled`` stopped with it."""

    name = "item_refused"
    reasons: tuple[str, ...] = ()
    cancelled: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class ItemCancelled(ItemEvent):
    """Stopped because a prerequisite (``because``) was refused."""

    name = "item_cancelled"
    because: str = ""


@dataclass(frozen=True, kw_only=True)
class ItemDueProvisional(ItemEvent):
    """The item's due time was counted on weekends only: the working-day table ends
    before it (暂按双休日计算)."""

    name = "item_due_provisional"
    first_year: int
    last_year: int


@dataclass(frozen=True, kw_only=True)
class ItemDueRecomputed(ItemEvent):
    """A provisional due time was recomputed with the calendar in force."""

    name = "item_due_recomputed"
    due_text: str
    provisional: bool


@dataclass(frozen=True, kw_only=True)
class ItemInstantDeclined(ItemEvent):
    """秒批 did not verify the item: it stays with the officers."""

    name = "item_instant_declined"
    reason: str


@dataclass(frozen=True, kw_only=True)
class ResultHandedOver(ItemEvent):
    """The item's result was printed and handed over at the counter (当场交付)."""

    name = "result_handed_over"
    result_name: str
    recipient_label: str  # who received it, masked (受托人 向**)
    counter_name: str


@dataclass(frozen=True, kw_only=True)
class CaseCompleted(CaseEvent):
    """Every item of the case is finished (done, refused or cancelled)."""

    name = "case_completed"
    outcome: str
    notice: OutcomeNotice


# --- the medical-insurance payment notice (docs/adr/0031) ---------------------------------


@dataclass(frozen=True, kw_only=True)
class PaymentNoticeIssued(ItemEvent):
    """The parents were sent the payment notice: channels, amount and deadline."""

    name = "payment_notice_issued"
    notice: PaymentNotice


@dataclass(frozen=True, kw_only=True)
class PaymentReminded(ItemEvent):
    """An unpaid notice's reminder, ``days_before`` the deadline, was sent."""

    name = "payment_reminded"
    notice: PaymentNotice
    days_before: int


@dataclass(frozen=True, kw_only=True)
class PaymentOverdue(ItemEvent):
    """The deadline passed without a confirmed payment."""

    name = "payment_overdue"
    notice: PaymentNotice


@dataclass(frozen=True, kw_only=True)
class PaymentConfirmed(ItemEvent):
    """The tax department confirmed the payment (reference, amount, time paid)."""

    name = "payment_confirmed"
    notice: PaymentNotice


@dataclass(frozen=True, kw_only=True)
class InsuranceCodeActivated(ItemEvent):
    """The parents (or the system) recorded the medical-insurance code as activated."""

    name = "insurance_code_activated"
    notice: PaymentNotice


@dataclass(frozen=True, kw_only=True)
class ConfirmationRequested(CaseEvent):
    """The other parent was asked to confirm by SMS link (or reminded, with a new link);
    the request's items wait. ``token`` is the link's secret: only in this event (for the
    SMS), never stored in clear."""

    name = "confirmation_requested"
    request: ConfirmationRequest
    token: str
    reminder: bool = False


@dataclass(frozen=True, kw_only=True)
class ConfirmationDecided(CaseEvent):
    """The other parent confirmed or refused, or the link expired unanswered (``outcome``:
    confirmed / refused / expired); the waiting items went on or were refused."""

    name = "confirmation_decided"
    request: ConfirmationRequest
    outcome: str
    actor: User | None = None


@dataclass(frozen=True, kw_only=True)
class PreviewRequested(CaseEvent):
    """The previews were generated and the item waits for the applicant's e-signature
    (ADR 0035)."""

    name = "preview_requested"
    preview: PreviewConfirmation


@dataclass(frozen=True, kw_only=True)
class PreviewReminded(CaseEvent):
    """The previews have waited unsigned for a day: the applicant is reminded once (job
    ``preview_reminders``; ADR 0035)."""

    name = "preview_reminded"
    preview: PreviewConfirmation


@dataclass(frozen=True, kw_only=True)
class PreviewDecided(CaseEvent):
    """The applicant confirmed the previews with an e-signature (the item went to its
    department) or asked for a correction (the item was refused: 转线下办理); ``outcome``:
    confirmed / correction."""

    name = "preview_decided"
    preview: PreviewConfirmation
    outcome: str
    actor: User | None = None


@dataclass(frozen=True, kw_only=True)
class CardStatusReported(ItemEvent):
    """The HR department reported how far the social security card has come (制卡中, 已制卡,
    已送达网点, 已寄出; docs/adr/0037)."""

    name = "card_status_reported"
    card: CardProduction
    status: str
