"""Rate limits (issue 8): one check, one exception, one 429 answer.

The limits are the ``RATE_LIMITS`` setting ("count/period"), counted in fixed windows
with a per-key offset, shared by every process:

- **embedded default (the database)**: one row per counted key in ``onestop_rate_counter``
  (``onestop.ops.models.RateCounter``), counted with ONE statement —
  ``INSERT … ON CONFLICT DO UPDATE … RETURNING hits`` — that starts a new window or adds
  to the current one (ADR 0024; before: django-ratelimit on the database cache, a cull
  count, a get and an add or a transaction of get + update: five statements and up to
  four transactions per check);
- **with Redis** (``ONESTOP_CACHE_URL=redis://…``): django-ratelimit on the shared cache,
  as before (an atomic INCR, no database).

``RateLimited`` becomes HTTP 429 with ``Retry-After`` (``onestop.common.httpguard``): a
Chinese page for people, JSON ``{"code": "rate_limited"}`` under /api/.

A counter must survive the error it leads to: never count inside a
``transaction.atomic`` block that the 429 (or any other raise) rolls back. The API does
its whole request in one transaction: it looks at the counter first
(``rate_peek``) and counts (``rate_count``) in an outer block that commits even when the
request fails (``onestop.integration.api``), so a failing request is counted as well.
"""

from __future__ import annotations

import time
import zlib
from dataclasses import dataclass, replace
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import BigIntegerField, CharField, Expression, F, Func, IntegerField, Value
from django.db.models.functions import Cast
from django_ratelimit.core import get_usage

from onestop.core.errors import OnestopError

TABLE = "onestop_rate_counter"
_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


class RateLimited(OnestopError):
    code = "rate_limited"

    def __init__(self, retry_after: int, message: str = "") -> None:
        super().__init__(message or "操作过于频繁，请稍后再试")
        self.retry_after = max(1, int(retry_after))


@dataclass(frozen=True)
class Window:
    name: str  # the counted name: limit and key
    limit: int  # uses allowed per window
    bucket: int  # the window's number
    time_left: int  # seconds until it ends


def _parse(rate: str) -> tuple[int, int]:
    count, _, period = rate.partition("/")
    unit = period[-1:] if period[-1:] in _PERIODS else "s"
    multiple = period[:-1] if period[-1:] in _PERIODS else period
    return int(count), int(multiple or 1) * _PERIODS[unit]


