"""The events of the parents' portal (their effects: ``onestop.core.events``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from onestop.core.events import Event


@dataclass(frozen=True, kw_only=True)
class MotherInvited(Event):
    """A hospital's delivery record prepared the mother's draft; she is invited to finish
    it online (proactive start, ADR 0033). ``phone`` is hers; the link holds no personal
    data."""

    name = "mother_invited"
    invitation_id: int
    phone: str
    region: str
    region_name: str
    expires_at: datetime
    at: datetime

    def __repr__(self) -> str:  # never the phone in a log or a traceback
        return f"MotherInvited(invitation_id={self.invitation_id}, region={self.region})"
