"""``reverse(name, args=[code])`` for a URL whose one argument is a code (a case number, an
e-licence serial: `converters.CodeConverter`), without reversing it on every call (issue
10, a parent's first render: ``{% url %}`` and ``reverse`` cost ~55 Python calls each, a
finished case's page made ~10). The URL is reversed once per process, script prefix and
URL configuration with a stand-in code, and the code put in its place: a code matches
the converter's pattern, whose characters a URL never quotes, so the text is the same.
A value that does not match is reversed as before (``NoReverseMatch`` as before)."""

from __future__ import annotations

import re
import threading

from django.urls import get_script_prefix, get_urlconf, reverse

from onestop.common.converters import CodeConverter

_CODE = re.compile(CodeConverter.regex)
_STAND_IN = "STANDIN0000000000000000"
_KEPT: dict[tuple[str, str, str | None], tuple[str, str] | None] = {}
_LOCK = threading.Lock()


def reverse_code(name: str, code: str) -> str:
    """What ``reverse(name, args=[code])`` returns, for a URL with one code argument."""
    urlconf = get_urlconf()
    key = (name, get_script_prefix(), urlconf if isinstance(urlconf, str) else None)
    try:
        parts = _KEPT[key]
    except KeyError:
        made = reverse(name, args=[_STAND_IN], urlconf=urlconf)
        head, found, tail = made.partition(_STAND_IN)
        parts = (head, tail) if found and _STAND_IN not in tail else None
        if urlconf is None or isinstance(urlconf, str):  # a module object: not kept
            with _LOCK:
                _KEPT[key] = parts
    if parts is None or not isinstance(code, str) or not _CODE.fullmatch(code):
        return reverse(name, args=[code], urlconf=urlconf)
    return f"{parts[0]}{code}{parts[1]}"