def _window(limit: str, key: str, rate: str, now: float | None = None) -> Window:
    count, period = _parse(rate)
    name = f"{limit}:{key}"[:200]
    # A per-key offset spreads the windows' ends (as django-ratelimit does).
    shifted = int(now if now is not None else time.time()) + zlib.crc32(name.encode()) % period
    return Window(name, count, shifted // period, period - shifted % period)


def rate_allowance(limit: str) -> int | None:
    """The uses ``limit`` allows in one window (None: not limited)."""
    rate = _rate(limit, None)
    return _parse(rate)[0] if rate else None


def _database_counts() -> bool:
    backend = str(settings.CACHES[settings.RATELIMIT_USE_CACHE]["BACKEND"])
    return backend.endswith("DatabaseCache")


def _rate(limit: str, rate: str | None) -> str | None:
    return rate or settings.RATE_LIMITS.get(limit)


# Add hits to a window's counter (a new window starts from them).
_COUNT = (
    f"INSERT INTO {TABLE} (name, bucket, hits) VALUES (%s, %s, %s) "
    "ON CONFLICT (name) DO UPDATE SET "
    f"hits = CASE WHEN {TABLE}.bucket = excluded.bucket "
    f"THEN {TABLE}.hits + excluded.hits ELSE excluded.hits END, "
    "bucket = excluded.bucket"
)


def _count(window: Window, hits: int = 1) -> int:
    """Add ``hits`` to the window's counter (a new window starts from them): one
    statement; the hits in the window after it."""
    with connection.cursor() as cursor:
        cursor.execute(f"{_COUNT} RETURNING hits", [window.name, window.bucket, hits])
        return int(cursor.fetchone()[0])


def rate_check(limit: str, key: str, *, message: str = "", rate: str | None = None) -> None:
    """Count one use of ``limit`` (a name in ``RATE_LIMITS``) by ``key``; raise
    ``RateLimited`` with the seconds until the window ends once it is exceeded. Usable from
    services too: the key says who is counted, no request is needed."""
    rate = _rate(limit, rate)
    if not rate:
        return
    if _database_counts():
        window = _window(limit, key, rate)
        if _count(window) > window.limit:
            raise RateLimited(window.time_left, message)
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


@dataclass(frozen=True)
class Pending:
    """A use looked at but not yet counted (``rate_peek``): ``rate_count`` counts it."""

    window: Window | None
    limit: str
    key: str
    rate: str
    used: int = 0  # the uses counted in the window when it was looked at
    uses: int = 1  # the uses ``rate_count`` counts: more than one for a batch (`rate_uses`)


def rate_peeks_database(limit: str) -> bool:
    """Whether `rate_peek` of ``limit`` reads the database's counter (a limit set, counted
    in the database): a caller reading `counter_columns` for it only then."""
    return bool(_rate(limit, None)) and _database_counts()


class _Counter(Func):
    """One column of the counter whose name is an expression of another statement's row
    (a scalar subquery on the counter's primary key)."""

    arity = 2  # the name's prefix and the key, joined
    arg_joiner = " || "
    template = f"(SELECT %(column)s FROM {TABLE} WHERE name = %(expressions)s)"


def counter_columns(limit: str, key_prefix: str, key: Expression | F) -> dict[str, Func]:
    """The window and the hits of the counter of ``limit`` for the key ``key_prefix`` +
    ``key`` (an expression of the row, e.g. a client's id, as text) — as two columns of a
    statement the caller makes anyway (issue 10: the API reads them with the client's
    authentication), for ``rate_peek(seen=…)``. The name is `_window`'s: limit, key."""
    name = (Value(f"{limit}:{key_prefix}"), Cast(key, output_field=CharField()))
    return {
        "rate_bucket": _Counter(*name, column="bucket", output_field=BigIntegerField()),
        "rate_hits": _Counter(*name, column="hits", output_field=IntegerField()),
    }


def rate_peek(
    limit: str,
    key: str,
    *,
    message: str = "",
    rate: str | None = None,
    seen: tuple[int | None, int | None] | None = None,
) -> Pending | None:
    """Raise ``RateLimited`` if ``key`` has used up ``limit`` in the current window, without
    counting this use: the caller counts it with ``rate_count`` at the end of its
    transaction, so the counter's row is locked only for the commit (requests of one
    client do not queue on it). Concurrent requests may each pass the look and overshoot
    the limit by at most their number, as any counter read before it is written. With
    Redis, this counts at once (``rate_check``) and returns None.

    ``seen``: the counter's window and hits (None, None where it has no row) as the caller
    read them in its transaction (`counter_columns`); else they are read here."""
    rate = _rate(limit, rate)
    if not rate:
        return None
    if not _database_counts():
        rate_check(limit, key, message=message, rate=rate)
        return None
    window = _window(limit, key, rate)
    row: tuple[int | None, int | None] | None
    if seen is not None and window.name == f"{limit}:{key}":  # (not cut at 200 characters)
        row = seen if seen[0] is not None else None
    else:
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT bucket, hits FROM {TABLE} WHERE name = %s", [window.name])
            row = cursor.fetchone()
    used = (row[1] or 0) if row is not None and row[0] == window.bucket else 0
    pending = Pending(window, limit, key, rate, used)
    if used >= window.limit:
        rate_count(pending)  # a refused use counts too
        raise RateLimited(window.time_left, message)
    return pending


def rate_count(pending: Pending | None) -> None:
    """Count the use ``rate_peek`` looked at (one statement)."""
    if pending is not None and pending.window is not None:
        # The window may have ended while the request ran: count it in the current one.
        _count(_window(pending.limit, pending.key, pending.rate), pending.uses)


# A use counted already, in its transaction, by another statement (`rate_count_sql`):
# `rate_count` has nothing left to count.
COUNTED = Pending(None, "", "", "")


def rate_count_sql(pending: Pending | None) -> tuple[str, list[Any]] | None:
    """`rate_count`'s statement for the use ``pending`` (its ``INSERT … ON CONFLICT``,
    no ``RETURNING``) and its parameters, for a caller that sends it as a ``WITH`` of a
    statement of its own in the same transaction (issue 10, session 29: the API counts a
    keyed write with the write's stored answer, one statement less); the caller then
    passes `COUNTED` to `rate_count` instead. None: nothing to count here."""
    if pending is None or pending.window is None:
        return None
    window = _window(pending.limit, pending.key, pending.rate)
    return _COUNT, [window.name, window.bucket, pending.uses]


def rate_uses(
    pending: Pending | None, uses: int, *, limit: str, key: str, message: str = ""
) -> Pending | None:
    """A request that counts as ``uses`` uses of ``limit`` by ``key`` (a batch of the API:
    one per task), ``pending`` its look (`rate_peek`, which let one use through): raise
    ``RateLimited`` where the window has not ``uses`` left — the request then counted once,
    as a refused request is — else the pending use to count at the end, ``uses`` of them.
    Where `rate_peek` counted at once (Redis), the other uses are counted here."""
    if uses <= 1:
        return pending
    if pending is None:
        rate = _rate(limit, None)
        if rate:
            # The shared cache (Redis): `rate_peek` counted the first use; the batch is
            # refused when the rest do not fit, without counting them (as the database's
            # counter refuses it: one use), not counted one by one up to the limit — a
            # refused batch used up the rest of the client's window (session 26's review).
            usage = get_usage(
                None, group=f"onestop.{limit}", key=lambda _g, _r: key, rate=rate, increment=False
            )
            if usage is not None and usage["count"] + uses - 1 > usage["limit"]:
                time_left = usage["time_left"]
                raise RateLimited(time_left if time_left > 0 else 60, message)
        for _ in range(uses - 1):
            rate_check(limit, key, message=message)
        return None
    if pending.window is not None and pending.used + uses > pending.window.limit:
        raise RateLimited(pending.window.time_left, message)
    return replace(pending, uses=uses)
