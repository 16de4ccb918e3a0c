"""The catalogue's names in the active language (Chinese by default, English when the page
is English): what the web pages and the API show for items, departments, materials and
result fields. SMS texts, notices and sealed e-licences stay Chinese (``ITEM_NAMES``…)."""

from __future__ import annotations

from django.utils.html import conditional_escape
from django.utils.translation import get_language

from onestop.catalogue import names
from onestop.catalogue.schema import ResultField


def item_label(code: str) -> str:
    return names.item_name(code, get_language())


def department_label(code: str) -> str:
    return names.department_name(code, get_language())


def material_label(code: str) -> str:
    return names.material_name(code, get_language())


def elicence_title_label(code: str) -> str:
    return names.elicence_title(code, get_language())


def result_field_label(spec: ResultField) -> str:
    return spec.label_in(get_language())


def baby_mark(word: str) -> str:
    """Which baby a row is for, after its name (twins or more, ADR 0036): the one markup of
    " <span class="baby" data-baby>（第二个孩子）</span>" the pages write in Python; "" for
    a single birth. ``word`` is escaped here."""
    if not word:
        return ""
    return f' <span class="baby" data-baby>（{conditional_escape(word)}）</span>'
