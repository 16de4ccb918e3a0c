"""``base.html``'s header, made once where it is the same for everyone (issue 10 part 3).

``{% nav_url 'name' %}``: ``{% url 'name' %}`` for a URL without arguments (of a view
with one instance: no ``current_app``), reversed once per process, script prefix and URL
configuration (``base.html``'s header reversed the same 6–10 URLs on every page, ~55
Python calls each).

``{% kept_fragment value … %}…{% endkept_fragment %}``: the fragment rendered once per
process for each language, script prefix and tuple of ``value``s, then written as it was
(the header's links, labels and stylesheet: ~30 template nodes of every page — each
``{% translate %}``, ``{% if %}``, ``{% nav_url %}`` and ``{% static %}`` rendered again
on every request — and their walk for ``{% block %}``s by ``{% extends %}``). **Only for
markup that depends on nothing else** — the values given, the language, constants: no
user's data, no CSRF token, no request path; what does stays outside it. A kept fragment
holds no ``{% block %}``.
"""

from __future__ import annotations

import threading
from typing import Any

from django import template
from django.template.base import FilterExpression, NodeList, Parser, Token
from django.template.context import Context
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils.safestring import SafeString
from django.utils.translation import get_language

from onestop.common.kept import Kept

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


class KeptFragmentNode(template.Node):
    """``{% kept_fragment %}`` (module docstring): its output per language, script prefix
    and values, kept with the compiled template (a few entries: the header's are per role
    and department)."""

    # ``{% extends %}`` walks the parent's nodes for its blocks on every render; a kept
    # fragment holds none, so its content is not walked.
    child_nodelists = ()

    def __init__(self, nodelist: NodeList, values: list[FilterExpression]) -> None:
        self.nodelist, self.values = nodelist, values
        self.kept: Kept[tuple[Any, ...], SafeString] = Kept(size=64)

    def render(self, context: Context) -> SafeString:
        key = (get_language(), get_script_prefix(), *(v.resolve(context) for v in self.values))
        found = self.kept.get(key)
        if found is None:
            found = self.nodelist.render(context)
            self.kept.put(key, found)
        return found


@register.tag
def kept_fragment(parser: Parser, token: Token) -> KeptFragmentNode:
    values = [parser.compile_filter(bit) for bit in token.split_contents()[1:]]
    nodelist = parser.parse(("endkept_fragment",))
    parser.delete_first_token()
    return KeptFragmentNode(nodelist, values)
