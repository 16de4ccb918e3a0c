"""Rate limits (issue 8): one check, one exception, one 429 answer.

Counters live in the shared cache (``CACHES["default"]``: the database table by default,
Redis with ``ONESTOP_CACHE_URL``) so every gunicorn worker counts the same requests. The
counting is django-ratelimit's (fixed windows with a per-key offset); the limits are the
``RATE_LIMITS`` setting ("count/period"). ``RateLimited`` becomes HTTP 429 with
``Retry-After`` (``onestop.common.httpguard``): a Chinese page for people, JSON
``{"code": "rate_limited"}`` under /api/.

Never call ``rate_check`` inside ``transaction.atomic`` together with the raise it leads
to: the counter would roll back with the transaction (the database cache shares it).
"""

from __future__ import annotations

from django.conf import settings
from django_ratelimit.core import get_usage

from onestop.core.errors import OnestopError


class RateLimited(OnestopError):
    code = "rate_limited"

    def __init__(self, retry_after: int, message: str = "") -> None:
        super().__init__(message or "操作过于频繁，请稍后再试")
        self.retry_after = max(1, int(retry_after))


def rate_check(limit: str, key: str, *, message: str = "", rate: str | None = None) -> None:
    """Count one use of ``limit`` (a name in ``RATE_LIMITS``) by ``key``; raise
    ``RateLimited`` with the seconds until the window ends once it is exceeded. Usable from
    services too: the key says who is counted, no request is needed."""
    rate = rate or settings.RATE_LIMITS.get(limit)
    if not rate:
        return
    usage = get_usage(
        None,
        group=f"onestop.{limit}",
        key=lambda _group, _request: key,
        rate=rate,
        increment=True,
    )
    if usage is not None and usage["should_limit"]:
        time_left = usage["time_left"]
        raise RateLimited(time_left if time_left > 0 else 60, message)
