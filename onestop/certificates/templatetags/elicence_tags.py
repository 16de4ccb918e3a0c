"""``{% case_elicences_card case items %}``: the e-licences of a case with their PDF and
verification links, for the parents' case page."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

from django import template
from django.urls import reverse
from django.utils.html import conditional_escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language, gettext

from onestop.cases.models import Case
from onestop.certificates.selectors import case_elicences
from onestop.certificates.services import qr_content
from onestop.common.names import baby_mark, item_label
from onestop.common.reversed import reverse_code
from onestop.core.written import written
from onestop.workflow.models import ItemState

register = template.Library()


@register.simple_tag
def case_elicences_card(case: Case, items: Sequence[Any] | None = None) -> SafeString:
    """The card, or nothing without a licence; then the newline that ended its template.
    ``items``: the page's item views (`portal.selectors.ItemView`), whose ``baby`` says
    which baby a twin's licence names (ADR 0036) without another query. A licence is
    issued when its item is done (a final state): while none is, no statement (issue 10
    part 3). None: not known, asked.

    Written in Python (issue 10, a parent's first render of a finished case's page: the
    template's ~15 nodes a licence and its two URL reversals were half the card's CPU),
    every value escaped as the template escaped it (``{{ }}``, ``{% url %}`` and
    ``{% translate %}`` escape; ``{% blocktranslate %}``'s own text does not)."""
    if items is not None and not any(view.state == ItemState.DONE for view in items):
        return mark_safe("\n")
    licences = case_elicences(case)
    if not licences:
        return mark_safe("\n")
    babies = {view.item: view.baby for view in items or ()}
    language = get_language() or "zh-hans"
    verify = conditional_escape(reverse("certificates:verify"))
    download = conditional_escape(gettext("下载（PDF）"))
    check = conditional_escape(gettext("验证电子印章"))
    title = conditional_escape(gettext("电子证照"))
    out = [f'\n<div class="card" id="elicences">\n<h2>{title}</h2>\n']
    for e in licences:
        serial = conditional_escape(e.serial)
        # 已被更正 (ADR 0042): the licence that replaced it.
        replaced = conditional_escape(e.superseded_by.serial) if e.superseded_by else ""
        baby = babies.get(e.item.key, "")
        out.append(f'<div data-elicence="{serial}"')
        if replaced:
            out.append(f' data-superseded-by="{replaced}"')
        out.append(f"><strong>{conditional_escape(item_label(e.kind))}</strong>")
        out.append(baby_mark(baby))
        when = conditional_escape(written(e.issued_at, language=language))
        out.append(f" {serial} · {conditional_escape(e.issuer_name)} · {when}\n  ")
        if replaced:
            said = gettext("已被更正，以 %(serial)s 为准") % {"serial": replaced}
            out.append(f'<span class="state cancelled">{said}</span>')
        else:
            pdf = conditional_escape(reverse_code("certificates:parent_pdf", e.serial))
            out.append(f'<a href="{pdf}">{download}</a>')
        if e.sealed and e.signature:
            content = conditional_escape(quote(qr_content(e), safe="/"))  # ``|urlencode``
            out.append(f' · <a href="{verify}?c={content}">{check}</a>')
        out.append("</div>\n")
    out.append("\n</div>\n")
    return mark_safe("".join(out))  # every value above is escaped
