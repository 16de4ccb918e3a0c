"""The parent's case page's own markup, written in Python (issue 10 part 3): the item card
with its table (``{% case_item_table case items %}``), the steps card (``{% case_steps
steps %}``), and (issue 10, a parent's first render) the links, reasons and preview cards
under the title (``{% case_page_head … %}``), the promise card (``{% case_promise_card
promise %}``) and the signature with the timeline (``{% case_page_end signature
timeline %}``). One definition each: the page's template holds none of them, only the
other apps' cards between them. Per row the template engine resolved ~15 variables and
translated the labels again; here the labels are translated once a page, and every value
is escaped as ``{{ }}`` escaped it. The translations of the template's literals: the item
table and the steps card escape them; the last three write them as the template did, as
they are (``{% translate "…" %}`` and ``{% blocktranslate %}``'s own text: a template's
literal is safe text, the catalogue's) — the same text while no translation holds
``&<>"'``."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django import template
from django.template import Context
from django.template.defaulttags import CsrfTokenNode
from django.urls import reverse
from django.utils.html import conditional_escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language, gettext, gettext_noop

from onestop.cases.promise import Promise
from onestop.common.markup import escaped as escape
from onestop.common.markup import value_text
from onestop.common.names import baby_mark
from onestop.common.reversed import reverse_code
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
    progress = escape(gettext("办理进度"))
    return mark_safe(  # every value is escaped
        f'\n\n<div class="card">\n<h2>{progress}</h2>\n'
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


def _timeline(entries: Sequence[tuple[datetime, str]]) -> str:
    """The timeline's ``<li>`` entries: when, in the page's language, and what."""
    language = get_language() or "zh-hans"
    return "".join(
        f'<li><span class="muted">{escape(written(at, language=language))}</span> '
        f"{escape(message)}</li>"
        for at, message in entries
    )


_MISSING = object()


def _value(value: Any) -> str:
    """What ``{{ value }}`` writes; a key the dictionary lacks (`_MISSING`): nothing, as
    the template's lookup."""
    return "" if value is _MISSING else value_text(value)


_PREVIEWS_MADE = gettext_noop(  # translated where it is written (makemessages finds it here)
    "平台已生成《出生医学证明》《出生医学证明首次签发登记表》《常住人口登记表》预览，"
    "请核对并电子签名，确认后推送助产机构签发。"
)


@register.simple_tag
def case_page_head(
    case: Any,
    can_supplement: bool,
    reasons: Sequence[Any],
    channels: Sequence[Any],
    still_open: Any,
    preview_pending: bool,
) -> SafeString:
    """What follows the case page's title: the notice's (and the supplement's) link, the
    reasons card (rejected or to supplement: each reason with its FAQ link, the ordinary
    channels, what is still open), the previews' card; each with the newline that ended
    its template's line."""
    number = case.number
    # (each translation outside the f-strings: xgettext does not look inside them)
    notice = gettext("下载通知书（PDF）")
    out = [
        f'<p><a class="btn secondary" href="{escape(reverse_code("portal:notice", number))}">'
        f"{notice}</a>\n"
    ]
    if can_supplement:
        supplement = gettext("去补正")
        out.append(
            f'<a class="btn" href="{escape(reverse_code("portal:supplement", number))}">'
            f"{supplement}</a>"
        )
    out.append("</p>\n")
    if reasons:
        title = (
            gettext("不予受理的原因")
            if case.status == "rejected"
            else gettext("需要补正的内容（一次性告知）")
        )
        out.append(f'\n<div class="card">\n  <h2>{title}</h2>\n  <ol>')
        how = ""
        for reason in reasons:
            if not isinstance(reason, dict):  # as the template's lookups: blanks
                reason = {}
            code = reason.get("code", _MISSING)
            out.append(
                f'<li data-reason="{_value(code)}">{_value(reason.get("message", _MISSING))}'
            )
            if code is not _MISSING and code:
                how = how or gettext("怎么办？")
                faq = escape(reverse("hotline:faq_reason", args=[code]))
                out.append(f' <a class="muted" href="{faq}">{how}</a>')
            out.append("</li>")
        out.append("</ol>\n  ")
        if channels:
            ordinary = gettext("您仍可通过原渠道分别办理")
            out.append(f"<h2>{ordinary}</h2><ul>")
            out.extend(f'<li class="ordinary-channel">{_value(c)}</li>' for c in channels)
            out.append("</ul>")
        out.append("\n  ")
        if still_open:
            out.append(f'<p class="still-open">{_value(still_open)}</p>')
        out.append("\n</div>\n")
    out.append("\n")
    if preview_pending:
        preview = escape(reverse_code("portal:preview", number))
        waiting, made = gettext("等待申请人确认签字"), gettext(_PREVIEWS_MADE)
        check = gettext("查看预览并确认签字")
        out.append(
            f'<div class="card" id="preview-card"><h2>{waiting}'
            f"</h2>\n  <p>{made}</p>\n"
            f'  <a class="btn" href="{preview}">{check}</a>'
            "</div>\n"
        )
    out.append("\n")
    return mark_safe("".join(out))  # every value escaped, translations as the template's


