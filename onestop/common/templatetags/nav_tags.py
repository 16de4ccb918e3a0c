"""``{% nav_url 'name' %}``: ``{% url 'name' %}`` for a URL without arguments (of a view
with one instance: no ``current_app``), reversed once per process, script prefix and URL
configuration (issue 10 part 3: ``base.html``'s header
reversed the same 6–10 URLs on every page, ~55 Python calls each)."""

from __future__ import annotations

import threading

from django import template
from django.urls import get_script_prefix, get_urlconf, reverse

register = template.Library()

_REVERSED: dict[tuple[str, str, str | None], str] = {}
_LOCK = threading.Lock()


@register.simple_tag
def nav_url(name: str) -> str:
    """What ``{% url name %}`` writes (the tag escapes the result as ``{% url %}`` does)."""
    urlconf = get_urlconf()
    key = (name, get_script_prefix(), urlconf if isinstance(urlconf, str) else None)
    found = _REVERSED.get(key)
    if found is None:
        found = reverse(name, urlconf=urlconf)
        if urlconf is None or isinstance(urlconf, str):  # a module object: not kept
            with _LOCK:
                _REVERSED[key] = found
    return found
