"""The item plan: which offered items a case runs, and in what dependency order.

A policy pack offers items as a graph whose edges point from a prerequisite to
its dependent (``ItemSpec.after`` lists the direct prerequisites). A case runs
the items the applicant chose; an unchosen item in the middle of a chain is
passed through, so the chosen items keep the order the pack gives them.
"""

from __future__ import annotations

import graphlib
import heapq
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class ItemSpec:
    """One item a policy pack offers, with its direct prerequisites."""

    item: str
    department: str
    after: tuple[str, ...] = ()
    time_limit_days: int | None = None


@dataclass(frozen=True)
class PlannedItem:
    """One item of a case's plan; ``after`` holds its nearest chosen prerequisites."""

    item: str
    department: str
    after: tuple[str, ...] = ()
    time_limit_days: int | None = None


class GraphError(ValueError):
    """The offered item graph is malformed; ``items`` names the items involved."""

    code = "item_graph_invalid"

    def __init__(self, message: str, items: Iterable[str]) -> None:
        super().__init__(message)
        self.items: tuple[str, ...] = tuple(items)


class CycleError(GraphError):
    """The offered items depend on each other in a circle; ``items`` is the circle."""

    code = "item_graph_cycle"


def validate_graph(offered: Sequence[ItemSpec]) -> None:
    """Raise ``GraphError`` (a ``ValueError``) unless ``offered`` is a well-formed DAG.

    Checks: non-empty unique item codes, non-negative time limits, every
    prerequisite is an offered item, no item is its own prerequisite, no cycle.
    """
    seen: set[str] = set()
    for spec in offered:
        if not spec.item:
            raise GraphError("事项代码不能为空", [spec.item])
        if spec.item in seen:
            raise GraphError(f"事项 {spec.item} 重复出现", [spec.item])
        seen.add(spec.item)
        if spec.time_limit_days is not None and spec.time_limit_days < 0:
            raise GraphError(
                f"事项 {spec.item} 的办理时限不能为负数（{spec.time_limit_days}）", [spec.item]
            )
    for spec in offered:
        for prerequisite in spec.after:
            if prerequisite == spec.item:
                raise GraphError(f"事项 {spec.item} 不能以自身为前置事项", [spec.item])
            if prerequisite not in seen:
                raise GraphError(
                    f"事项 {spec.item} 的前置事项 {prerequisite} 不在提供的事项中",
                    [spec.item, prerequisite],
                )
    sorter = graphlib.TopologicalSorter({spec.item: spec.after for spec in offered})
    try:
        sorter.prepare()
    except graphlib.CycleError as error:
        # graphlib reports the circle as [x, ..., x], each node a prerequisite of the next.
        circle = [str(code) for code in error.args[1]]
        raise CycleError("事项之间的前置关系构成循环：" + " → ".join(circle), circle[:-1]) from None


def _ancestors(offered: Sequence[ItemSpec]) -> dict[str, frozenset[str]]:
    """Every offered item's transitive prerequisites (the graph must be valid)."""
    by_code = {spec.item: spec for spec in offered}
    result: dict[str, frozenset[str]] = {}
    for code in graphlib.TopologicalSorter({s.item: s.after for s in offered}).static_order():
        found: set[str] = set()
        for prerequisite in by_code[code].after:
            found.add(prerequisite)
            found |= result[prerequisite]
        result[code] = frozenset(found)
    return result


def _nearest_chosen(
    spec: ItemSpec, by_code: Mapping[str, ItemSpec], chosen: frozenset[str]
) -> set[str]:
    """The chosen items reached by walking up from ``spec``, stopping at each chosen one."""
    found: set[str] = set()
    visited: set[str] = set()
    stack = list(spec.after)
    while stack:
        code = stack.pop()
        if code in visited:
            continue
        visited.add(code)
        if code in chosen:
            found.add(code)
        else:
            stack.extend(by_code[code].after)
    return found


def build_plan(offered: Sequence[ItemSpec], chosen: Iterable[str]) -> list[PlannedItem]:
    """The chosen offered items in dependency order, ties broken by the order of ``offered``.

    Chosen codes that are not offered are ignored; duplicates collapse. Each
    planned item's ``after`` is its chosen direct prerequisites plus, through
    unchosen ones, the nearest chosen ancestors not already covered by another
    member, in the order of ``offered``. Raises ``GraphError`` for a
    malformed ``offered`` graph.
    """
    validate_graph(offered)
    position = {spec.item: index for index, spec in enumerate(offered)}
    by_code = {spec.item: spec for spec in offered}
    picked = frozenset(code for code in chosen if code in position)
    ancestors = _ancestors(offered)

    after: dict[str, tuple[str, ...]] = {}
    for code in picked:
        near = _nearest_chosen(by_code[code], by_code, picked)
        # Declared prerequisites that were chosen stay as the pack states them; ancestors
        # reached through unchosen items are kept only where no other member covers them.
        direct = {p for p in by_code[code].after if p in picked}
        walked = {a for a in near - direct if not any(a in ancestors[b] for b in near if b != a)}
        after[code] = tuple(sorted(direct | walked, key=position.__getitem__))

    # Kahn's algorithm over the chosen items, always taking the earliest offered one.
    waiting_on = {code: len(after[code]) for code in picked}
    dependents: dict[str, list[str]] = {code: [] for code in picked}
    for code in picked:
        for prerequisite in after[code]:
            dependents[prerequisite].append(code)
    heap = [position[code] for code in picked if waiting_on[code] == 0]
    heapq.heapify(heap)
    plan: list[PlannedItem] = []
    while heap:
        spec = offered[heapq.heappop(heap)]
        plan.append(
            PlannedItem(
                item=spec.item,
                department=spec.department,
                after=after[spec.item],
                time_limit_days=spec.time_limit_days,
            )
        )
        for dependent in dependents[spec.item]:
            waiting_on[dependent] -= 1
            if waiting_on[dependent] == 0:
                heapq.heappush(heap, position[dependent])
    return plan


def missing_prerequisites(
    offered: Sequence[ItemSpec], chosen: Iterable[str]
) -> dict[str, tuple[str, ...]]:
    """For each chosen offered item, its direct prerequisites that were not chosen.

    Items with none are omitted. Keys and values follow the order of ``offered``.
    """
    position = {spec.item: index for index, spec in enumerate(offered)}
    picked = {code for code in chosen if code in position}
    result: dict[str, tuple[str, ...]] = {}
    for spec in offered:
        if spec.item not in picked:
            continue
        missing = sorted(
            {p for p in spec.after if p not in picked}, key=lambda p: position.get(p, len(position))
        )
        if missing:
            result[spec.item] = tuple(missing)
    return result


def stages(items: Sequence[tuple[str, Sequence[str]]]) -> list[list[str]]:
    """The items as steps a parent reads left to right: each item one step after the
    latest of its prerequisites among ``items`` (prerequisites outside them, such as
    Jilin's birth certificate issued beforehand, do not hold it back). Within a step the
    items keep the order of ``items``. ``items`` is (code, prerequisites) in plan order;
    a circle (never in a valid plan) raises ``graphlib.CycleError``."""
    present = {code for code, _ in items}
    graph = {code: [p for p in after if p in present] for code, after in items}
    step: dict[str, int] = {}
    for code in graphlib.TopologicalSorter(graph).static_order():
        step[code] = 1 + max((step[p] for p in graph[code]), default=-1)
    out: list[list[str]] = [[] for _ in range(max(step.values(), default=-1) + 1)]
    for code, _ in items:
        out[step[code]].append(code)
    return out
