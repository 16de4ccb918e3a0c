"""The stamp of the officer's queue (`/work/`, `onestop.common.revalidate`): what the page
shows, read in ONE statement, nothing decrypted (issue 10 part 3, ADR 0026 amendment
"session 19").

The page shows the open items' count (the pager), one page of rows (number, item, which
baby, state, claimer, urge count, due time and whether it is provisional, the light), the
corrections waiting and the corrected results unread (`workbench_counts`), the unread
staff messages of the header, the officer's name and menus. The stamp reads, from the
same querysets the page is built from (`officer_queue_keys`, `queue_page_rows`,
`workbench_counts_query`: the same access scope, `items_for_officer`):

- ``count``: how many open items the officer's desk has;
- ``row``: for each row of the requested page its columns shown, its light *now* (past
  due; due before the warning cutoff of the working calendar), so a row turning amber or
  red changes the ETag at that instant, not at a change of a row, and its place on the
  page (``row_number()`` in the queue's order, `selectors.queue_row_order`);
- ``staff``: unread staff messages; ``corrections``: the two workbench counts;

plus, from the user row already read by the session, the officer's name, role,
department and jurisdiction. The language, the day, the CSRF secret, the path (order and
page) and the cache window are in the ETag (`page_etag`). A page number the view would
correct (not a number, past the last page) gives no stamp: the view renders it as before.
"""

from __future__ import annotations

from datetime import UTC, datetime
from operator import itemgetter
from typing import Any, NamedTuple

from django.db import connection
from django.db.models import BooleanField, Case, F, Q, QuerySet, Value, When, Window
from django.db.models.functions import RowNumber
from django.http import HttpRequest
from django.utils import timezone

from onestop.accounts.models import Role, User
from onestop.accounts.permissions import officer_scope_key
from onestop.calendar.clock_rules import weekends_beyond
from onestop.calendar.domain import WorkingCalendar
from onestop.calendar.selectors import current_calendar
from onestop.common.compiled import Statement
from onestop.common.kept import Kept
from onestop.common.revalidate import stamp_rows
from onestop.corrections.selectors import workbench_counts_known, workbench_counts_query
from onestop.departments.selectors import (
    QUEUE_PAGE_SIZE,
    officer_queue_keys,
    queue_page_rows,
    queue_row_order,
)
from onestop.supervision.models import StaffMessage
from onestop.supervision.selectors import staff_unread_known
from onestop.workflow.domain.urgency import warning_cutoff

# The queue's view uses the calendar, the count, the header's unread count and the
# corrections link's counts the stamp read (a rendered page costs the stamp and its rows).
CALENDAR_ATTR = "_onestop_queue_calendar"
COUNT_ATTR = "_onestop_queue_count"
# The page's rows as the stamp read them (order, page number, the ``row|`` texts): the view
# writes the table from them instead of reading the same rows again (`queue_rows`).
ROWS_ATTR = "_onestop_queue_rows"

ROW_COLUMNS = {
    "s_id": F("id"),
    "s_item": F("item"),
    "s_newborn": F("newborn"),
    "s_state": F("state"),
    "s_due": F("due_at"),
    "s_provisional": F("due_provisional"),
    "s_received": F("received_at"),
    "s_number": F("case__number"),
    "s_claimer": F("claimed_by_id"),
    "s_username": F("claimed_by__username"),
    "s_display": F("claimed_by__display_name"),
    "s_urged": F("urge_total"),
    "s_twins": F("twins"),
}


def queue_calendar(request: HttpRequest) -> WorkingCalendar:
    """The calendar the stamp read for this request, else read now."""
    kept = getattr(request, CALENDAR_ATTR, None)
    return kept if isinstance(kept, WorkingCalendar) else current_calendar()


def _part(label: str, qs: QuerySet[Any, Any], columns: list[str]) -> tuple[str, list[Any]]:
    """``SELECT '<label>|' || <each column as text, NULL told apart> FROM (<qs>)``."""
    sql, params = qs.query.sql_with_params()
    qn = connection.ops.quote_name
    text = " || '|' || ".join(
        f"(CASE WHEN t.{qn(c)} IS NULL THEN 'N' ELSE 'V' || CAST(t.{qn(c)} AS TEXT) END)"
        for c in columns
    )
    return f"SELECT '{label}|' || {text} AS s FROM ({sql}) AS t", list(params)


