"""``{% unread_messages user as n %}``: the parent's unread in-app messages, for the nav."""

from __future__ import annotations

from django import template
from django.template import Context

from onestop.accounts.models import User
from onestop.notifications.selectors import unread_count
from onestop.notifications.stamps import parent_messages_read

register = template.Library()


@register.simple_tag(takes_context=True)
def unread_messages(context: Context, user: object) -> int:
    if not isinstance(user, User):
        return 0
    kept = parent_messages_read(context.get("request"), user)  # read by the page's stamp
    return kept[0] if kept is not None else unread_count(user)
