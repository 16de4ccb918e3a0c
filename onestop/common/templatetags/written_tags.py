"""``{{ value|written }}`` and ``{{ value|written_date }}``: a date or time as people write
it in the page's language (2026年11月22日 08:20; 22 Nov 2026 08:20). A built-in of the
templates (settings.TEMPLATES), so every page uses it without ``{% load %}``."""

from __future__ import annotations

from django import template
from django.utils.translation import get_language

from onestop.core.written import written as written_text

register = template.Library()


@register.filter
def written(value: object) -> str:
    return written_text(value, language=get_language() or "zh-hans")


@register.filter
def written_date(value: object) -> str:
    return written_text(value, language=get_language() or "zh-hans", date_only=True)
