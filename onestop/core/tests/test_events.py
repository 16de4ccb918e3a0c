"""The dispatcher of domain events, without Django: handlers by phase, events emitted by a
handler handled after the current one, nothing left queued after a failure."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest

from onestop.core.events import Effects, Event, Phase, event_types


@dataclass(frozen=True)
class Poked(Event):
    """Test event."""

    name = "test_poked"
    n: int


@dataclass(frozen=True)
class Echoed(Event):
    """Test event."""

    name = "test_echoed"
    n: int


def test_handlers_run_by_phase_then_in_registration_order_and_register_once():
    effects = Effects()
    seen: list[str] = []

    @effects.register(Poked, phase=Phase.PUBLISH, effect="publish")
    def publish(event: Poked) -> None:
        seen.append(f"publish {event.n}")

    @effects.register(Poked, phase=Phase.RECORD, effect="record")
    def record(event: Poked) -> None:
        seen.append(f"record {event.n}")

    @effects.register(Poked, phase=Phase.RECORD, effect="record again")
    def record_again(event: Poked) -> None:
        seen.append(f"again {event.n}")

    effects.register(Poked, phase=Phase.RECORD, effect="record")(record)  # ready() twice
    effects.emit(Poked(n=1), Poked(n=2))
    assert seen == ["record 1", "again 1", "publish 1", "record 2", "again 2", "publish 2"]
    assert [(r.event, r.phase, r.effect) for r in effects.table([Poked])] == [
        ("test_poked", "record", "record"),
        ("test_poked", "record", "record again"),
        ("test_poked", "publish", "publish"),
    ]
    assert event_types(with_tests=True)["test_poked"] is Poked
    assert "test_poked" not in event_types()  # the product's table lists its own events


def test_events_emitted_by_a_handler_come_after_the_current_event():
    effects = Effects()
    seen: list[str] = []

    @effects.register(Poked, phase=Phase.FOLLOW, effect="follow")
    def follow(event: Poked) -> None:
        seen.append(f"follow {event.n}")
        effects.emit(Echoed(n=event.n))
        seen.append(f"follow {event.n} done")

    @effects.register(Poked, phase=Phase.FOLLOW, effect="last")
    def last(event: Poked) -> None:
        seen.append(f"last {event.n}")

    @effects.register(Echoed, phase=Phase.RECORD, effect="echo")
    def echo(event: Echoed) -> None:
        seen.append(f"echo {event.n}")

    effects.emit(Poked(n=1), Poked(n=2))
    assert seen == [
        "follow 1",
        "follow 1 done",
        "last 1",
        "follow 2",
        "follow 2 done",
        "last 2",
        "echo 1",
        "echo 2",
    ]


def test_a_failing_handler_stops_the_rest_and_leaves_nothing_queued():
    effects = Effects()
    seen: list[int] = []

    @effects.register(Poked, phase=Phase.RECORD, effect="fails on 2")
    def fails(event: Poked) -> None:
        if event.n == 2:
            raise ValueError("no")
        seen.append(event.n)

    with pytest.raises(ValueError):
        effects.emit(Poked(n=1), Poked(n=2), Poked(n=3))
    assert seen == [1]
    effects.emit(Poked(n=4))  # a fresh start: 3 was dropped with the failed transaction
    assert seen == [1, 4]


def test_two_event_types_cannot_share_a_name():
    with pytest.raises(TypeError):

        @dataclass(frozen=True)
        class Other(Event):
            name = "test_poked"


def test_finishers_run_in_order_first_ahead_and_a_failing_one_discards_the_rest():
    effects = Effects()
    calls: list[str] = []
    failing: set[str] = set()

    def pair(name: str) -> tuple[Callable[[], None], Callable[[], None]]:
        def finish() -> None:
            calls.append(f"finish {name}")
            if name in failing:
                raise RuntimeError(name)

        def discard() -> None:
            calls.append(f"discard {name}")

        return finish, discard

    a, b, c = pair("a"), pair("b"), pair("c")
    effects.on_dispatched(a[0], on_error=a[1])
    effects.on_dispatched(b[0], on_error=b[1])
    effects.on_dispatched(c[0], on_error=c[1], first=True)
    effects.on_dispatched(c[0], on_error=c[1], first=True)  # registered once
    effects.emit(Poked(1))
    assert calls == ["finish c", "finish a", "finish b"]

    calls.clear()
    failing.add("a")
    with pytest.raises(RuntimeError):
        effects.emit(Poked(2))
    # what the finishers after the failing one hold is dropped, not left for the next
    assert calls == ["finish c", "finish a", "discard b"]
    assert not effects.dispatching()


def test_a_hold_finishes_its_dispatches_once_at_its_end_and_discards_them_on_error():
    """Issue 10, session 26: an API batch's state changes write their held rows together."""
    effects = Effects()
    calls: list[str] = []
    effects.on_dispatched(lambda: calls.append("finish"), on_error=lambda: calls.append("drop"))
    with effects.held():
        effects.emit(Poked(1))
        effects.emit(Poked(2))
        assert calls == []  # each emit's finishers owed to the hold's end
    assert calls == ["finish"]

    calls.clear()
    with effects.held():
        pass
    assert calls == []  # nothing dispatched, nothing to finish

    with pytest.raises(RuntimeError), effects.held():
        effects.emit(Poked(3))
        raise RuntimeError("a later change failed")
    assert calls == ["drop"]  # what the hold held is dropped, not left for the next
    effects.emit(Poked(4))
    assert calls == ["drop", "finish"]  # after the hold: finished at once again
    with effects.held(), pytest.raises(RuntimeError), effects.held():
        pass  # holds do not nest
