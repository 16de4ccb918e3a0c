"""`common.reuse`: a read is made once per key inside a block, every time outside one,
and nothing survives the block (issue 10, session 29)."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from onestop.common.reuse import reused, reusing


def _counter() -> tuple[list[int], Callable[[], int]]:
    made: list[int] = []

    def make() -> int:
        made.append(1)
        return len(made)

    return made, make


def test_outside_a_block_every_call_reads():
    _, make = _counter()
    assert [reused("k", make) for _ in range(3)] == [1, 2, 3]


def test_inside_a_block_a_key_is_read_once_and_forgotten_when_it_ends():
    made, make = _counter()
    with reusing():
        assert reused("k", make) == 1
        assert reused("k", make) == 1
        assert reused("other", make) == 2
        with reusing():  # nested: the outer block's answers
            assert reused("k", make) == 1
    assert len(made) == 2
    with reusing():
        assert reused("k", make) == 3


def test_a_block_left_by_an_error_keeps_nothing_and_other_threads_see_none():
    _, make = _counter()
    seen: list[int] = []
    with pytest.raises(RuntimeError), reusing():
        reused("k", make)
        thread = threading.Thread(target=lambda: seen.append(reused("k", make)))
        thread.start()
        thread.join()
        raise RuntimeError
    assert seen == [2]  # the other thread read for itself
    assert reused("k", make) == 3
