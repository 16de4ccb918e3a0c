"""URL path converters that match only what the product's identifiers can be (issue 8).

Django's ``str`` matches any character but ``/``, NUL and line breaks included; ``int``
matches numbers too large for the database's integer columns (an overflow error, a 500).
Every URL of the product uses these instead: an odd identifier is "no such page" (404)
before any view or query sees it. ``onestop.common.httpguard`` refuses odd bytes anywhere
in the request; the converters keep each pattern honest on its own.
"""

from __future__ import annotations

from django.urls import register_converter


class CodeConverter:
    """Case numbers (``QINBEI-20261120-0001``), e-licence serials, tokens, action names."""

    regex = "[0-9A-Za-z][0-9A-Za-z_-]{0,63}"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return str(value)


class IdConverter:
    """A database id: 1 to 18 digits (fits a signed 64-bit column)."""

    regex = "[0-9]{1,18}"

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value: int | str) -> str:
        return str(value)


register_converter(CodeConverter, "code")
register_converter(IdConverter, "id")
