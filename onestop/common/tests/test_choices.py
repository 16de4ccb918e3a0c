"""Model choices are built from the domain cores' enums and names (one source of labels)."""

from __future__ import annotations

from django.utils import translation

from onestop.workflow.domain.urgency import URGENCY_LABELS, Urgency
from onestop.workflow.models import CaseItem


def test_the_urgency_choices_are_the_domain_lights_translated_when_shown():
    choices = list(CaseItem._meta.get_field("urgency").choices or [])
    assert [value for value, _label in choices] == [u.value for u in Urgency]
    with translation.override("zh-hans"):
        assert {v: str(label) for v, label in choices} == {
            u.value: name for u, name in URGENCY_LABELS.items()
        }
    with translation.override("en"):
        english = {v: str(label) for v, label in choices}
    assert all(english[u.value] != URGENCY_LABELS[u] for u in Urgency)  # in the catalogue
    row = CaseItem(urgency=Urgency.OVERDUE)
    with translation.override("zh-hans"):
        assert row.get_urgency_display() == "已超期"