@register.simple_tag
def case_promise_card(promise: Promise | None) -> SafeString:
    """The case's overall promise (承诺办结时限), or nothing where its region's plan has
    none; then the newline that ended its template."""
    if not promise:
        return mark_safe("\n")
    days = {"days": _value(promise.days)}
    # ``{% blocktranslate %}``: the values escaped, its own text not
    if promise.unit == "calendar_days":
        said = gettext("本“一件事”承诺 %(days)s 个自然日内办结") % days
    else:
        said = gettext("本“一件事”承诺 %(days)s 个工作日内办结") % days
    if promise.excludes:
        said += gettext("（%(what)s除外）") % {"what": _value(promise.excludes)}
    title, counted = gettext("承诺办结时限"), gettext("，自受理之日起计算。")
    out = [
        f'\n<div class="card promise" data-promise>\n  <h2>{title}'
        f"</h2>\n  <p>{said}{counted}</p>\n  "
    ]
    if promise.due_at:
        language = get_language() or "zh-hans"
        due = escape(written(promise.due_at, language=language))
        if promise.due_provisional:
            due += (
                ' <span class="badge provisional" data-due-provisional title="{}">{}</span>'
            ).format(
                gettext("工作日历尚未录入该年度的节假日安排，发布后自动重新计算"),
                gettext("暂按双休日计算"),
            )
        kept = ""
        if promise.kept is True:
            kept = '<span class="state done">{}</span>'.format(gettext("已在承诺时限内办结"))
        elif promise.kept is False:
            kept = '<span class="state refused">{}</span>'.format(gettext("办结晚于承诺时限"))
        latest = gettext("最迟办结时间：")
        # (``includes/due.html`` ended with a newline)
        out.append(f"<p>{latest}<strong data-promise-due>{due}\n</strong>\n  {kept}</p>\n  ")
    else:
        starts = gettext("受理后开始计时。")
        out.append(f'<p class="muted">{starts}</p>')
    last = gettext("各事项另有各自的办理期限，见下方办理进度。")
    out.append(f'\n  <p class="muted">{last}</p>\n</div>\n\n')
    return mark_safe("".join(out))  # every value escaped, translations as the template's


@register.simple_tag
def case_page_end(
    signature: dict[str, Any] | None, entries: Sequence[tuple[datetime, str]]
) -> SafeString:
    """The e-signature's line (who signed, masked, and when) and the timeline card."""
    out = []
    if signature:
        said = gettext("已由 %(name)s 于 %(at)s 电子签名") % {
            "name": _value(signature.get("name", _MISSING)),
            "at": _value(signature.get("at", _MISSING)),
        }
        out.append(f'<p class="muted">{said}</p>')
    steps = gettext("办件进程")
    out.append(
        f'\n<div class="card">\n<h2>{steps}</h2>\n'
        f'<ul class="timeline">{_timeline(entries)}</ul>\n</div>\n'
    )
    return mark_safe("".join(out))  # every value escaped, translations as the template's
