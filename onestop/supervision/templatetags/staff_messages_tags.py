"""``{% staff_unread user as n %}``: a staff user's unread work messages, for the nav."""

from __future__ import annotations

from django import template
from django.template import Context

from onestop.accounts.models import User
from onestop.supervision.selectors import staff_unread_now, staff_unread_read

register = template.Library()


@register.simple_tag(takes_context=True)
def staff_unread(context: Context, user: object) -> int:
    if not isinstance(user, User) or not user.is_staff_role:
        return 0
    known = staff_unread_read(context.get("request"), user)  # read by the page already
    if known is not None:
        return known
    return staff_unread_now(user)