def queue_count(request: HttpRequest) -> int | None:
    """How many open items the stamp counted for this request (None: not stamped)."""
    kept = getattr(request, COUNT_ATTR, None)
    return kept if isinstance(kept, int) else None


def _count_part(label: str, qs: QuerySet[Any, Any]) -> tuple[str, list[Any]]:
    """``SELECT '<label>|' || COUNT(*) FROM (<qs>)``: how many rows, one text."""
    sql, params = qs.order_by().values("pk").query.sql_with_params()
    return f"SELECT '{label}|' || CAST(COUNT(*) AS TEXT) AS s FROM ({sql}) AS t", list(params)


def _page_number(request: HttpRequest) -> int | None:
    raw = request.GET.get("page")
    if raw in (None, ""):
        return 1
    try:
        number = int(str(raw))
    except ValueError:
        return None
    return number if number >= 1 else None


def _compile(
    user: User, order: str, number: int, now: datetime, cutoff: datetime
) -> tuple[str, list[Any]]:
    """The stamp's statement, from the querysets the page is built from."""
    keys = officer_queue_keys(user, order=order)
    start = (number - 1) * QUEUE_PAGE_SIZE
    page = keys[start : start + QUEUE_PAGE_SIZE]
    rows = (
        queue_page_rows(page, order=order)
        .order_by()
        .values(
            **ROW_COLUMNS,
            s_late=Case(
                When(Q(due_at__lt=now), then=Value(True)),
                default=Value(False),
                output_field=BooleanField(),
            ),
            s_amber=Case(
                When(Q(due_at__lt=cutoff), then=Value(True)),
                default=Value(False),
                output_field=BooleanField(),
            ),
            # The row's place on the page, in the queue's order (its one definition).
            s_place=Window(RowNumber(), order_by=list(queue_row_order(order))),
        )
    )
    parts = [
        _count_part("count", keys),
        _part("row", rows, [*ROW_COLUMNS, "s_late", "s_amber", "s_place"]),
        _count_part("staff", StaffMessage.objects.filter(user=user, read_at__isnull=True)),
        _part("corrections", workbench_counts_query(user), ["waiting", "unread"]),
    ]
    return " UNION ALL ".join(sql for sql, _ in parts), [p for _, ps in parts for p in ps]


# Building those querysets and compiling them cost more CPU than the rest of an unchanged
# page (~70 % of it, cProfile): the statement is compiled once per officer, order and page
# in this process, with two stand-in instants where "now" and the warning cutoff go, and
# only those two parameters are replaced per request. The key holds every column of the
# user that `items_for_officer` reads, so a changed scope compiles afresh.
_NOW = datetime(1901, 1, 1, 0, 0, 1, tzinfo=UTC)
_CUTOFF = datetime(1901, 1, 1, 0, 0, 2, tzinfo=UTC)
_COMPILED: Kept[tuple[Any, ...], Statement | None] = Kept(size=2000)


def _statement(
    user: User, order: str, number: int, now: datetime, cutoff: datetime
) -> tuple[str, list[Any]]:
    key = (connection.alias, connection.vendor, *officer_scope_key(user), order, number)
    adapt = connection.ops.adapt_datetimefield_value
    statement = _COMPILED.get_or_make(
        key,
        lambda: Statement.of(
            *_compile(user, order, number, _NOW, _CUTOFF), [adapt(_NOW), adapt(_CUTOFF)]
        ),
    )
    if statement is None:  # not as expected: compile every time
        return _compile(user, order, number, now, cutoff)
    return statement.sql, statement.bind(adapt(now), adapt(cutoff))


