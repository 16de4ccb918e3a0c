"""The case page's markup written in Python (issue 10, a parent's first render) writes what
its templates wrote, byte for byte, in both languages: the links, reasons and previews'
cards under the title, the promise card, the signature with the timeline, and the rating
card (parents' and counter's). The templates they replaced are kept here as the reference,
rendered by Django's engine with the same values — hostile text among them (``<&"'>``),
so the escaping is the template's. (Pages of generated cases in every state and region
were compared whole: docs/performance.md, "Session 25, helper h-parentfirst".)"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any, cast

import pytest
from django.template import Context, Engine, Template
from django.utils import translation
from django.utils.safestring import mark_safe

from onestop.cases.models import Case
from onestop.cases.promise import Promise
from onestop.common.reversed import reverse_code
from onestop.portal.templatetags import case_page_tags
from onestop.ratings.templatetags import ratings_tags

ENGINE = Engine.get_default()

# portal/case.html from `{% translate "办件" %}`'s line on, before session 25 (less the
# other apps' cards), and portal/_promise.html with includes/due.html.
HEAD = (
    """{% load i18n %}<p><a class="btn secondary" href="{% url 'portal:notice' case.number %}">"""
    """{% translate "下载通知书（PDF）" %}</a>
{% if can_supplement %}<a class="btn" href="{% url 'portal:supplement' case.number %}">"""
    """{% translate "去补正" %}</a>{% endif %}</p>
{% if reasons %}
<div class="card">
  <h2>{% if case.status == "rejected" %}{% translate "不予受理的原因" %}{% else %}"""
    """{% translate "需要补正的内容（一次性告知）" %}{% endif %}</h2>
  <ol>{% for r in reasons %}<li data-reason="{{ r.code }}">{{ r.message }}{% if r.code %} """
    """<a class="muted" href="{% url 'hotline:faq_reason' r.code %}">{% translate "怎么办？" %}"""
    """</a>{% endif %}</li>{% endfor %}</ol>
  {% if channels %}<h2>{% translate "您仍可通过原渠道分别办理" %}</h2><ul>{% for c in channels %}"""
    """<li class="ordinary-channel">{{ c }}</li>{% endfor %}</ul>{% endif %}
  {% if still_open %}<p class="still-open">{{ still_open }}</p>{% endif %}
</div>
{% endif %}
{% if preview_pending %}<div class="card" id="preview-card"><h2>"""
    """{% translate "等待申请人确认签字" %}</h2>
  <p>{% translate "平台已生成《出生医学证明》《出生医学证明首次签发登记表》"""
    """《常住人口登记表》预览，请核对并电子签名，确认后推送助产机构签发。" %}</p>
  <a class="btn" href="{% url 'portal:preview' case.number %}">"""
    """{% translate "查看预览并确认签字" %}</a></div>
{% endif %}
"""
)
DUE = (
    "{% load i18n %}{% if due %}{{ due|written }}{% if provisional %} "
    '<span class="badge provisional" data-due-provisional title="'
    "{% translate '工作日历尚未录入该年度的节假日安排，发布后自动重新计算' %}\">"
    '{% translate "暂按双休日计算" %}</span>{% endif %}{% else %}—{% endif %}\n'
)
PROMISE = (
    """{% load i18n %}{% if promise %}
<div class="card promise" data-promise>
  <h2>{% translate "承诺办结时限" %}</h2>
  <p>{% if promise.unit == "calendar_days" %}{% blocktranslate with days=promise.days %}"""
    """本“一件事”承诺 {{ days }} 个自然日内办结{% endblocktranslate %}{% else %}"""
    """{% blocktranslate with days=promise.days %}本“一件事”承诺 {{ days }} 个工作日内办结"""
    """{% endblocktranslate %}{% endif %}{% if promise.excludes %}"""
    """{% blocktranslate with what=promise.excludes %}（{{ what }}除外）{% endblocktranslate %}"""
    """{% endif %}{% translate "，自受理之日起计算。" %}</p>
  {% if promise.due_at %}<p>{% translate "最迟办结时间：" %}<strong data-promise-due>"""
    """{{ due_html }}</strong>
  {% if promise.kept is True %}<span class="state done">{% translate "已在承诺时限内办结" %}"""
    """</span>{% elif promise.kept is False %}<span class="state refused">"""
    """{% translate "办结晚于承诺时限" %}</span>{% endif %}</p>
  {% else %}<p class="muted">{% translate "受理后开始计时。" %}</p>{% endif %}
  <p class="muted">{% translate "各事项另有各自的办理期限，见下方办理进度。" %}</p>
</div>
{% endif %}
"""
)
END = (
    """{% load i18n %}{% if signature %}<p class="muted">{% blocktranslate with """
    """name=signature.name at=signature.at %}已由 {{ name }} 于 {{ at }} 电子签名"""
    """{% endblocktranslate %}</p>{% endif %}
<div class="card">
<h2>{% translate "办件进程" %}</h2>
<ul class="timeline">{% for at, message in timeline %}<li><span class="muted">"""
    """{{ at|written }}</span> {{ message }}</li>{% endfor %}</ul>
</div>
"""
)
# ratings/_card.html before session 25.
RATING = (
    """{% load i18n %}{% if show %}<div class="card" id="rating" data-unrated="{{ unrated }}">
  <h2>{% translate "服务评价（好差评）" %}</h2>
  {% if unrated %}<p>{% if counter %}{% translate "请申请人对本次办理作出评价（一次一评）。" %}"""
    """{% else %}{% translate "办件已办结，请对整体服务和各部门的办理情况作出评价。" %}"""
    """{% endif %}</p>
  {% else %}<p class="muted">{% translate "已评价，感谢您的参与。" %}</p>{% endif %}
  {% if waiting %}<p class="state ready">{% blocktranslate count n=waiting %}{{ n }} 条差评已有"""
    """整改答复，请查看并确认{% plural %}{{ n }} 条差评已有整改答复，请查看并确认"""
    """{% endblocktranslate %}"""
    """</p>{% endif %}
  {% if counter %}<a class="btn" data-action="open-rating" href="{% url 'ratings:counter_rate' """
    """case.number %}">{% translate "窗口评价" %}</a>
  {% else %}<a class="btn" data-action="open-rating" href="{% url 'ratings:rate' case.number %}">"""
    """{% if unrated %}{% translate "去评价" %}{% else %}{% translate "查看评价" %}{% endif %}"""
    """</a>"""
    """{% endif %}
</div>{% endif %}
"""
)

