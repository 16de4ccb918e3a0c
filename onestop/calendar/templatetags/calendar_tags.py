"""``{% calendar_warning as text %}``: the warning that the working-day table runs out soon."""

from __future__ import annotations

from django import template
from django.utils import timezone

from onestop.calendar.selectors import calendar_end_warning

register = template.Library()


@register.simple_tag
def calendar_warning() -> str:
    return calendar_end_warning(timezone.now()) or ""
