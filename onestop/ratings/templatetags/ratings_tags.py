"""``{% rating_card case %}``: the invitation to rate (or what was rated) on the parents'
progress page and the counter's case page."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django import template

from onestop.accounts.models import Role
from onestop.cases.models import Case
from onestop.ratings.selectors import case_rateable, replied_follow_ups, unrated_steps

register = template.Library()


@register.inclusion_tag("ratings/_card.html", takes_context=True)
def rating_card(
    context: template.Context, case: Case, items: Sequence[Any] | None = None
) -> dict[str, Any]:
    """``items``: the page's item views (`unrated_steps`)."""
    user = context.get("user")
    role = getattr(user, "role", "")
    if not case_rateable(case) or role not in (Role.PARENT, Role.CLERK):
        return {"show": False}
    waiting = replied_follow_ups(case)
    return {
        "show": True,
        "case": case,
        "counter": role == Role.CLERK,
        "unrated": len(unrated_steps(case, items)),
        "waiting": waiting,
    }
