"""The events of a case as a whole (past tense), recorded by the case and workflow services.

Their effects (timeline, messages, webhooks, the items an accepted case starts) are the
handlers registered in ``onestop.core.events``; see `handlers_table`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from onestop.accounts.models import User
from onestop.cases.models import Case
from onestop.core.events import Event
from onestop.eligibility.prereview import Decision


@dataclass(frozen=True)
class Office:
    """Who works an item: the jurisdiction (hospital, police station or division) and the
    division it lies in."""

    kind: str
    code: str
    division: str


@dataclass(frozen=True, kw_only=True)
class CaseEvent(Event):
    case: Case
    at: datetime


@dataclass(frozen=True, kw_only=True)
class CaseSubmitted(CaseEvent):
    """A case was submitted online, at a counter or by a hospital system."""

    name = "case_submitted"
    actor: User | None = None
    at_counter: bool = False


@dataclass(frozen=True, kw_only=True)
class CaseDecided(CaseEvent):
    """Pre-review decided a case (accept / supplement / reject), on submission or again
    after a supplement. An accepted case carries the office of each planned item."""

    name = "case_decided"
    decision: Decision
    supplemented: bool = False
    offices: Mapping[str, Office] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class CaseSupplemented(CaseEvent):
    """The applicant supplemented a case: a corrected document for pre-review, or the
    materials that returned items asked for (``items_waiting``)."""

    name = "case_supplemented"
    actor: User | None = None
    items_waiting: bool = False
