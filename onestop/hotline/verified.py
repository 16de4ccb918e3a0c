"""Which cases the operator has verified a caller for in this session (issue 12 gap 2): a
granted lookup (``lookup_case``) is remembered in the operator's session for
``HOTLINE_VERIFIED_MINUTES``; only then may the operator record that caller's rating
(``ratings.views.hotline_rate``). Nothing else reads it."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.http import HttpRequest

from onestop.core.clock import parse_time

SESSION_KEY = "hotline_verified"


def _minutes() -> int:
    return int(settings.HOTLINE_VERIFIED_MINUTES)


def verified_remember(request: HttpRequest, number: str, now: datetime) -> None:
    """A caller was verified for ``number`` now (kept until the window closes)."""
    found = {
        n: at for n, at in dict(request.session.get(SESSION_KEY) or {}).items() if _fresh(at, now)
    }
    found[number] = now.isoformat()
    request.session[SESSION_KEY] = found


def _fresh(at: object, now: datetime) -> bool:
    try:
        when = parse_time(str(at))
    except ValueError:
        return False
    return timedelta(0) <= now - when <= timedelta(minutes=_minutes())


def verified_for(request: HttpRequest, number: str, now: datetime) -> bool:
    """Did a lookup in this session verify a caller for ``number`` within the window?"""
    found = dict(request.session.get(SESSION_KEY) or {})
    return number in found and _fresh(found[number], now)
