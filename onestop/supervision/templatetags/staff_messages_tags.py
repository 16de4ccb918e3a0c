"""``{% staff_unread user as n %}``: a staff user's unread work messages, for the nav."""

from __future__ import annotations

from django import template

from onestop.accounts.models import User
from onestop.supervision.models import StaffMessage

register = template.Library()


@register.simple_tag
def staff_unread(user: object) -> int:
    if not isinstance(user, User) or not user.is_staff_role:
        return 0
    return StaffMessage.objects.filter(user=user, read_at__isnull=True).count()
