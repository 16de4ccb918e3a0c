"""What every parent's page shows of the parent and their messages, for the pages' stamps
(`onestop.common.revalidate`): their user row (name, role, phone, active) and every in-app
message to their phone (the unread badge of the menu, the inbox itself).

The same statement counts the unread messages (``unread|N``): `parent_stamp_read` keeps
that count and the messages' number on the request, so a rendered page's header badge
(`unread_messages`) and the inbox's paginator ask nothing more (issue 10 part 3)."""

from __future__ import annotations

from functools import cache
from typing import Any

from django.db import connection

from onestop.accounts.models import Role, User
from onestop.accounts.permissions import parent_phone_index
from onestop.common.revalidate import row_text_sql, stamp_rows
from onestop.notifications.models import Notification

# The parent's in-app messages (`selectors.parent_messages`: the same filter).
MESSAGES_WHERE = "channel = %s AND status = %s AND phone_index = %s"
# What the stamp read of the messages in this request: (user id, unread, messages).
COUNTS_ATTR = "_onestop_parent_messages"


@cache
def parent_parts_sql() -> str:
    table = connection.ops.quote_name(Notification._meta.db_table)
    return " UNION ALL ".join(
        (
            row_text_sql(User, "id = %s", "user"),
            row_text_sql(Notification, MESSAGES_WHERE, "message"),
            f"SELECT 'unread|' || CAST(COUNT(*) AS TEXT) FROM {table} "
            f"WHERE {MESSAGES_WHERE} AND read_at IS NULL",
        )
    )


def parent_parts(user: User) -> tuple[str, list[Any]] | None:
    """The SQL and its parameters, or None where the page is not a parent's own."""
    if not user.is_authenticated or not user.is_active or user.role != Role.PARENT:
        return None
    index = parent_phone_index(user)
    if not index:
        return None
    return parent_parts_of(user.pk, index)


def parent_parts_of(user_id: int, index: str) -> tuple[str, list[Any]]:
    """`parent_parts` of the parent ``user_id`` whose phone's blind index is ``index``
    (asked of the user already: the case pages' stamps, `accounts.permissions.parent_scope`)."""
    messages = [Notification.Channel.IN_APP.value, Notification.Status.SENT.value, index]
    return parent_parts_sql(), [user_id, *messages, *messages]


def parent_stamp_read(request: Any, user: User, rows: list[str]) -> list[str]:
    """Keep on ``request`` what a page's stamp ``rows`` (with `parent_parts`) say of
    ``user``'s messages: the unread count and how many there are. Returns ``rows``."""
    unread = next((r.split("|", 1)[1] for r in rows if r.startswith("unread|")), None)
    if unread is not None and unread.isdigit():
        total = sum(1 for r in rows if r.startswith("message|"))
        setattr(request, COUNTS_ATTR, (user.pk, int(unread), total))
    return rows


def parent_messages_read(request: Any, user: User) -> tuple[int, int] | None:
    """(unread, messages) of ``user`` as the page's stamp read them in this request, or
    None (not read: ask the database)."""
    kept = getattr(request, COUNTS_ATTR, None)
    if isinstance(kept, tuple) and len(kept) == 3 and kept[0] == user.pk:
        return int(kept[1]), int(kept[2])
    return None


def parent_unread_marked(request: Any, user: User, marked: int) -> None:
    """``marked`` of the kept unread messages were marked read since the stamp (the inbox
    marks the page it shows): the header's badge counts them out."""
    kept = parent_messages_read(request, user)
    if kept is not None:
        setattr(request, COUNTS_ATTR, (user.pk, max(kept[0] - marked, 0), kept[1]))


def inbox_stamp(request: Any, *args: Any, **kwargs: Any) -> list[str] | None:
    user = request.user
    parts = parent_parts(user) if isinstance(user, User) else None
    if parts is None:
        return None
    return parent_stamp_read(request, user, stamp_rows(*parts))
