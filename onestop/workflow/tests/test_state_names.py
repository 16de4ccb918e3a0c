"""An item's state reads the same wherever a person sees it (issue 9: the cancelled state
read 已取消 on one screen and 已终止 on another). The domain core names each state once;
the model's choices (which carry the words for translation) and the services' messages
agree with it, in Chinese and in English."""

from __future__ import annotations

from django.utils import translation

from onestop.workflow.domain import STATE_LABELS_EN, STATE_LABELS_ZH
from onestop.workflow.models import ItemState
from onestop.workflow.services import STATE_WORDS


def test_every_state_has_one_chinese_name_everywhere():
    domain = {state.value: label for state, label in STATE_LABELS_ZH.items()}
    with translation.override("zh-hans"):
        model = {value: str(label) for value, label in ItemState.choices}
    assert domain == model == STATE_WORDS


def test_the_english_names_are_the_translations_of_the_model_choices():
    domain = {state.value: label for state, label in STATE_LABELS_EN.items()}
    with translation.override("en"):
        model = {value: str(label).lower() for value, label in ItemState.choices}
    assert domain == model
