"""Text the product may store, print and send: the one check shared by every input.

PostgreSQL refuses NUL in text and JSON (``jsonb``) columns, and a lone surrogate cannot be
encoded as UTF-8 at all, so either would turn a careless or hostile input into a 500 when
it is written (issue 8, defect 8: "NUL bytes and lone surrogates refused cleanly, never a
500"). Other C0 control characters (a backspace, an escape) have no place in a name, an
address or a number either; tab, line feed and carriage return are ordinary in free text.
"""

from __future__ import annotations

import re

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")
# Any character `text_problem` refuses: a string without one passes it in one scan (also
# what the case document's limits ask before calling it).
MAY_REFUSE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


def text_problem(value: str) -> str | None:
    """Why ``value`` cannot be stored as text (Chinese, to follow a field's label), or None."""
    if MAY_REFUSE.search(value) is None:  # the usual case: one scan
        return None
    if "\x00" in value:
        return "含有不允许的空字符（NUL）"
    if _SURROGATE.search(value):
        return "含有无效的 Unicode 字符（孤立的代理项）"
    if _CONTROL.search(value):
        return "含有不允许的控制字符"
    return None


def printable(value: str, limit: int = 60) -> str:
    """``value`` safe to quote in a one-line message: controls and surrogates escaped,
    long text cut."""
    text = "".join(
        ch if ch.isprintable() and not 0xD800 <= ord(ch) <= 0xDFFF else f"\\u{ord(ch):04x}"
        for ch in value[: limit + 1]
    )
    return text if len(text) <= limit else text[:limit] + "…"
