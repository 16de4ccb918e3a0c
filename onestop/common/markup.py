"""Markup written in Python where a template cost too much (issue 10, sessions 21–25: the
item table, the e-licences card, the case page's own cards, the rating card, the task
page's tables): the one definition of how such code escapes a value."""

from __future__ import annotations

import html
from typing import Any

from django.utils.formats import localize
from django.utils.html import conditional_escape
from django.utils.timezone import template_localtime  # type: ignore[attr-defined]


def escaped(text: Any) -> str:
    """The text Django's ``escape`` gives for a text or a number (what ``{{ }}`` writes
    for one), without its wrapper for lazy arguments (~8 calls each; a page escapes ~100
    values)."""
    return html.escape(str(text))


def value_text(value: Any) -> str:
    """What ``{{ value }}`` writes (`render_value_in_context`): a text escaped; anything
    else in local time, localized, then escaped unless marked safe."""
    if type(value) is str:
        return html.escape(value)
    return str(conditional_escape(localize(template_localtime(value))))
