"""A case's item graph as an immutable value, changed only by events.

Every operation returns the new ``CaseItems`` and the events it emitted; the
new value is always ``old.apply(events)``, so a store that keeps the events can
rebuild the states with ``CaseItems.initial(plan).apply(all_events)``.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import ClassVar, TypeAlias, assert_never

from onestop.core.errors import OnestopError

from .plan import PlannedItem
from .states import IllegalTransition, ItemState, is_terminal

WITHDRAWN = "withdrawn"
"""``ItemCancelled.because`` when the whole case was withdrawn."""


class UnknownItem(OnestopError, KeyError):
    """The case has no item with this code."""

    code = "unknown_item"

    def __init__(self, item: str) -> None:
        super().__init__(f"本办件没有事项 {item}")
        self.item = item


# --- events ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ItemEvent:
    """Something that happened to one item at one time; ``kind`` names the type for storage."""

    item: str
    at: datetime

    kind: ClassVar[str] = "item_event"


@dataclass(frozen=True)
class ItemBecameReady(ItemEvent):
    """All prerequisites are done; the item goes to its department and its clock starts."""

    kind: ClassVar[str] = "item_became_ready"


@dataclass(frozen=True)
class ItemClaimed(ItemEvent):
    """An officer (or a department system) took the item."""

    officer: str

    kind: ClassVar[str] = "item_claimed"


@dataclass(frozen=True)
class ItemCompleted(ItemEvent):
    """The department issued the result (treat ``result`` as read-only)."""

    result: Mapping[str, object]

    kind: ClassVar[str] = "item_completed"


@dataclass(frozen=True)
class ItemReturned(ItemEvent):
    """Returned to the applicant for a supplement; the clock pauses."""

    reasons: tuple[str, ...]

    kind: ClassVar[str] = "item_returned"


@dataclass(frozen=True)
class ItemResumed(ItemEvent):
    """The supplement arrived; the item is back where it was and the clock runs again."""

    kind: ClassVar[str] = "item_resumed"


@dataclass(frozen=True)
class ItemReleased(ItemEvent):
    """The second parent confirmed (父母双方签字): a held item may go once its
    prerequisites are done."""

    kind: ClassVar[str] = "item_released"


@dataclass(frozen=True)
class ItemRefused(ItemEvent):
    """The department refused the item (转线下办理)."""

    reasons: tuple[str, ...]

    kind: ClassVar[str] = "item_refused"


@dataclass(frozen=True)
class ItemCancelled(ItemEvent):
    """Stopped: ``because`` is the refused prerequisite's code, or ``"withdrawn"``."""

    because: str

    kind: ClassVar[str] = "item_cancelled"


Event: TypeAlias = (
    ItemBecameReady
    | ItemClaimed
    | ItemCompleted
    | ItemReturned
    | ItemResumed
    | ItemReleased
    | ItemRefused
    | ItemCancelled
)

EVENT_TYPES: Mapping[str, type[ItemEvent]] = {
    cls.kind: cls
    for cls in (
        ItemBecameReady,
        ItemClaimed,
        ItemCompleted,
        ItemReturned,
        ItemResumed,
        ItemReleased,
        ItemRefused,
        ItemCancelled,
    )
}
"""Event classes by ``kind``, for a store that rebuilds events from rows."""


# --- state ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ItemStatus:
    """One item of a case: its plan entry and where it stands.

    ``reasons`` belong to the current return or refusal (empty otherwise);
    ``ready_at`` is when it was dispatched (its clock starts); ``updated_at`` is
    the time of its last event. ``held``: the item waits for the other parent's
    confirmation (父母双方签字, ADR 0029) besides its prerequisites; it is not dispatched
    until `CaseItems.release`, and may be refused while it waits.
    """

    item: str
    department: str
    after: tuple[str, ...]
    time_limit_days: int | None
    state: ItemState = ItemState.WAITING
    state_before_return: ItemState | None = None
    officer: str | None = None
    result: Mapping[str, object] | None = None
    reasons: tuple[str, ...] = ()
    cancelled_because: str | None = None
    ready_at: datetime | None = None
    updated_at: datetime | None = None
    held: bool = False

    @property
    def planned(self) -> PlannedItem:
        """The plan entry this status was made from."""
        return PlannedItem(
            item=self.item,
            department=self.department,
            after=self.after,
            time_limit_days=self.time_limit_days,
        )