def queue_stamp(request: HttpRequest, *args: Any, **kwargs: Any) -> list[str] | None:
    user = request.user
    if not isinstance(user, User) or user.role != Role.OFFICER or not user.is_active:
        return None  # the view refuses it as before
    number = _page_number(request)
    if number is None:
        return None
    order = "new" if request.GET.get("order") == "new" else "due"
    now = timezone.now()
    calendar = current_calendar()
    setattr(request, CALENDAR_ATTR, calendar)
    cutoff: datetime = warning_cutoff(weekends_beyond(calendar), now)

    start = (number - 1) * QUEUE_PAGE_SIZE
    sql, params = _statement(user, order, number, now, cutoff)
    found = stamp_rows(sql, params)
    total = next((int(r.split("|", 1)[1]) for r in found if r.startswith("count|")), 0)
    setattr(request, COUNT_ATTR, total)
    staff = next((int(r.split("|", 1)[1]) for r in found if r.startswith("staff|")), None)
    if staff is not None:  # the header's badge: a rendered page asks nothing more
        staff_unread_known(request, user, staff)
    counts = next((r.split("|")[1:] for r in found if r.startswith("corrections|")), None)
    if counts is None:  # no row: what `workbench_counts` answers then
        workbench_counts_known(request, user, (0, 0))
    elif len(counts) == 2 and all(c.startswith("V") for c in counts):
        workbench_counts_known(request, user, (int(counts[0][1:]), int(counts[1][1:])))
    if number > 1 and start >= total:
        return None  # past the last page: the view shows the last one
    setattr(request, ROWS_ATTR, (order, number, [r for r in found if r.startswith("row|")]))
    who = (user.pk, user.label(), user.role, user.department, user.jurisdiction_code)
    return [*found, "user|" + "|".join(str(w) for w in who)]


class QueueRow(NamedTuple):
    """One row of the queue's table, what `departments.views` writes of it."""

    pk: int
    item: str
    newborn: int
    state: str
    due_at: datetime | None
    due_provisional: bool
    received_at: datetime | None
    number: str
    claimer: str  # the claimer's label ("" unclaimed)
    urge_total: int
    twins: bool
    late: bool | None  # past due at the stamp's "now" (None: not read, judge it again)
    amber: bool | None  # due before the stamp's warning cutoff


def _value(field: str) -> str | None:
    return None if field == "N" else field[1:]


def _moment(text: str | None) -> datetime | None:
    if text is None:
        return None
    moment = datetime.fromisoformat(text)  # PostgreSQL: with its offset; SQLite: UTC, naive
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _flag(text: str | None) -> bool:
    return text in ("true", "t", "1")


def _row(text: str) -> tuple[int, QueueRow] | None:
    """A ``row|`` text of the stamp (`ROW_COLUMNS`, then ``s_late``, ``s_amber``,
    ``s_place``) as its place on the page and a `QueueRow`; None when it cannot be read
    back for certain (a ``|`` in a claimer's name)."""
    head = text[len("row|") :].split("|", 9)
    if len(head) != 10:
        return None
    rest = head[9].rsplit("|", 5)
    if len(rest) != 6 or rest[0].count("|") != 1:
        return None
    pk, item, newborn, state, due, provisional, received, number, claimer_id = map(_value, head[:9])
    username, display = map(_value, rest[0].split("|"))
    urged, twins, late, amber, place = map(_value, rest[1:])
    if pk is None or item is None or newborn is None or state is None or number is None:
        return None
    if place is None:
        return None
    claimer = (display or username or "") if claimer_id is not None else ""
    return int(place), QueueRow(
        pk=int(pk),
        item=item,
        newborn=int(newborn),
        state=state,
        due_at=_moment(due),
        due_provisional=_flag(provisional),
        received_at=_moment(received),
        number=number,
        claimer=claimer,
        urge_total=int(urged or 0),
        twins=_flag(twins),
        late=_flag(late),
        amber=_flag(amber),
    )


def queue_rows(request: HttpRequest, order: str, number: int) -> list[QueueRow] | None:
    """The rows of page ``number`` of the queue in ``order`` as this request's stamp read
    them (same querysets, same access scope: `_compile`), in the page's order; None when
    the stamp did not read that page (the view then reads the rows itself)."""
    kept = getattr(request, ROWS_ATTR, None)
    if not isinstance(kept, tuple) or kept[0] != order or kept[1] != number:
        return None
    placed = []
    try:
        for text in kept[2]:
            row = _row(text)
            if row is None:
                return None
            placed.append(row)
    except ValueError:
        return None
    placed.sort(key=itemgetter(0))  # the statement's row numbers: the queue's order
    return [row for _, row in placed]
