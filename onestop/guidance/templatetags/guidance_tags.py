"""``{% if case|guidance_without_item %}``: the case's parents see guidance without a
registration item (Fuzhou, Yuanling: the pack's ``guidance_without_item``, ADR 0040), so
the case page links to it once the case is accepted."""

from __future__ import annotations

from django import template

from onestop.guidance.selectors import ACCEPTED, regions_without_item

register = template.Library()


@register.filter
def guidance_without_item(case: object) -> bool:
    region = getattr(case, "region", "")
    status = getattr(case, "status", "")
    return status in ACCEPTED and region in regions_without_item()
