"""``{% rating_card case %}``: the invitation to rate (or what was rated) on the parents'
progress page and the counter's case page.

Written in Python (issue 10, a parent's first render of a finished case's page: the
card's template — five ``{% if %}``, a ``{% url %}``, a ``{% blocktranslate count %}`` —
was ~600 Python calls), written as the template wrote it: values and URLs escaped (``{{ }}``
and ``{% url %}`` escape), the translations of its literals as they are (``{% translate
"…" %}`` and ``{% blocktranslate %}``'s own text: a template's literal is safe text, the
catalogue's). One definition: its template was removed."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django import template
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext, ngettext

from onestop.accounts.models import Role
from onestop.cases.models import Case
from onestop.common.markup import escaped as _escape
from onestop.common.reversed import reverse_code
from onestop.ratings.selectors import case_rateable, replied_follow_ups, unrated_steps

register = template.Library()


@register.simple_tag(takes_context=True)
def rating_card(
    context: template.Context, case: Case, items: Sequence[Any] | None = None
) -> SafeString:
    """The card, or nothing (not rateable, or not a parent's or a clerk's page); then the
    newline that ended its template. ``items``: the page's item views (`unrated_steps`)."""
    user = context.get("user")
    role = getattr(user, "role", "")
    if not case_rateable(case) or role not in (Role.PARENT, Role.CLERK):
        return mark_safe("\n")
    waiting = replied_follow_ups(case)
    counter = role == Role.CLERK
    unrated = len(unrated_steps(case, items))
    # (each translation outside the f-strings: xgettext does not look inside them)
    title = gettext("服务评价（好差评）")
    out = [f'<div class="card" id="rating" data-unrated="{unrated}">\n  <h2>{title}</h2>\n  ']
    if unrated:
        asked = (
            gettext("请申请人对本次办理作出评价（一次一评）。")
            if counter
            else gettext("办件已办结，请对整体服务和各部门的办理情况作出评价。")
        )
        out.append(f"<p>{asked}</p>\n  ")
    else:
        thanks = gettext("已评价，感谢您的参与。")
        out.append(f'<p class="muted">{thanks}</p>')
    out.append("\n  ")
    if waiting:
        said = ngettext(
            "%(n)s 条差评已有整改答复，请查看并确认",
            "%(n)s 条差评已有整改答复，请查看并确认",
            waiting,
        ) % {"n": _escape(waiting)}
        out.append(f'<p class="state ready">{said}</p>')
    out.append("\n  ")
    if counter:
        url = _escape(reverse_code("ratings:counter_rate", case.number))
        rate = gettext("窗口评价")
        out.append(f'<a class="btn" data-action="open-rating" href="{url}">{rate}</a>\n  ')
    else:
        url = _escape(reverse_code("ratings:rate", case.number))
        label = gettext("去评价") if unrated else gettext("查看评价")
        out.append(f'<a class="btn" data-action="open-rating" href="{url}">{label}</a>')
    out.append("\n</div>\n")
    return mark_safe("".join(out))  # every value escaped, translations as the template's
