"""Translation markers for the pure modules, which import no Django.

A Chinese label declared in a domain core is wrapped in `gettext_noop` where it is
declared: it returns the text unchanged, and Django's ``makemessages`` collects every
call of a function of that name (it runs xgettext with ``--keyword=gettext_noop``), so the
label lands in the translation catalogue without a mirror list on the Django side. The
unified form imports it as ``_`` (also one of xgettext's keywords). The
Django layer translates it when it shows it: ``gettext(label)``.
"""

from __future__ import annotations


def gettext_noop(message: str) -> str:
    """Mark ``message`` for the translation catalogue; return it untranslated."""
    return message
