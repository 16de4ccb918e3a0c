"""Every label a person reads from the Django-free domain modules is in the translation
catalogue: marked with `gettext_noop` where it is declared (so makemessages collects it)
and translated in the English catalogue; and `labelled_rows` translates with the function
it is given."""

from __future__ import annotations

import ast
import inspect
import shutil
import subprocess
from pathlib import Path
from types import ModuleType

import pytest
from django.utils import translation

from onestop.cases import label_i18n
from onestop.cases.domain import document, labels
from onestop.cases.domain.document import FIELD_LABELS
from onestop.cases.domain.labels import labelled_rows

# The words `labelled_rows` and `display` put around the labels.
GLUE = {"是", "否", "、", "第{n}名"}


def _pairs_in_labels_module() -> dict[str, tuple[tuple[str, str], ...]]:
    """Every module-level ``((code, label), ...)`` table of labels.py, found by shape so a
    new table is covered without touching this test."""
    return {
        name: value
        for name, value in vars(labels).items()
        if name.isupper()
        and isinstance(value, tuple)
        and value
        and all(
            isinstance(p, tuple) and len(p) == 2 and all(isinstance(s, str) for s in p)
            for p in value
        )
    }


def _choice_labels() -> set[str]:
    tables = _pairs_in_labels_module()
    assert {"SEX", "SIDES", "ROLES", "BANKS", "METHODS"} <= set(tables)
    wanted = {label for pairs in tables.values() for _code, label in pairs}
    return wanted | {
        label for mapping in labels.VALUE_LABELS.values() for label in mapping.values()
    }


def _marked(module: ModuleType) -> set[str]:
    """The literals the module passes to ``gettext_noop``: what makemessages collects."""
    tree = ast.parse(inspect.getsource(module))
    return {
        node.args[0].value
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "gettext_noop"
        and node.args
        and isinstance(node.args[0], ast.Constant)
        and isinstance(node.args[0].value, str)
    }


def test_the_pure_modules_mark_their_labels_where_they_are_declared():
    marked = _marked(labels) | _marked(document)
    assert _choice_labels() - marked == set(), "wrap these in gettext_noop in labels.py"
    assert set(FIELD_LABELS.values()) - marked == set(), "wrap these in gettext_noop"
    assert GLUE - marked == set()


@pytest.mark.skipif(shutil.which("xgettext") is None, reason="needs GNU gettext")
def test_makemessages_collects_them():
    """What Django's makemessages runs (xgettext with ``--keyword=gettext_noop``) finds the
    labels in the pure modules themselves, without a mirror list."""
    files = [Path(inspect.getfile(m)) for m in (labels, document)]
    extracted = subprocess.run(
        ["xgettext", "--language=Python", "--keyword=gettext_noop", "--from-code=UTF-8", "-o", "-"]
        + [str(f) for f in files],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    msgids = set()
    for block in extracted.split("\n\n"):
        for line in block.splitlines():
            if line.startswith('msgid "'):
                msgids.add(line[len('msgid "') : -1])
    wanted = _choice_labels() | set(FIELD_LABELS.values()) | GLUE
    assert wanted - msgids == set()


def _untranslated(labels: set[str]) -> set[str]:
    with translation.override("en"):
        return {label for label in labels if translation.gettext(label) == label}


def test_every_label_of_the_pure_modules_is_translated_in_the_catalogue():
    wanted = _choice_labels() | set(FIELD_LABELS.values()) | GLUE
    assert _untranslated(wanted) == set(), "run make messages and translate these"


def test_labelled_rows_stay_chinese_by_default_and_translate_when_asked():
    sections = {
        "newborns": [{"name": "覃一", "sex": "1"}, {"name": "覃二", "sex": "2"}],
        "mother": {"residency": "mainland", "known": True},
        "delivery": {"birth_certificate": {"method": "pickup"}},
    }
    assert labelled_rows(sections) == [
        ("第1名新生儿姓名", "覃一"),
        ("第1名新生儿性别", "男"),
        ("第2名新生儿姓名", "覃二"),
        ("第2名新生儿性别", "女"),
        ("母亲户籍/国籍类别", "内地居民"),
        ("母亲身份是否明确", "是"),
        ("出生医学证明送达方式", "自取"),
    ]
    with translation.override("en"):
        rows = labelled_rows(sections, translate=translation.gettext)
    assert rows == [
        ("#1 Newborn's name", "覃一"),
        ("#1 Newborn's sex", "Male"),
        ("#2 Newborn's name", "覃二"),
        ("#2 Newborn's sex", "Female"),
        ("Mother's residency/nationality", "Mainland resident"),
        ("Mother's identity known", "Yes"),
        ("Birth medical certificate delivery", "Collect in person"),
    ]


def test_choices_translate_in_the_active_language():
    with translation.override("en"):
        assert label_i18n.choices(labels.SEX) == [("1", "Male"), ("2", "Female")]
    with translation.override("zh-hans"):
        assert label_i18n.choices(labels.SEX) == [("1", "男"), ("2", "女")]
