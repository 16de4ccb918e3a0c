"""The medical-insurance payment notice, pure: the amount check of a tax system's
confirmation, which reminder is due, and how amounts read (docs/adr/0031)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation


def amount_text(amount: Decimal) -> str:
    """An amount in yuan as people write it: 400 → "400", 400.5 → "400.50"."""
    if amount == amount.to_integral_value():
        return str(amount.quantize(Decimal(1)))
    return str(amount.quantize(Decimal("0.01")))


def parse_amount(text: str) -> Decimal | None:
    try:
        value = Decimal(text.strip())
    except (InvalidOperation, AttributeError):
        return None
    return value if value.is_finite() else None


@dataclass(frozen=True)
class AmountProblem:
    field: str
    message: str
    code: str = "payment_amount_mismatch"


def amount_problem(expected: Decimal | None, paid: str) -> AmountProblem | None:
    """Why a confirmed amount cannot be this notice's payment (None: it can, or the notice
    has no amount to compare with)."""
    if expected is None:
        return None
    value = parse_amount(paid)
    if value is None or value != expected:
        return AmountProblem(
            "amount_yuan",
            f"缴费金额（{paid}元）与缴费通知的应缴金额（{amount_text(expected)}元）不一致，"
            "请核对后重新确认",
        )
    return None


@dataclass(frozen=True)
class ReminderDue:
    """The reminder to send now (``days_before``), and every scheduled reminder it stands
    for (one that came due while the job was not running is not sent late on its own)."""

    days_before: int
    covers: tuple[int, ...]


def reminder_due(
    deadline: datetime, schedule: Sequence[int], sent: Sequence[int], now: datetime
) -> ReminderDue | None:
    """The reminder due at ``now`` before ``deadline``, each scheduled one sent once: of
    those whose time has come and that were not sent, the nearest to the deadline; none
    once the deadline has passed."""
    if now >= deadline:
        return None
    come = sorted(d for d in set(schedule) if d not in sent and now >= deadline - timedelta(days=d))
    if not come:
        return None
    return ReminderDue(days_before=come[0], covers=tuple(come))
