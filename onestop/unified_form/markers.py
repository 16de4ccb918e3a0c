"""The translation marker of the unified form's pure modules.

``_("母亲信息")`` returns the Chinese text unchanged (no Django here: the domain-cores
contract); makemessages still collects it, as ``_`` is one of xgettext's keywords, and the
Django side translates the text when it shows it (``gettext(label)``,
``{% translate label %}``)."""

from __future__ import annotations


def _(text: str) -> str:
    return text
