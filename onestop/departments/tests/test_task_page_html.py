"""The task page's parts written in Python (issue 10 part 3, h-officerpages) write what the
template wrote, byte for byte, escaping included: each is compared with the template
markup it replaced, rendered by Django's engine, over awkward values in both languages.
No database."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from django.template import engines
from django.utils import translation
from django.utils.functional import lazy
from django.utils.safestring import mark_safe

from onestop.cases.models import Material
from onestop.common.markup import value_text as _cell
from onestop.departments.views import _groups_html, _materials_html

# The markup the template had before (departments/task.html, 2026-11-27).
GROUPS_TEMPLATE = (
    "{% for title, rows in groups %}<h3>{{ title }}</h3>\n"
    "  <table><tbody>{% for label, value in rows %}<tr><th>{{ label }}</th><td>{{ value }}"
    "</td></tr>{% endfor %}</tbody></table>{% endfor %}"
)
MATERIALS_TEMPLATE = (
    "{% load i18n %}{% for m in materials %}<li>{% blocktranslate with name=m.name "
    "detail=m.source %}{{ name }}（{{ detail }}）{% endblocktranslate %}{% if m.has_file %} "
    '<a href="{% url \'departments:material\' item.pk m.token %}">{% translate "查看" %}</a>'
    "{% endif %}</li>{% endfor %}"
)

AWKWARD = [
    "黄丽",
    "<script>alert('x')</script>",
    'a "quoted" & <b>',
    "",
    "100%",
    mark_safe("<em>kept</em>"),
    lazy(lambda: "<lazy> & 'text'", str)(),
    12345,
    3.5,
    True,
]


def _render(source: str, context: dict[str, Any]) -> str:
    return engines["django"].from_string(source).render(context)


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_the_information_tables_are_the_templates(language):
    groups = [
        (title, [(label, value) for label, value in zip(AWKWARD, AWKWARD[n:], strict=False)])
        for n, title in enumerate(AWKWARD)
    ]
    groups.append(("empty", []))
    with translation.override(language):
        assert _groups_html(groups) == _render(GROUPS_TEMPLATE, {"groups": groups})
        assert _groups_html([]) == ""


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_the_materials_list_is_the_templates(language):
    codes = ["birth_medical_certificate", "hukou_booklet", "<odd & code>", ""]
    sources = [s.value for s in Material.Source]
    materials = [
        Material(code=code, source=source, token=f"tok{n}", file="a.pdf" if n % 2 else "")
        for n, (code, source) in enumerate(itertools.product(codes, sources))
    ]
    with translation.override(language):
        expected = _render(
            MATERIALS_TEMPLATE,
            {
                "item": {"pk": 42},
                "materials": [
                    {
                        "name": _material_name(m.code),
                        "token": m.token,
                        "source": m.get_source_display(),
                        "has_file": bool(m.file),
                    }
                    for m in materials
                ],
            },
        )
        assert _materials_html(42, materials) == expected
        assert "查看" in expected or "View" in expected  # the links are there
        assert _materials_html(42, []) == ""


def _material_name(code: str) -> str:
    from onestop.common.names import material_label

    return material_label(code)


def test_a_cell_is_escaped_as_the_template_escapes_it():
    for value in AWKWARD:
        assert _cell(value) == _render("{{ v }}", {"v": value})
