"""Reads of the outbox for parents: their in-app messages (站内消息)."""

from __future__ import annotations

from django.db.models import QuerySet

from onestop.accounts.models import Role, User
from onestop.accounts.permissions import parent_phone_index
from onestop.common.compiled import CompiledAll
from onestop.common.kept import Kept
from onestop.notifications.models import Notification


def parent_messages(user: User) -> QuerySet[Notification]:
    """The in-app messages sent to the signed-in parent's phone, newest first, each with its
    case's number (the case's encrypted document, decision and signature are not read:
    decrypting them for every message was most of the inbox page's time, issue 10)."""
    index = parent_phone_index(user) if user.is_authenticated else None
    if not index:
        return Notification.objects.none()
    return _messages_to(index)


def _messages_to(index: str) -> QuerySet[Notification]:
    return (
        Notification.objects.filter(
            channel=Notification.Channel.IN_APP,
            status=Notification.Status.SENT,
            phone_index=index,
        )
        .select_related("case")
        .defer("phone", "case__document", "case__decision", "case__signature")
        .order_by("-created_at", "-pk")
    )


# A page of `parent_messages` (its rows from ``start`` on, at most ``size``) compiled once per
# process and page (issue 10: building and compiling the queryset with its joined case was
# ~a sixth of an inbox page with messages).
_PAGES: Kept[tuple[int, int], CompiledAll[Notification]] = Kept(size=32)


def parent_messages_slice(user: User, start: int, stop: int, size: int) -> list[Notification]:
    """``list(parent_messages(user)[start:stop])`` (``stop - start <= size``, the page's
    size): the same instances, from a statement of ``size`` rows compiled once per page."""
    index = parent_phone_index(user) if user.is_authenticated else None
    if not index or stop <= start:
        return []
    read = _PAGES.get_or_make(
        (start, size),
        lambda: CompiledAll(
            Notification,
            lambda phone_index: _messages_to(phone_index)[start : start + size],
            "stand-in:parent-messages:phone-index",
        ),
    )
    return read.all(index)[: stop - start]


def unread_count(user: User) -> int:
    if not user.is_authenticated or user.role != Role.PARENT:
        return 0
    return parent_messages(user).filter(read_at__isnull=True).count()
