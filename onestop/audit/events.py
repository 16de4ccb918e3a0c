"""The events of the audit log (their effects: ``onestop.core.events``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from onestop.core.events import Event


@dataclass(frozen=True, kw_only=True)
class AuditChainBroken(Event):
    """The daily integrity check found the audit log changed: ``problems`` say where (no
    personal data: counts, case numbers and record numbers only); ``fingerprint`` names
    this set of problems, so the same break is told once a day."""

    name = "audit_chain_broken"
    at: datetime
    problems: tuple[str, ...]
    fingerprint: str
