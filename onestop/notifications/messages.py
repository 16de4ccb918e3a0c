"""The texts of the messages to parents: Django templates under
``notifications/templates/notifications/messages/``, rendered in the recipient's language.

One template per message; its words are marked for translation (``{% blocktranslate %}``),
so the Chinese text is the message id and the English is in the locale files. A new
message text is a template here plus a handler in the table (``onestop.core.events``).
"""

from __future__ import annotations

from collections.abc import Mapping

from django.conf import settings
from django.template import Context, engines
from django.utils import translation

TEMPLATE_DIR = "notifications/messages"


def recipient_language(phone: str | None = None) -> str:
    """The language a parent reads messages in. No preference is stored yet, so every
    parent gets the product's language (Chinese); the one place to change when it is."""
    return settings.LANGUAGE_CODE


def message_text(name: str, context: Mapping[str, object], *, language: str | None = None) -> str:
    """The message ``name`` (a template without its ``.txt``) for ``context``, in
    ``language`` (default: the recipient's), on one line, not HTML-escaped (an SMS)."""
    template = engines["django"].get_template(f"{TEMPLATE_DIR}/{name}.txt")
    with translation.override(language or recipient_language()):
        text = template.template.render(Context(dict(context), autoescape=False))  # type: ignore[attr-defined]
    return "".join(line.strip() for line in text.splitlines())
