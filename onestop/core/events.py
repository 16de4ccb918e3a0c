"""Domain events and the one table of their effects.

Services change state and record what happened as past-tense events (``CaseDecided``,
``ItemCompleted``, …); `emit` runs every handler registered for the event, synchronously,
in the caller's transaction: the timeline line, the messages and webhooks for the outbox
(sent after commit by the workers), the e-licence, the automatic steps. So a change and all
of its effects commit or roll back together, and a new effect is one registered handler,
not an edit of every service that causes the event.

The dispatcher is here, in the lowest layer, so that any app can emit; each app registers
the handlers for its own effects when Django starts (``AppConfig.ready``), so a lower layer
never imports an upper one (integration registers the webhooks, certificates the
e-licences). `handlers_table` lists the whole table, in order; docs/architecture.md shows it
and a test keeps it complete.

Order: the handlers of one event run by `Phase`, then in registration order. Events a
handler emits (an automatic step completes an item) are queued and handled after the
current event, never in the middle of it, so every handler of an event sees the state the
service left, and the order of lines and messages is that of the events.

End of a dispatch: when the events of one `emit` (and those its handlers emitted) are all
handled, the hooks registered with `Effects.on_dispatched` run, still in the caller's
transaction — the notifications app writes there the messages it held, one per recipient
for the whole state change (issue 10: messages coalesced per recipient and state change).
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import IntEnum
from typing import Any, ClassVar, TypeVar


class Phase(IntEnum):
    """When a handler runs among those of the same event."""

    RECORD = 10  # the timeline line people read
    ISSUE = 20  # documents issued because of the event (e-licences)
    MESSAGE = 30  # SMS and in-app messages to the parents (outbox)
    PUBLISH = 40  # webhooks to department systems (outbox)
    FOLLOW = 50  # the state changes the event leads to (dispatch, automatic steps)


class Event:
    """Base of the domain events. Subclasses are frozen dataclasses with a unique
    ``name`` (snake_case, past tense) and a one-line docstring saying what happened."""

    name: ClassVar[str] = ""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if not cls.name:
            return  # an abstract grouping (e.g. every item event)
        known = _EVENT_TYPES.get(cls.name)
        if known is not None and known.__qualname__ != cls.__qualname__:
            raise TypeError(f"two event types are named {cls.name!r}")
        _EVENT_TYPES[cls.name] = cls


_EVENT_TYPES: dict[str, type[Event]] = {}

E = TypeVar("E", bound=Event)


def event_types(*, with_tests: bool = False) -> dict[str, type[Event]]:
    """Every concrete event type defined so far, by name (the product's: not those that
    tests define, unless ``with_tests``)."""
    return {
        name: cls
        for name, cls in _EVENT_TYPES.items()
        if with_tests or ".tests." not in f"{cls.__module__}."
    }


@dataclass(frozen=True)
class Handler:
    event: type[Event]
    phase: Phase
    effect: str  # what it does, for people reading the table
    run: Callable[[Any], None]

    @property
    def qualname(self) -> str:
        return f"{self.run.__module__}.{self.run.__qualname__}"


@dataclass(frozen=True)
class TableRow:
    event: str
    phase: str
    effect: str
    handler: str


class Effects:
    """The registry of handlers and the dispatcher."""

    def __init__(self) -> None:
        self._handlers: dict[type[Event], list[Handler]] = {}
        self._local = threading.local()
        self._finishers: list[tuple[Callable[[], None], Callable[[], None]]] = []

    def on_dispatched(
        self, finish: Callable[[], None], *, on_error: Callable[[], None], first: bool = False
    ) -> None:
        """Run ``finish`` at the end of every outermost `emit` whose handlers all ran (in
        the caller's transaction), ``on_error`` instead when one raised (registering the
        same pair twice is a no-op). In registration order; ``first``: before those
        registered so far."""
        if (finish, on_error) not in self._finishers:
            self._finishers.insert(0 if first else len(self._finishers), (finish, on_error))

    def dispatching(self) -> bool:
        """Whether this thread is inside `emit` (handling a state change's events)."""
        return getattr(self._local, "queue", None) is not None

    def dispatch_number(self) -> int:
        """Which outermost `emit` of this thread is running (a count): what joins within
        one state change is told apart from the next one's under `held` (review of
        session 26: an API batch's tasks are one state change each)."""
        return int(getattr(self._local, "dispatch", 0))

    def register(
        self, event: type[E], *, phase: Phase, effect: str
    ) -> Callable[[Callable[[E], None]], Callable[[E], None]]:
        """Decorator: run the function for every ``event`` (registering twice is a no-op,
        so ``ready()`` may run more than once)."""

        def decorate(run: Callable[[E], None]) -> Callable[[E], None]:
            handlers = self._handlers.setdefault(event, [])
            name = f"{run.__module__}.{run.__qualname__}"
            if all(f"{h.run.__module__}.{h.run.__qualname__}" != name for h in handlers):
                handlers.append(Handler(event, phase, effect, run))
                handlers.sort(key=lambda h: h.phase)  # stable: registration order per phase
            return run

        return decorate

    def handlers(self, event: type[Event]) -> list[Handler]:
        return list(self._handlers.get(event, ()))

    def emit(self, *events: Event) -> None:
        """Run the handlers of ``events`` (call inside the change's transaction)."""
        queue: deque[Event] | None = getattr(self._local, "queue", None)
        if queue is not None:  # emitted by a handler: after the current event
            queue.extend(events)
            return
        queue = self._local.queue = deque(events)
        self._local.dispatch = getattr(self._local, "dispatch", 0) + 1
        try:
            while queue:
                event = queue.popleft()
                for handler in self._handlers.get(type(event), ()):
                    handler.run(event)
        except BaseException:
            self._local.queue = None
            for _, on_error in self._finishers:
                on_error()
            raise
        self._local.queue = None
        if getattr(self._local, "held", None) is not None:
            self._local.held = True  # finished when the hold ends (`held`)
            return
        self._finish()

    def _finish(self) -> None:
        for n, (finish, _) in enumerate(self._finishers):
            try:
                finish()
            except BaseException:  # the rest hold nothing over for the next dispatch
                for _, on_error in self._finishers[n + 1 :]:
                    on_error()
                raise

    @contextmanager
    def held(self) -> Iterator[None]:
        """Several state changes in a row (an API batch's tasks, issue 10, session 26) as
        one dispatch's end: what each outermost `emit` inside leaves to its finishers (the
        webhook deliveries, messages and timeline lines, each one INSERT) is written once
        when the block ends, for them all. An error in any of them, or leaving the block,
        discards all they held: use it only where such an error undoes every change made
        inside (the caller's transaction rolled back, or run again)."""
        if getattr(self._local, "held", None) is not None:
            raise RuntimeError("effects.held() is already in force in this thread")
        self._local.held = False  # True once an emit's finishers are owed
        try:
            yield
        except BaseException:
            self._local.held = None
            for _, on_error in self._finishers:
                on_error()
            raise
        owed = self._local.held
        self._local.held = None
        if owed:
            self._finish()

    def table(self, events: Iterable[type[Event]] | None = None) -> list[TableRow]:
        """The handler table: each event type with its handlers, in the order they run."""
        types = list(events) if events is not None else list(event_types().values())
        return [
            TableRow(event.name, handler.phase.name.lower(), handler.effect, handler.qualname)
            for event in types
            for handler in self._handlers.get(event, ())
        ]


effects = Effects()
"""The product's registry: ``effects.register`` in ``AppConfig.ready``, ``emit`` in services."""

emit = effects.emit


def handlers_table() -> list[TableRow]:
    """Every event type and the effects it leads to, in order (after Django set up)."""
    return effects.table()


def handlers_table_text() -> str:
    """The table as Markdown (docs/architecture.md carries a copy; a test compares)."""
    lines = ["| event | phase | effect | handler |", "|---|---|---|---|"]
    for name, cls in sorted(event_types().items()):
        rows = effects.table([cls])
        if not rows:
            lines.append(f"| `{name}` | — | (none) | — |")
        for row in rows:
            lines.append(f"| `{row.event}` | {row.phase} | {row.effect} | `{row.handler}` |")
    return "\n".join(lines)
