"""What every parent's page shows of the parent and their messages, for the pages' stamps
(`onestop.common.revalidate`): their user row (name, role, phone, active) and every in-app
message to their phone (the unread badge of the menu, the inbox itself)."""

from __future__ import annotations

from functools import cache
from typing import Any

from onestop.accounts.models import Role, User
from onestop.accounts.permissions import parent_phone_index
from onestop.common.revalidate import row_text_sql, stamp_rows
from onestop.notifications.models import Notification


@cache
def parent_parts_sql() -> str:
    return " UNION ALL ".join(
        (
            row_text_sql(User, "id = %s", "user"),
            row_text_sql(
                Notification, "channel = %s AND status = %s AND phone_index = %s", "message"
            ),
        )
    )


def parent_parts(user: User) -> tuple[str, list[Any]] | None:
    """The SQL and its parameters, or None where the page is not a parent's own."""
    if not user.is_authenticated or not user.is_active or user.role != Role.PARENT:
        return None
    index = parent_phone_index(user)
    if not index:
        return None
    params: list[Any] = [
        user.pk,
        Notification.Channel.IN_APP.value,
        Notification.Status.SENT.value,
        index,
    ]
    return parent_parts_sql(), params


def inbox_stamp(request: Any, *args: Any, **kwargs: Any) -> list[str] | None:
    user = request.user
    parts = parent_parts(user) if isinstance(user, User) else None
    if parts is None:
        return None
    return stamp_rows(*parts)