HOSTILE = "<b>&\"'</b>"
AT = datetime(2026, 11, 27, 2, 5, tzinfo=UTC)


def _old(text: str, **values: Any) -> str:
    return Template(text, engine=ENGINE).render(Context(values, autoescape=True))


def _cases() -> list[Any]:
    return [
        SimpleNamespace(number="QINBEI-20261120-0001", status=status)
        for status in ("rejected", "supplement", "in_progress", "completed")
    ]


REASONS: list[list[dict[str, Any]]] = [
    [],
    [{"code": "missing_material", "message": "缺少材料"}],
    [
        {"code": "field_invalid", "message": HOSTILE},
        {"message": "没有编码的原因"},
        {"code": "", "message": "空编码"},
        {"code": None, "message": None},
    ],
]


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_head_writes_what_its_template_wrote(language: str) -> None:
    seen = 0
    with translation.override(language):
        for case, reasons, channels, still_open, flags in itertools.product(
            _cases(),
            REASONS,
            ([], ["兰州市公安局七里河分局", HOSTILE]),
            ("", HOSTILE),
            itertools.product((False, True), repeat=2),
        ):
            can_supplement, preview_pending = flags
            values = {
                "case": case,
                "can_supplement": can_supplement,
                "reasons": reasons,
                "channels": channels,
                "still_open": still_open,
                "preview_pending": preview_pending,
            }
            written = case_page_tags.case_page_head(**values)
            assert written == _old(HEAD, **values)
            seen += 1
    assert seen == 4 * 3 * 2 * 2 * 4


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_promise_card_writes_what_its_template_wrote(language: str) -> None:
    promises: list[Promise | None] = [None]
    for unit, excludes, due_at, provisional, kept in itertools.product(
        ("working_days", "calendar_days"),
        ("", "邮寄时间", HOSTILE),
        (None, AT),
        (False, True),
        (None, True, False),
    ):
        promises.append(
            Promise(
                days=33,
                unit=unit,
                excludes=excludes,
                cite="",
                due_at=due_at,
                due_provisional=provisional,
                kept=kept,
            )
        )
    with translation.override(language):
        for promise in promises:
            due_html = _old(
                DUE,
                due=promise.due_at if promise else None,
                provisional=promise.due_provisional if promise else False,
            )
            expected = _old(PROMISE, promise=promise, due_html=mark_safe(due_html))
            assert case_page_tags.case_promise_card(promise) == expected


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_signature_and_timeline_write_what_their_template_wrote(language: str) -> None:
    timelines = [[], [(AT, "已受理"), (AT, HOSTILE)]]
    signatures: list[dict[str, Any] | None] = [
        None,
        {"name": "黄*", "at": "2026-11-27 10:05"},
        {"name": HOSTILE, "at": HOSTILE},
        {"name": None, "at": ""},
    ]
    with translation.override(language):
        for signature, timeline in itertools.product(signatures, timelines):
            expected = _old(END, signature=signature, timeline=timeline)
            assert case_page_tags.case_page_end(signature, timeline) == expected


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_rating_card_writes_what_its_template_wrote(
    language: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    case = SimpleNamespace(number="JILIN-20261120-0007", status="completed")
    for role, rateable, unrated, waiting in itertools.product(
        ("parent", "clerk", "officer"), (True, False), (0, 1, 5), (0, 1, 3)
    ):
        monkeypatch.setattr(ratings_tags, "case_rateable", lambda c, r=rateable: r)
        monkeypatch.setattr(ratings_tags, "replied_follow_ups", lambda c, w=waiting: w)
        monkeypatch.setattr(ratings_tags, "unrated_steps", lambda c, items, n=unrated: ["x"] * n)
        user = SimpleNamespace(role=role)
        with translation.override(language):
            written = ratings_tags.rating_card(Context({"user": user}), cast(Case, case), None)
            shown = rateable and role in ("parent", "clerk")
            expected = _old(
                RATING,
                show=shown,
                case=case,
                counter=role == "clerk",
                unrated=unrated,
                waiting=waiting,
            )
        assert written == expected, (role, rateable, unrated, waiting)


def test_reverse_code_is_reverse_and_refuses_as_it_did() -> None:
    from django.urls import NoReverseMatch, reverse

    for name in ("portal:notice", "portal:case", "certificates:parent_pdf", "ratings:rate"):
        for code in ("QINBEI-20261120-0001", "BMC_2026-x", "a"):
            assert reverse_code(name, code) == reverse(name, args=[code])
        for odd in ("-starts-with-dash", "has space", "a/b", "", "x" * 65):
            with pytest.raises(NoReverseMatch):
                reverse_code(name, odd)
