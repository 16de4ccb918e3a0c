"""Multiple births (多胞胎, issue 11 promise 8, docs/adr/0036-multiple-births.md): one case
for twins or triplets, one item set per newborn.

An item whose result is about one child (the catalogue's ``per_newborn``: the birth
certificate, the birth registration, the vaccination certificate, insurance, the social
security card) runs once per newborn; the others (maternity reimbursement, the mother's;
parenting guidance) once per case. Within a case an item is known by its *key*: its code
for the first newborn (so a single birth is exactly what it was), ``code-2`` for the
second, ``code-3`` for the third. Its prerequisites hold per newborn: baby 2's
registration waits for baby 2's certificate; a per-case item waits for every newborn's
prerequisite.

People never read a key or an index: `newborn_ordinal` says "第二个孩子".
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import replace

from .plan import PlannedItem

SEPARATOR = "-"

_ORDINALS = ("一", "二", "三", "四", "五", "六", "七", "八", "九")


def item_key(item: str, newborn: int) -> str:
    """The key of ``item`` for the newborn at ``newborn`` (0-based) within its case."""
    return item if newborn == 0 else f"{item}{SEPARATOR}{newborn + 1}"


def split_key(key: str) -> tuple[str, int]:
    """``birth_certificate-2`` → (``birth_certificate``, 1); a plain code → (code, 0)."""
    code, _, number = key.partition(SEPARATOR)
    if number.isdigit() and int(number) >= 2:
        return code, int(number) - 1
    return key, 0


def item_code(key: str) -> str:
    """The catalogue code behind a key."""
    return split_key(key)[0]


def newborn_ordinal(newborn: int) -> str:
    """第一个孩子, 第二个孩子, … for the newborn at ``newborn`` (0-based)."""
    if 0 <= newborn < len(_ORDINALS):
        return f"第{_ORDINALS[newborn]}个孩子"
    return f"第{newborn + 1}个孩子"


def plan_per_newborn(
    plan: Sequence[PlannedItem], per_newborn: Collection[str], newborns: int
) -> list[tuple[int, PlannedItem]]:
    """The plan as the case runs it: each per-newborn item once per newborn (its
    ``item`` the key, paired with the newborn's index), each other item once (index 0).

    The copies of an item follow each other where the item stood, so prerequisites stay
    before their dependents. A per-newborn item's per-newborn prerequisites are the same
    newborn's; a per-case item waits for each newborn's copy. One newborn (or none): the
    plan unchanged."""
    count = max(newborns, 1)
    if count == 1:
        return [(0, planned) for planned in plan]
    copied = {p.item for p in plan if p.item in per_newborn}
    out: list[tuple[int, PlannedItem]] = []
    for planned in plan:
        if planned.item in copied:
            for newborn in range(count):
                after = tuple(item_key(p, newborn) if p in copied else p for p in planned.after)
                out.append(
                    (newborn, replace(planned, item=item_key(planned.item, newborn), after=after))
                )
        else:
            after = tuple(
                key
                for p in planned.after
                for key in ([item_key(p, n) for n in range(count)] if p in copied else [p])
            )
            out.append((0, replace(planned, after=after)))
    return out
