"""The events of corrections (更正, ADR 0042), recorded by `onestop.corrections.services`
after the change and its audit record; their effects are the handlers in ``effects.py``
and ``onestop.integration.effects`` (webhooks)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from onestop.accounts.models import User
from onestop.cases.models import Case
from onestop.core.events import Event
from onestop.corrections.models import Correction
from onestop.workflow.models import CaseItem


@dataclass(frozen=True, kw_only=True)
class CorrectionEvent(Event):
    case: Case
    correction: Correction
    row: CaseItem  # the item whose result is corrected
    at: datetime
    actor: User | None = None


@dataclass(frozen=True, kw_only=True)
class CorrectionRequested(CorrectionEvent):
    """A parent or an officer asked the issuing department to correct a field of a result."""

    name = "correction_requested"


@dataclass(frozen=True, kw_only=True)
class CorrectionRefused(CorrectionEvent):
    """The issuing department refused a correction, with a reason."""

    name = "correction_refused"


@dataclass(frozen=True, kw_only=True)
class ResultCorrected(CorrectionEvent):
    """The issuing department approved a correction: a corrected e-licence superseded the
    old one; ``downstream`` are the later items that used the old value."""

    name = "result_corrected"
    old_serial: str
    new_serial: str
    downstream: Sequence[CaseItem] = ()
