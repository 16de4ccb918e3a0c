"""The state machine of one item (事项) of a case.

A supplement (补正) returns the item to the state it had before it was returned:
``ready`` if no officer had claimed it, ``in_progress`` (same officer) if one
had. ``CaseItems`` stores that state in ``ItemStatus.state_before_return``.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType

from onestop.core.errors import OnestopError


class ItemState(StrEnum):
    """Where one item of a case stands."""

    WAITING = "waiting"
    """Some prerequisite is not done yet."""
    READY = "ready"
    """Dispatched to its department's queue; the clock runs."""
    IN_PROGRESS = "in_progress"
    """Claimed by an officer (or a department system)."""
    DONE = "done"
    """Issued; the result is final."""
    RETURNED = "returned"
    """Waiting for the applicant's supplement (补正); the clock is paused."""
    REFUSED = "refused"
    """The department refused it (转线下办理); its dependents are cancelled."""
    CANCELLED = "cancelled"
    """Stopped because a prerequisite was refused or the case was withdrawn."""


TERMINAL_STATES: frozenset[ItemState] = frozenset(
    {ItemState.DONE, ItemState.REFUSED, ItemState.CANCELLED}
)

TRANSITIONS: Mapping[ItemState, frozenset[ItemState]] = MappingProxyType(
    {
        # WAITING → REFUSED only for an item held for the other parent's confirmation.
        ItemState.WAITING: frozenset({ItemState.READY, ItemState.REFUSED, ItemState.CANCELLED}),
        ItemState.READY: frozenset(
            {
                ItemState.IN_PROGRESS,  # claimed
                ItemState.DONE,  # automatic steps complete without a claim
                ItemState.RETURNED,
                ItemState.REFUSED,
                ItemState.CANCELLED,
            }
        ),
        ItemState.IN_PROGRESS: frozenset(
            {ItemState.DONE, ItemState.RETURNED, ItemState.REFUSED, ItemState.CANCELLED}
        ),
        ItemState.RETURNED: frozenset(
            {
                ItemState.READY,  # supplement arrived, it had not been claimed
                ItemState.IN_PROGRESS,  # supplement arrived, back to the same officer
                ItemState.REFUSED,
                ItemState.CANCELLED,
            }
        ),
        ItemState.DONE: frozenset(),
        ItemState.REFUSED: frozenset(),
        ItemState.CANCELLED: frozenset(),
    }
)
"""Allowed transitions: source state → the states it may move to."""

STATE_LABELS_ZH: Mapping[ItemState, str] = MappingProxyType(
    {
        ItemState.WAITING: "等待前置事项",
        ItemState.READY: "待办理",
        ItemState.IN_PROGRESS: "办理中",
        ItemState.DONE: "已办结",
        ItemState.RETURNED: "待补正",
        ItemState.REFUSED: "不予办理",
        ItemState.CANCELLED: "已取消",
    }
)

STATE_LABELS_EN: Mapping[ItemState, str] = MappingProxyType(
    {
        ItemState.WAITING: "waiting for earlier items",
        ItemState.READY: "ready",
        ItemState.IN_PROGRESS: "in progress",
        ItemState.DONE: "done",
        ItemState.RETURNED: "awaiting supplement",
        ItemState.REFUSED: "refused",
        ItemState.CANCELLED: "cancelled",
    }
)

ACTION_LABELS_ZH: Mapping[ItemState, str] = MappingProxyType(
    {
        ItemState.WAITING: "改回等待",
        ItemState.READY: "转为待办理",
        ItemState.IN_PROGRESS: "认领办理",
        ItemState.DONE: "办结",
        ItemState.RETURNED: "退回补正",
        ItemState.REFUSED: "不予办理",
        ItemState.CANCELLED: "终止",
    }
)
"""The action that moves an item into each state, for error messages."""


def can_transition(src: ItemState, dst: ItemState) -> bool:
    """Whether an item in ``src`` may move to ``dst``."""
    return dst in TRANSITIONS[src]


def is_terminal(state: ItemState) -> bool:
    """Whether ``state`` is final (done, refused or cancelled)."""
    return state in TERMINAL_STATES


class IllegalTransition(OnestopError):
    """An action does not fit the item's current state."""

    code = "illegal_transition"

    def __init__(
        self,
        item: str,
        src: ItemState,
        dst: ItemState,
        *,
        action_zh: str | None = None,
        detail: str | None = None,
    ) -> None:
        action = action_zh if action_zh is not None else ACTION_LABELS_ZH[dst]
        message = f"事项 {item} 当前状态为“{STATE_LABELS_ZH[src]}”，不能{action}"
        if detail:
            message += f"：{detail}"
        super().__init__(message)
        self.item = item
        self.src = src
        self.dst = dst
