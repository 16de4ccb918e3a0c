"""Properties over random offered graphs, random choices and random operation sequences."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import event, given
from hypothesis import strategies as st

from onestop.workflow.domain import (
    WITHDRAWN,
    CaseItems,
    Event,
    IllegalTransition,
    ItemBecameReady,
    ItemSpec,
    ItemState,
    PlannedItem,
    build_plan,
    can_transition,
    is_terminal,
    missing_prerequisites,
)

from .examples import T0

S = ItemState


@st.composite
def offered_graphs(draw: st.DrawFn) -> list[ItemSpec]:
    """A random DAG: edges only from a lower to a higher index, then shuffled."""
    n = draw(st.integers(min_value=1, max_value=8))
    names = [f"i{k}" for k in range(n)]
    specs = []
    for k in range(n):
        after = draw(st.lists(st.sampled_from(names[:k]), unique=True)) if k else []
        limit = draw(st.none() | st.integers(min_value=0, max_value=30))
        specs.append(ItemSpec(names[k], f"d{k % 3}", tuple(after), limit))
    return list(draw(st.permutations(specs)))


@st.composite
def graphs_and_choices(draw: st.DrawFn) -> tuple[list[ItemSpec], list[str]]:
    offered = draw(offered_graphs())
    pool = [s.item for s in offered] + ["unknown_item"]
    return offered, draw(st.lists(st.sampled_from(pool), max_size=12))


def _ancestors(offered: list[ItemSpec]) -> dict[str, set[str]]:
    by_code = {s.item: s for s in offered}
    result: dict[str, set[str]] = {}

    def walk(code: str) -> set[str]:
        if code not in result:
            found: set[str] = set()
            for p in by_code[code].after:
                found |= {p} | walk(p)
            result[code] = found
        return result[code]

    for s in offered:
        walk(s.item)
    return result


@given(graphs_and_choices())
def test_plan_properties(case: tuple[list[ItemSpec], list[str]]) -> None:
    offered, chosen = case
    plan = build_plan(offered, chosen)
    position = {s.item: i for i, s in enumerate(offered)}
    ancestors = _ancestors(offered)
    picked = {c for c in chosen if c in position}
    planned = [p.item for p in plan]

    assert len(planned) == len(set(planned))
    assert set(planned) == picked
    placed: set[str] = set()
    for index, p in enumerate(plan):
        spec = offered[position[p.item]]
        assert (p.department, p.time_limit_days) == (spec.department, spec.time_limit_days)
        # respects the edges: every `after` item is earlier and an ancestor in the offered graph
        assert set(p.after) <= placed
        assert set(p.after) <= ancestors[p.item] & picked
        assert list(p.after) == sorted(p.after, key=position.__getitem__)
        # declared chosen prerequisites are kept; ancestors reached through unchosen items
        # are reduced, yet every chosen ancestor stays reachable
        direct = {a for a in spec.after if a in picked}
        assert direct <= set(p.after)
        for a in set(p.after) - direct:
            assert not any(a in ancestors[b] for b in p.after if b != a)
        covered = set(p.after).union(*(ancestors[a] for a in p.after))
        assert ancestors[p.item] & picked <= covered
        # ties broken by the offered order: the earliest offered item whose prerequisites are placed
        available = [q for q in plan[index:] if set(q.after) <= placed]
        assert p.item == min((q.item for q in available), key=position.__getitem__)
        placed.add(p.item)

    missing = missing_prerequisites(offered, chosen)
    for spec in offered:
        expected = tuple(a for a in sorted(spec.after, key=position.__getitem__) if a not in picked)
        if spec.item in picked and expected:
            assert missing[spec.item] == expected
        else:
            assert spec.item not in missing


OPERATIONS = [
    "claim",
    "claim",
    "complete",
    "complete",
    "complete",
    "return",
    "return",
    "resume",
    "resume",
    "refuse",
]
LEGAL_FROM = {
    "claim": {S.READY},
    "complete": {S.READY, S.IN_PROGRESS},
    "return": {S.READY, S.IN_PROGRESS},
    "resume": {S.RETURNED},
    "refuse": {S.READY, S.IN_PROGRESS, S.RETURNED},
}


def _perform(case: CaseItems, op: str, item: str, step: int) -> tuple[CaseItems, list[Event]]:
    at = T0 + timedelta(minutes=step)
    if op == "claim":
        return case.claim(item, at, f"officer-{step}")
    if op == "complete":
        return case.complete(item, at, {"step": step})
    if op == "return":
        return case.return_for_supplement(item, at, [f"reason-{step}"])
    if op == "resume":
        return case.resume(item, at)
    if op == "refuse":
        return case.refuse(item, at, [f"reason-{step}"])
    return case.withdraw(at)


def _check_invariants(case: CaseItems, withdrawn: bool) -> None:
    for status in case.items:
        prerequisites_done = all(case.state_of(p) is S.DONE for p in status.after)
        if status.state in (S.READY, S.IN_PROGRESS, S.DONE, S.RETURNED):
            assert prerequisites_done, status
        if status.state is S.WAITING:
            assert not prerequisites_done, f"{status.item} is stuck waiting"
        if status.state is S.CANCELLED:
            because = status.cancelled_because
            if because == WITHDRAWN:
                assert withdrawn
            else:
                assert because in case.ancestors_of(status.item)
                assert because is not None and case.state_of(because) is S.REFUSED
        assert (status.state is S.RETURNED) == (status.state_before_return is not None)


@given(graphs_and_choices(), st.data())
def test_operation_sequences(graph: tuple[list[ItemSpec], list[str]], data: st.DataObject) -> None:
    offered, chosen = graph
    plan: list[PlannedItem] = build_plan(offered, chosen) or build_plan(offered, [offered[0].item])
    case, log = CaseItems.start(plan, T0)
    assert [e.item for e in log] == [p.item for p in plan if not p.after]
    withdrawn = False
    _check_invariants(case, withdrawn)

    for step in range(1, data.draw(st.integers(min_value=5, max_value=40)) + 1):
        if case.is_finished():
            break
        rare = data.draw(st.integers(min_value=0, max_value=39)) == 0
        op = "withdraw" if rare else data.draw(st.sampled_from(OPERATIONS))
        legal = [s.item for s in case.items if s.state in LEGAL_FROM.get(op, set())]
        if data.draw(st.integers(min_value=0, max_value=4)) > 0 and legal:
            item = data.draw(st.sampled_from(legal))
        else:
            item = data.draw(st.sampled_from([p.item for p in plan]))
        before = case
        old = {s.item: s for s in before.items}
        expect_legal = op == "withdraw" or old[item].state in LEGAL_FROM[op]
        try:
            case, events = _perform(case, op, item, step)
        except IllegalTransition as error:
            assert not expect_legal
            assert error.item == item and error.src is old[item].state
            event(f"{op}: refused as illegal")
            continue
        assert expect_legal
        event(f"{op}: done" + (" with cascade" if len(events) > 1 else ""))
        withdrawn = withdrawn or op == "withdraw"
        log += events
        assert before.apply(events) == case
        assert all(e.at == T0 + timedelta(minutes=step) for e in events)

        changed = {s.item for s in case.items if s != old[s.item]}
        assert changed == {e.item for e in events}
        for code in changed:
            src, dst = old[code].state, case.state_of(code)
            # terminal items (DONE among them) never change
            assert not is_terminal(src)
            assert src == dst or can_transition(src, dst)

        if op == "refuse":
            assert case.state_of(item) is S.REFUSED
            dependents = set(before.dependents_of(item))
            assert changed == {item} | {d for d in dependents if not is_terminal(old[d].state)}
            assert all(case.state_of(d) is S.CANCELLED for d in changed - {item})
        if op == "complete":
            newly_ready = {e.item for e in events if isinstance(e, ItemBecameReady)}
            assert newly_ready == {
                s.item
                for s in case.items
                if item in s.after and old[s.item].state is S.WAITING and s.state is S.READY
            }
            assert newly_ready <= set(before.dependents_of(item))
        if op == "withdraw":
            assert case.is_finished()
        _check_invariants(case, withdrawn)

    assert CaseItems.initial(plan).apply(log) == case
