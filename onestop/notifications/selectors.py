"""Reads of the outbox for parents: their in-app messages (站内消息)."""

from __future__ import annotations

from django.db.models import QuerySet

from onestop.accounts.models import Role, User
from onestop.accounts.permissions import parent_phone_index
from onestop.notifications.models import Notification


def parent_messages(user: User) -> QuerySet[Notification]:
    """The in-app messages sent to the signed-in parent's phone, newest first, each with its
    case's number (the case's encrypted document, decision and signature are not read:
    decrypting them for every message was most of the inbox page's time, issue 10)."""
    index = parent_phone_index(user) if user.is_authenticated else None
    if not index:
        return Notification.objects.none()
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


def unread_count(user: User) -> int:
    if not user.is_authenticated or user.role != Role.PARENT:
        return 0
    return parent_messages(user).filter(read_at__isnull=True).count()
