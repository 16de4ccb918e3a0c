"""Pages validated by a stamp of what they show (issue 10 part 3, ADR 0026 amendment).

A parent re-reads the same page every few seconds while nothing changed. A page decorated
with `revalidated(stamp)` first runs ``stamp(request, ...)``: ONE statement that returns the
raw rows the page is built from (every column of every row, as text, encrypted columns as
their ciphertext: nothing is decrypted) plus the time-dependent flags (an item past its due
time). The ETag is the SHA-256 of those rows, the person, the language, the Beijing day,
the current window of ``ONESTOP_PAGE_CACHE_SECONDS`` (what the stamp does not read shows
within it), the CSRF secret (the page's forms carry a token of it), the path and
`PAGE_STAMP_VERSION`. Then:

- ``If-None-Match`` with that ETag: 304, nothing rendered;
- the same person asked for the same path with the same ETag before, in this process:
  the rendered body from `PAGE_CACHE` (per process memory only, bounded LRU + TTL,
  keyed by the user's id and the path: never shared between people);
- else the view runs as before and its 200 is kept under that key.

No stamp (``None``: not a parent, no such case for them, no CSRF cookie yet) or a flash
message waiting: the view runs as before, nothing kept. The stamp never grants access:
a case the person may not see gives no rows, so the view refuses it as it always did.

The rows are read with one `UNION ALL` of plain SQL built once per process from the
models (`row_text_sql`): a column added to a model is in the stamp without a change here.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Sequence
from functools import wraps
from typing import Any

from django.conf import settings
from django.db import connection, models
from django.http import HttpRequest, HttpResponse, HttpResponseBase, HttpResponseNotModified
from django.utils import timezone
from django.utils.http import parse_etags
from django.utils.translation import get_language

from onestop.common.kept import Kept

# Raise when the templates change what they show from the same rows (a deploy also
# restarts the processes, which empties `PAGE_CACHE`; the number keeps browsers' copies out).
PAGE_STAMP_VERSION = "1"
BEIJING = timezone.get_fixed_timezone(8 * 60)


def row_text_sql(model: type[models.Model], where: str, label: str) -> str:
    """``SELECT '<label>|' || <the row as text> FROM <table> WHERE <where>``: one text per
    row, every column, NULL told apart from ''. PostgreSQL: the row's own text form (a
    whole-row cast: cheap to plan); elsewhere (SQLite, the tests) column by column."""
    qn = connection.ops.quote_name
    table = qn(model._meta.db_table)
    if connection.vendor == "postgresql":
        return f"SELECT '{label}|' || CAST(r AS TEXT) AS s FROM {table} AS r WHERE {where}"
    names = [qn(str(f.column)) for f in model._meta.concrete_fields]
    columns = [f"(CASE WHEN {c} IS NULL THEN 'N' ELSE 'V' || CAST({c} AS TEXT) END)" for c in names]
    return (
        f"SELECT '{label}|' || " + " || '|' || ".join(columns) + f" AS s FROM {table} WHERE {where}"
    )


def stamp_rows(sql: str, params: Sequence[Any]) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return sorted(str(row[0]) for row in cursor.fetchall())


# Rendered bodies (and their content type) in this process's memory: bounded LRU with a
# lifetime (`kept.Kept`). Thread-safe (gunicorn threads).
PAGE_SECONDS = float(getattr(settings, "ONESTOP_PAGE_CACHE_SECONDS", 300))
PAGE_CACHE: Kept[tuple[Any, ...], tuple[bytes, str]] = Kept(
    size=int(getattr(settings, "ONESTOP_PAGE_CACHE_ENTRIES", 10000)), ttl=PAGE_SECONDS
)


def _flash_waiting(request: HttpRequest) -> bool:
    storage = getattr(request, "_messages", None)
    return storage is not None and len(storage) > 0


def page_etag(request: HttpRequest, rows: Sequence[str]) -> str | None:
    secret = request.META.get("CSRF_COOKIE")
    if not secret:  # the page would set the CSRF cookie: render it
        return None
    digest = hashlib.sha256()
    for part in (
        PAGE_STAMP_VERSION,
        str(getattr(request.user, "pk", "")),
        get_language() or "",
        timezone.now().astimezone(BEIJING).date().isoformat(),
        # The window: what the stamp does not see (reference data, the calendar, a deploy)
        # shows within PAGE_SECONDS seconds, and no ETag outlives it.
        str(int(time.time() // max(PAGE_SECONDS, 1))),
        str(secret),
        request.get_full_path(),
        *rows,
    ):
        digest.update(part.encode())
        digest.update(b"\0")
    return f'"{digest.hexdigest()[:40]}"'


Stamp = Callable[..., "list[str] | None"]

# The stamp's rows, kept on the request for the view (`stamp_rows_of`).
_ROWS_ATTR = "onestop_stamp_rows"
# On a model instance (a case): the labels of the models of which the stamp read no row
# hanging off it (`mark_without_rows`, `stamp_read_none`).
_NONE_ATTR = "_onestop_stamp_read_none"


def stamp_rows_of(request: HttpRequest) -> Sequence[str] | None:
    """The rows this request's stamp read (`revalidated`), or None (no stamp)."""
    rows = getattr(request, _ROWS_ATTR, None)
    return rows if isinstance(rows, list) else None


def mark_without_rows(instance: models.Model, labels: frozenset[str]) -> None:
    """Note on ``instance`` (the case a page is built for) the models (by label) of which
    its page's stamp read no row: their selectors answer empty without a statement."""
    setattr(instance, _NONE_ATTR, labels)


def stamp_read_none(instance: models.Model, model: type[models.Model]) -> bool:
    """True when this request's stamp read no row of ``model`` for ``instance`` — the
    page's card of such rows has none to show and asks no statement (issue 10 part 4: on
    most cases the payment notice, card production, corrections, ratings and follow-ups
    are empty, and each asked one). False when unknown (no stamp: read as always).

    The rows the page then shows are the stamp's, so the kept body is the one its ETag
    names (a row written between the stamp and the view shows at the next stamp, as a
    row written after the render does)."""
    return model._meta.label in getattr(instance, _NONE_ATTR, ())


def revalidated(stamp: Stamp) -> Callable[[Callable[..., HttpResponseBase]], Callable[..., Any]]:
    """Answer a GET from the stamp when the page would be the same (module docstring).
    Put it inside `login_required` (a signed-out request is redirected before any stamp)."""

    def decorate(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if request.method not in ("GET", "HEAD") or _flash_waiting(request):
                return view(request, *args, **kwargs)
            rows = stamp(request, *args, **kwargs)
            if rows:
                setattr(request, _ROWS_ATTR, rows)
            etag = page_etag(request, rows) if rows else None
            if etag is None:
                return view(request, *args, **kwargs)
            if etag in parse_etags(request.headers.get("If-None-Match", "")):
                not_modified = HttpResponseNotModified()
                not_modified["ETag"] = etag
                return not_modified
            key = (getattr(request.user, "pk", None), request.get_full_path(), etag)
            kept = PAGE_CACHE.get(key)
            if kept is not None:
                response = HttpResponse(kept[0], content_type=kept[1])
                response["ETag"] = etag
                return response
            made = view(request, *args, **kwargs)
            if (
                made.status_code == 200
                and isinstance(made, HttpResponse)
                and not made.streaming
                and not _flash_waiting(request)
            ):
                PAGE_CACHE.put(key, (made.content, made["Content-Type"]))
                made["ETag"] = etag
            return made

        return wrapper

    return decorate
