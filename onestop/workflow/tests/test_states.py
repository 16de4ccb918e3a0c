from __future__ import annotations

from onestop.core.errors import OnestopError
from onestop.workflow.domain import (
    STATE_LABELS_EN,
    STATE_LABELS_ZH,
    TERMINAL_STATES,
    TRANSITIONS,
    IllegalTransition,
    ItemState,
    can_transition,
    is_terminal,
)


def test_every_state_has_labels_and_a_row() -> None:
    for state in ItemState:
        assert STATE_LABELS_ZH[state]
        assert STATE_LABELS_EN[state]
        assert state in TRANSITIONS


def test_terminal_states_go_nowhere() -> None:
    assert {s for s in ItemState if is_terminal(s)} == TERMINAL_STATES
    for src in TERMINAL_STATES:
        assert not any(can_transition(src, dst) for dst in ItemState)


def test_selected_transitions() -> None:
    assert can_transition(ItemState.WAITING, ItemState.READY)
    assert can_transition(ItemState.READY, ItemState.DONE)
    assert can_transition(ItemState.RETURNED, ItemState.IN_PROGRESS)
    assert can_transition(ItemState.RETURNED, ItemState.READY)
    assert not can_transition(ItemState.WAITING, ItemState.IN_PROGRESS)
    # WAITING → REFUSED: only an item held for the other parent's confirmation (ADR 0029)
    assert can_transition(ItemState.WAITING, ItemState.REFUSED)
    assert not can_transition(ItemState.RETURNED, ItemState.DONE)
    assert not can_transition(ItemState.IN_PROGRESS, ItemState.READY)


def test_illegal_transition_error() -> None:
    error = IllegalTransition("birth_registration", ItemState.DONE, ItemState.RETURNED)
    assert isinstance(error, OnestopError)
    assert error.code == "illegal_transition"
    assert error.message == "事项 birth_registration 当前状态为“已办结”，不能退回补正"
    assert (error.item, error.src, error.dst) == (
        "birth_registration",
        ItemState.DONE,
        ItemState.RETURNED,
    )
    assert ItemState("done") is ItemState.DONE
