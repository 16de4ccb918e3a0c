"""``{% unread_messages user as n %}``: the parent's unread in-app messages, for the nav."""

from __future__ import annotations

from django import template

from onestop.accounts.models import User
from onestop.notifications.selectors import unread_count

register = template.Library()


@register.simple_tag
def unread_messages(user: object) -> int:
    return unread_count(user) if isinstance(user, User) else 0