def _require_aware(at: datetime) -> None:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"event time must carry a time zone: {at.isoformat()}")


def _require_reasons(reasons: Iterable[str]) -> tuple[str, ...]:
    cleaned = tuple(reasons)
    if not cleaned or not all(isinstance(r, str) and r for r in cleaned):
        raise ValueError("reasons must be a non-empty list of non-empty strings")
    return cleaned


@dataclass(frozen=True)
class CaseItems:
    """The items of one case in plan order (prerequisites before dependents)."""

    items: tuple[ItemStatus, ...]
    _index: Mapping[str, int] = field(init=False, repr=False, compare=False)
    _dependents: Mapping[str, tuple[str, ...]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        index: dict[str, int] = {}
        dependents: dict[str, list[str]] = {}
        for position, status in enumerate(self.items):
            if status.item in index:
                raise ValueError(f"事项 {status.item} 在计划中重复出现")
            if len(set(status.after)) != len(status.after):
                raise ValueError(f"事项 {status.item} 的前置事项重复：{status.after}")
            for prerequisite in status.after:
                if prerequisite not in index:
                    raise ValueError(
                        f"事项 {status.item} 的前置事项 {prerequisite} 必须在计划中排在它之前"
                    )
                dependents[prerequisite].append(status.item)
            index[status.item] = position
            dependents[status.item] = []
        object.__setattr__(self, "_index", index)
        object.__setattr__(self, "_dependents", {k: tuple(v) for k, v in dependents.items()})

    # -- construction --

    @classmethod
    def initial(cls, plan: Sequence[PlannedItem], held: Collection[str] = ()) -> CaseItems:
        """Every planned item WAITING, before any event; the base for ``apply``. ``held``:
        the items that also wait for the other parent's confirmation."""
        unknown = set(held) - {p.item for p in plan}
        if unknown:
            raise UnknownItem(sorted(unknown)[0])
        return cls(
            tuple(
                ItemStatus(
                    item=p.item,
                    department=p.department,
                    after=tuple(p.after),
                    time_limit_days=p.time_limit_days,
                    held=p.item in held,
                )
                for p in plan
            )
        )

    @classmethod
    def start(
        cls, plan: Sequence[PlannedItem], at: datetime, held: Collection[str] = ()
    ) -> tuple[CaseItems, list[Event]]:
        """Accept the case: items without prerequisites become READY (unless held for a
        confirmation), the rest WAIT."""
        _require_aware(at)
        if not plan:
            raise ValueError("a case needs at least one item")
        initial = cls.initial(plan, held)
        events: list[Event] = [
            ItemBecameReady(item=p.item, at=at) for p in plan if not p.after and p.item not in held
        ]
        return initial.apply(events), events

    # -- queries --

    @property
    def plan(self) -> tuple[PlannedItem, ...]:
        """The plan this case runs."""
        return tuple(status.planned for status in self.items)

    def __contains__(self, item: object) -> bool:
        return item in self._index

    def status_of(self, item: str) -> ItemStatus:
        """The status of ``item``; ``UnknownItem`` (a ``KeyError``) if the case has none."""
        try:
            return self.items[self._index[item]]
        except KeyError:
            raise UnknownItem(item) from None

    def state_of(self, item: str) -> ItemState:
        """The state of ``item``."""
        return self.status_of(item).state

    def ready_items(self) -> tuple[str, ...]:
        """The READY items, in plan order."""
        return tuple(s.item for s in self.items if s.state is ItemState.READY)

    def dependents_of(self, item: str) -> tuple[str, ...]:
        """Every item that depends on ``item`` directly or through others, in plan order."""
        self.status_of(item)
        found: set[str] = set()
        stack = list(self._dependents[item])
        while stack:
            code = stack.pop()
            if code not in found:
                found.add(code)
                stack.extend(self._dependents[code])
        return tuple(s.item for s in self.items if s.item in found)

    def ancestors_of(self, item: str) -> tuple[str, ...]:
        """Every prerequisite of ``item``, direct or through others, in plan order."""
        found: set[str] = set()
        stack = list(self.status_of(item).after)
        while stack:
            code = stack.pop()
            if code not in found:
                found.add(code)
                stack.extend(self.status_of(code).after)
        return tuple(s.item for s in self.items if s.item in found)

    def is_finished(self) -> bool:
        """Whether every item is terminal (done, refused or cancelled)."""
        return all(is_terminal(s.state) for s in self.items)

    # -- operations --

    def claim(self, item: str, at: datetime, officer: str) -> tuple[CaseItems, list[Event]]:
        """An officer takes a READY item."""
        _require_aware(at)
        if not officer:
            raise ValueError("officer must not be empty")
        return self._emit([ItemClaimed(item=item, at=at, officer=officer)])

    def complete(
        self, item: str, at: datetime, result: Mapping[str, object]
    ) -> tuple[CaseItems, list[Event]]:
        """Issue the result of a READY or IN_PROGRESS item; ready the dependents it unblocks."""
        _require_aware(at)
        done, events = self._emit([ItemCompleted(item=item, at=at, result=dict(result))])
        unblocked: list[Event] = [
            ItemBecameReady(item=code, at=at)
            for code in done._dependents[item]
            if done._can_go(code)
        ]
        return done.apply(unblocked), events + unblocked

    def _can_go(self, code: str) -> bool:
        status = self.status_of(code)
        return (
            status.state is ItemState.WAITING
            and not status.held
            and all(self.state_of(p) is ItemState.DONE for p in status.after)
        )

    def release(self, item: str, at: datetime) -> tuple[CaseItems, list[Event]]:
        """The other parent confirmed a held item: it goes to its department now if its
        prerequisites are done, else when they are."""
        _require_aware(at)
        released, events = self._emit([ItemReleased(item=item, at=at)])
        ready: list[Event] = [ItemBecameReady(item=item, at=at)] if released._can_go(item) else []
        return released.apply(ready), events + ready

    def return_for_supplement(
        self, item: str, at: datetime, reasons: Iterable[str]
    ) -> tuple[CaseItems, list[Event]]:
        """Return a READY or IN_PROGRESS item to the applicant; its clock pauses."""
        _require_aware(at)
        return self._emit([ItemReturned(item=item, at=at, reasons=_require_reasons(reasons))])

    def resume(self, item: str, at: datetime) -> tuple[CaseItems, list[Event]]:
        """The supplement arrived: a RETURNED item goes back to its state before the return."""
        _require_aware(at)
        return self._emit([ItemResumed(item=item, at=at)])

    def refuse(
        self, item: str, at: datetime, reasons: Iterable[str]
    ) -> tuple[CaseItems, list[Event]]:
        """Refuse an item; every non-terminal item depending on it is cancelled."""
        _require_aware(at)
        refused, events = self._emit(
            [ItemRefused(item=item, at=at, reasons=_require_reasons(reasons))]
        )
        cancelled: list[Event] = [
            ItemCancelled(item=code, at=at, because=item)
            for code in refused.dependents_of(item)
            if not is_terminal(refused.state_of(code))
        ]
        return refused.apply(cancelled), events + cancelled

    def withdraw(self, at: datetime) -> tuple[CaseItems, list[Event]]:
        """The case is withdrawn: every non-terminal item is cancelled (none: no events)."""
        _require_aware(at)
        return self._emit(
            [
                ItemCancelled(item=s.item, at=at, because=WITHDRAWN)
                for s in self.items
                if not is_terminal(s.state)
            ]
        )

    def _emit(self, events: list[Event]) -> tuple[CaseItems, list[Event]]:
        return self.apply(events), events

    # -- folding events --

    def apply(self, events: Iterable[Event]) -> CaseItems:
        """Fold ``events`` into the states; raises ``IllegalTransition`` for an impossible one."""
        items = list(self.items)
        for event in events:
            position = self._index.get(event.item)
            if position is None:
                raise UnknownItem(event.item)
            items[position] = self._evolve(items, items[position], event)
        return replace(self, items=tuple(items))

    def _evolve(self, items: list[ItemStatus], status: ItemStatus, event: Event) -> ItemStatus:
        src = status.state
        at = event.at

        def state(code: str) -> ItemState:
            return items[self._index[code]].state

        match event:
            case ItemBecameReady():
                if src is not ItemState.WAITING:
                    raise IllegalTransition(event.item, src, ItemState.READY)
                pending = [p for p in status.after if state(p) is not ItemState.DONE]
                if pending:
                    raise IllegalTransition(
                        event.item,
                        src,
                        ItemState.READY,
                        detail="前置事项 " + "、".join(pending) + " 尚未办结",
                    )
                if status.held:
                    raise IllegalTransition(
                        event.item, src, ItemState.READY, detail="等待另一方父母确认"
                    )
                return replace(status, state=ItemState.READY, ready_at=at, updated_at=at)
            case ItemClaimed(officer=officer):
                if src is not ItemState.READY:
                    raise IllegalTransition(event.item, src, ItemState.IN_PROGRESS)
                return replace(status, state=ItemState.IN_PROGRESS, officer=officer, updated_at=at)
            case ItemCompleted(result=result):
                if src not in (ItemState.READY, ItemState.IN_PROGRESS):
                    raise IllegalTransition(event.item, src, ItemState.DONE)
                return replace(status, state=ItemState.DONE, result=result, updated_at=at)
            case ItemReturned(reasons=reasons):
                if src not in (ItemState.READY, ItemState.IN_PROGRESS):
                    raise IllegalTransition(event.item, src, ItemState.RETURNED)
                return replace(
                    status,
                    state=ItemState.RETURNED,
                    state_before_return=src,
                    reasons=reasons,
                    updated_at=at,
                )
            case ItemResumed():
                back = status.state_before_return
                if src is not ItemState.RETURNED or back is None:
                    raise IllegalTransition(
                        event.item, src, ItemState.READY, action_zh="补正后恢复办理"
                    )
                return replace(
                    status, state=back, state_before_return=None, reasons=(), updated_at=at
                )
            case ItemReleased():
                if src is not ItemState.WAITING or not status.held:
                    raise IllegalTransition(
                        event.item, src, ItemState.READY, action_zh="确认后放行"
                    )
                return replace(status, held=False, updated_at=at)
            case ItemRefused(reasons=reasons):
                # A held item may be refused while it waits: the other parent refused, or
                # did not answer in time (ADR 0029).
                held_waiting = src is ItemState.WAITING and status.held
                if not held_waiting and src not in (
                    ItemState.READY,
                    ItemState.IN_PROGRESS,
                    ItemState.RETURNED,
                ):
                    raise IllegalTransition(event.item, src, ItemState.REFUSED)
                return replace(
                    status,
                    held=False,
                    state=ItemState.REFUSED,
                    state_before_return=None,
                    reasons=reasons,
                    updated_at=at,
                )
            case ItemCancelled(because=because):
                if is_terminal(src):
                    raise IllegalTransition(event.item, src, ItemState.CANCELLED)
                if because != WITHDRAWN and not (
                    because in self.ancestors_of(event.item) and state(because) is ItemState.REFUSED
                ):
                    raise IllegalTransition(
                        event.item,
                        src,
                        ItemState.CANCELLED,
                        detail=f"{because} 不是已被不予办理的前置事项",
                    )
                return replace(
                    status,
                    state=ItemState.CANCELLED,
                    state_before_return=None,
                    cancelled_because=because,
                    updated_at=at,
                )
            case _:  # pragma: no cover
                assert_never(event)
