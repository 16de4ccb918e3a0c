"""The events of ratings (好差评) and their follow-ups (their effects: ``effects.py``)."""

from __future__ import annotations

from dataclasses import dataclass

from onestop.accounts.models import User
from onestop.cases.events import CaseEvent
from onestop.ratings.models import FollowUp, Rating


@dataclass(frozen=True, kw_only=True)
class CaseRated(CaseEvent):
    """The parents rated the case (the whole service and/or steps), online or at the
    counter; ``ratings`` are the new rows."""

    name = "case_rated"
    ratings: tuple[Rating, ...]
    actor: User | None = None


@dataclass(frozen=True, kw_only=True)
class FollowUpOpened(CaseEvent):
    """A bad rating opened a follow-up (整改) for the responsible department."""

    name = "follow_up_opened"
    follow_up: FollowUp


@dataclass(frozen=True, kw_only=True)
class FollowUpReplied(CaseEvent):
    """The responsible department (or the supervisors) replied to the parent."""

    name = "follow_up_replied"
    follow_up: FollowUp
    actor: User | None = None


@dataclass(frozen=True, kw_only=True)
class FollowUpConfirmed(CaseEvent):
    """The parent accepted the reply: the follow-up is closed."""

    name = "follow_up_confirmed"
    follow_up: FollowUp
    actor: User | None = None


@dataclass(frozen=True, kw_only=True)
class FollowUpReopened(CaseEvent):
    """The parent complained again: the follow-up is open again with a new due time."""

    name = "follow_up_reopened"
    follow_up: FollowUp
    actor: User | None = None


@dataclass(frozen=True, kw_only=True)
class FollowUpClosedSilently(CaseEvent):
    """The parent neither confirmed nor complained again within the setting's working days
    after the reply: closed as 逾期未确认，视为认可 (job ``follow_ups_silence``)."""

    name = "follow_up_closed_silently"
    follow_up: FollowUp
    days: int
