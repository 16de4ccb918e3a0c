"""Translating the Chinese labels of the Django-free domain modules when they are shown.

The coded values' labels (`onestop.cases.domain.labels`) and the case document's field
labels (`FIELD_LABELS`, `onestop.cases.domain.document`) are marked for the catalogue where
they are declared (`onestop.core.i18n.gettext_noop`); the Django side translates a label
when it shows it: ``gettext(label)``, or `choices` for a form's choices. Item, material,
department and result-field names are not translated here: the catalogue
(onestop/catalogue/data) holds them in Chinese and English and `onestop.common.names`
picks the active language.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.utils.translation import gettext


def choices(pairs: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """``(code, Chinese label)`` pairs with the labels in the active language."""
    return [(code, gettext(label)) for code, label in pairs]
