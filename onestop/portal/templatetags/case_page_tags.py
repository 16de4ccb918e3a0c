"""The parent's case page's repeated markup, written in Python (issue 10 part 3): the
item card with its table (``{% case_item_table case items %}``), the steps card (``{% case_steps
steps %}``) and the timeline's entries (``{% case_timeline timeline %}``). One definition
each: the page's template holds none of them. Per row the template engine resolved ~15
variables and translated the labels again; here the labels are translated once a page,
and every value is escaped as the template escaped it (``{% translate %}`` and ``{{ }}``
escape, ``{% blocktranslate %}``'s own text does not)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django import template
from django.template import Context
from django.template.defaulttags import CsrfTokenNode
from django.urls import reverse
from django.utils.html import conditional_escape, escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language, gettext

from onestop.common.names import baby_mark
from onestop.core.written import written
from onestop.portal.selectors import ItemView

register = template.Library()


@register.simple_tag(takes_context=True)
def case_item_table(context: Context, case: Any, items: Sequence[ItemView]) -> SafeString:
    """The case page's item card: its title, the table's head and a row per item (the
    progress of each), or nothing without items. The head's labels are the rows' own
    ``data-label``s, translated once. Then the newline that ended its template's line."""
    if not items:
        return mark_safe("\n")
    labels = (
        escape(gettext("事项")),
        escape(gettext("部门")),
        escape(gettext("状态")),
        escape(gettext("办理期限")),
    )
    head = "".join(f"<th>{label}</th>" for label in labels)
    return mark_safe(  # every value is escaped
        f'\n\n<div class="card">\n<h2>{escape(gettext("办理进度"))}</h2>\n'
        f'<table class="responsive">\n  <thead><tr>{head}</tr></thead>\n'
        f"  <tbody>{_item_rows(context, case, items, labels)}</tbody>\n</table>\n</div>\n"
    )


def _item_rows(
    context: Context, case: Any, items: Sequence[ItemView], labels: tuple[str, ...]
) -> str:
    """The ``<tbody>`` of the item table. What only some rows show (the provisional due
    time's badge, the overdue mark with its 催办 form and CSRF token) is made at the first
    row that shows it."""
    language = get_language() or "zh-hans"
    l_item, l_department, l_state, l_due = labels
    sep = escape(gettext("；"))
    provisional = ""
    csrf = overdue = urge = ""
    out = ["\n  "]
    for i in items:
        baby = baby_mark(i.baby)
        reasons = (
            f'<div class="muted">{sep.join(conditional_escape(r) for r in i.reasons)}</div>'
            if i.reasons
            else ""
        )
        if i.due_at and i.due_provisional and not provisional:
            provisional = (
                ' <span class="badge provisional" data-due-provisional title="{}">{}</span>'
            ).format(
                escape(gettext("工作日历尚未录入该年度的节假日安排，发布后自动重新计算")),
                escape(gettext("暂按双休日计算")),
            )
        due = (
            escape(written(i.due_at, language=language))
            + (provisional if i.due_provisional else "")
            if i.due_at
            else "—"
        )
        late = ""
        if i.overdue:
            if not csrf:
                csrf = CsrfTokenNode().render(context)  # what ``{% csrf_token %}`` writes
                overdue, urge = escape(gettext("已超期")), escape(gettext("催办"))
            action = escape(reverse("item_urge", args=[case.number, i.item]))
            late = (
                f'<div><span class="light overdue"></span> {overdue}\n'
                f'        <form method="post" action="{action}" class="inline">'
                f'{csrf}<button class="btn secondary">{urge}</button></form></div>'
            )
        state = escape(i.state)
        out.append(
            f'\n  <tr data-item="{escape(i.item)}">\n'
            f'    <td data-label="{l_item}">{escape(i.name)}{baby}</td>\n'
            f'    <td data-label="{l_department}">{escape(i.department)}</td>\n'
            f'    <td data-label="{l_state}"><span class="state {state}">'
            f"{escape(i.state_label)}</span>\n"
            f"      {reasons}</td>\n"
            f'    <td data-label="{l_due}">{due}\n\n'
            f"      {late}</td>\n"
            "  </tr>\n  "
        )
    out.append("\n  ")
    return "".join(out)


@register.simple_tag
def case_steps(steps: Sequence[Sequence[ItemView]]) -> SafeString:
    """The steps card: the case's items as the steps of the progress picture (more than
    one step; else nothing), then the newline that ended its template."""
    if len(steps) <= 1:
        return mark_safe("\n")
    title = escape(gettext("办理顺序"))
    sep = escape(gettext("；"))
    waiting = gettext("等待：%(what)s")
    step_title = gettext("第 %(n)s 步")
    out = [
        f'\n<div class="card">\n<h2>{title}</h2>\n<p class="muted">'
        + escape(
            gettext(
                "从左到右依次办理；同一列的事项同时办理，后一列的事项要等它所需的前一步办结后才开始。"
            )
        )
        + f'</p>\n<ol class="steps" aria-label="{title}">\n  '
    ]
    for number, step in enumerate(steps, 1):
        out.append(
            '\n  <li class="step"><div class="step-title">'
            f"{step_title % {'n': number}}</div>\n    <ul>"
        )
        for i in step:
            baby = baby_mark(i.baby)
            waits = ""
            if i.waits_for:
                what = sep.join(conditional_escape(w) for w in i.waits_for)
                waits = f'<div class="muted">{waiting % {"what": what}}</div>'
            state = escape(i.state)
            out.append(
                f'\n      <li class="step-item {state}" data-step-item="{escape(i.item)}">'
                f"<strong>{escape(i.name)}</strong>{baby}<br>"
                f'<span class="state {state}">{escape(i.state_label)}</span>\n'
                f"        {waits}</li>\n    "
            )
        out.append("</ul>\n  </li>\n  ")
    out.append("\n</ol>\n</div>\n\n")
    return mark_safe("".join(out))  # every value above is escaped


@register.simple_tag
def case_timeline(entries: Sequence[tuple[datetime, str]]) -> SafeString:
    """The timeline's ``<li>`` entries: when, in the page's language, and what."""
    language = get_language() or "zh-hans"
    return mark_safe(  # every value is escaped
        "".join(
            f'<li><span class="muted">{escape(written(at, language=language))}</span> '
            f"{escape(message)}</li>"
            for at, message in entries
        )
    )
