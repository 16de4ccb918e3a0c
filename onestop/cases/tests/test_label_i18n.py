"""`onestop.cases.label_i18n` lists, for the catalogue, exactly the Chinese labels of the
Django-free domain modules, and `labelled_rows` translates with the function it is given."""

from __future__ import annotations

from django.utils import translation

from onestop.cases import label_i18n
from onestop.cases.domain import labels
from onestop.cases.domain.document import FIELD_LABELS
from onestop.cases.domain.labels import labelled_rows


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


def test_every_choice_label_of_labels_py_is_listed():
    tables = _pairs_in_labels_module()
    assert {"SEX", "SIDES", "ROLES", "BANKS", "METHODS"} <= set(tables)
    wanted = {label for pairs in tables.values() for _code, label in pairs}
    wanted |= {label for mapping in labels.VALUE_LABELS.values() for label in mapping.values()}
    listed = set(label_i18n.CHOICE_LABELS)
    assert wanted - listed == set(), "add these to CHOICE_LABELS in onestop/cases/label_i18n.py"
    assert listed - wanted == set(), "no longer in labels.py: remove them from CHOICE_LABELS"


def test_the_other_domain_labels_are_listed_exactly():
    expected = {
        "FIELD_LABELS": set(FIELD_LABELS.values()),
    }
    for name, wanted in expected.items():
        listed = set(getattr(label_i18n, name))
        assert wanted - listed == set(), f"add these to {name} in onestop/cases/label_i18n.py"
        assert listed - wanted == set(), f"no longer in the domain: remove them from {name}"


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
