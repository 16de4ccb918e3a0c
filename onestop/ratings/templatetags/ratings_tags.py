"""``{% rating_card case %}``: the invitation to rate (or what was rated) on the parents'
progress page and the counter's case page; ``{% follow_ups_waiting user as n %}``: the
follow-ups a staff user is to answer, for the nav."""

from __future__ import annotations

from typing import Any

from django import template

from onestop.accounts.models import Role, User
from onestop.cases.models import Case
from onestop.ratings.models import FollowUp, FollowUpStatus
from onestop.ratings.selectors import case_rateable, follow_ups_to_answer, unrated_steps

register = template.Library()


@register.inclusion_tag("ratings/_card.html", takes_context=True)
def rating_card(context: template.Context, case: Case) -> dict[str, Any]:
    user = context.get("user")
    role = getattr(user, "role", "")
    if not case_rateable(case) or role not in (Role.PARENT, Role.CLERK):
        return {"show": False}
    waiting = FollowUp.objects.filter(case=case, status=FollowUpStatus.REPLIED).count()
    return {
        "show": True,
        "case": case,
        "counter": role == Role.CLERK,
        "unrated": len(unrated_steps(case)),
        "waiting": waiting,
    }


@register.simple_tag
def follow_ups_waiting(user: Any) -> int:
    if not isinstance(user, User) or user.role not in (Role.OFFICER, Role.SUPERVISOR):
        return 0
    return follow_ups_to_answer(user).count()
