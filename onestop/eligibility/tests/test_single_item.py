"""One item alone (issue 11, promise 12; ADR 0034; Jilin 三(二): 不得以“一件事联办”为理由
拒绝群众通过原渠道办理): a parent who wants one item only, or was refused for the bundle,
can apply for that item with its prerequisites. For every region and every item it offers,
the accepted example with only that item and what it waits for is accepted."""

from __future__ import annotations

import pytest

from onestop.policy.loader import default_packs

from .support import ACCEPT, REGIONS, accepted, check


def with_prerequisites(region: str, item: str) -> list[str]:
    pack = default_packs().current(region)
    assert pack is not None
    after = {e.item: e.after for e in pack.items}
    out, todo = [], [item]
    while todo:
        code = todo.pop()
        if code not in out:
            out.append(code)
            todo.extend(after.get(code, []))
    return [e.item for e in pack.items if e.item in out]


CASES = [
    (region, entry.item)
    for region in REGIONS
    for entry in default_packs().current(region).items  # type: ignore[union-attr]
    if not entry.automatic
]


@pytest.mark.parametrize(("region", "item"), CASES)
def test_one_item_with_its_prerequisites_is_accepted(region: str, item: str) -> None:
    raw = accepted(region)
    raw["items"] = with_prerequisites(region, item)
    decision = check(raw)
    assert decision.outcome is ACCEPT, (raw["items"], decision.as_json()["reasons"])
    assert {p.item for p in decision.plan} == set(raw["items"])
