"""``{{ case.region|region_name }}``: a region as people read it (兰州市…, not ``lanzhou``),
from its policy pack, in the page's language."""

from __future__ import annotations

from django import template
from django.utils.translation import get_language

from onestop.policy.loader import default_packs

register = template.Library()


@register.filter
def region_name(code: object) -> str:
    text = str(code or "")
    pack = default_packs().current(text)
    if pack is None:
        return text
    english = (get_language() or "").startswith("en")
    return pack.name_en if english and pack.name_en else pack.name
