"""The events of sign-in (their effects: ``onestop.core.events``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from onestop.core.events import Event


@dataclass(frozen=True, kw_only=True)
class OneTimeCodeIssued(Event):
    """A parent asked for a sign-in code and one was issued for ``phone`` (the
    notifications app sends it by SMS, after commit)."""

    name = "one_time_code_issued"
    phone: str
    phone_index: str
    code: str
    at: datetime

    def __repr__(self) -> str:  # never the code in a log or a traceback
        return f"OneTimeCodeIssued(phone_index={self.phone_index[:8]}…, at={self.at})"
