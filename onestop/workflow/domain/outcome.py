"""How a finished case reads to the parents: everything done, partly refused, or nothing
done. Pure: imports no Django.

Issue 8, defect 5: "A refused bundle is reported to the parents as '已全部办结' (SMS and
case status). Completed, partly refused and fully refused cases read differently and say
what to do next." The case keeps one ``completed`` status (all items finished); the
outcome is derived from the items' states.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from .states import TERMINAL_STATES, ItemState

Outcome = Literal["done", "partly_refused", "refused"]
OUTCOMES: tuple[Outcome, ...] = ("done", "partly_refused", "refused")

# What the case status reads as, per outcome (the parents' page, the supervisors' lists).
OUTCOME_LABELS: dict[str, str] = {
    "done": "已全部办结",
    "partly_refused": "部分办结",
    "refused": "未能办理",
}


def case_outcome(states: Iterable[str]) -> Outcome | None:
    """The outcome once every item is finished (None while any is open, or no items)."""
    found = [ItemState(s) for s in states]
    if not found or any(s not in TERMINAL_STATES for s in found):
        return None
    done = sum(1 for s in found if s is ItemState.DONE)
    if done == len(found):
        return "done"
    return "partly_refused" if done else "refused"


@dataclass(frozen=True)
class NotDone:
    """An item that was not done: its name and why, in Chinese."""

    name: str
    why: str


@dataclass(frozen=True)
class OutcomeNotice:
    sms: str
    timeline: str


def outcome_notice(
    *,
    case_number: str,
    outcome: Outcome,
    done: Sequence[str],
    not_done: Sequence[NotDone],
    channels: Sequence[str],
) -> OutcomeNotice:
    """The SMS and the timeline line that close a case, saying what to do next."""
    if outcome == "done":
        return OutcomeNotice(
            sms=f"【出生一件事】您的办件{case_number}已全部办结，请登录查看结果和领取方式。",
            timeline="办件已全部办结",
        )
    names = "、".join(n.name for n in not_done)
    where = f"请通过原渠道办理：{'；'.join(channels)}" if channels else "请通过原渠道办理"
    if outcome == "partly_refused":
        finished = "、".join(done)
        if len(not_done) == 1:
            why = not_done[0].why
        else:
            why = "；".join(f"{n.name}{n.why}" for n in not_done)
        return OutcomeNotice(
            sms=(
                f"【出生一件事】您的办件{case_number}部分事项已办结（{finished}），"
                f"{names}未能办理（{why}）。{where}。已办结事项请登录查看结果和领取方式。"
            ),
            timeline=f"办件部分办结：{finished}已办结；{names}未能办理（{why}）。{where}",
        )
    each = "；".join(f"{n.name}（{n.why}）" for n in not_done)
    return OutcomeNotice(
        sms=f"【出生一件事】您的办件{case_number}未能办理：{each}。{where}。",
        timeline=f"办件未能办理：{each}。{where}",
    )
