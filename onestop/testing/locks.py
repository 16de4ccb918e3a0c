"""Tests of row locks between real transactions on PostgreSQL: work run in a thread with a
connection of its own (a rival), and whether its backend waits on a lock."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from django.db import connection


def waiting_for_a_lock(pid: int) -> bool:
    """Whether the backend ``pid`` is waiting on a lock now."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", [pid])
        row = cursor.fetchone()
    return row is not None and row[0] == "Lock"


class Rival:
    """``work()`` run in a thread on its own connection (started at once): its backend's
    ``pid``, its ``result`` or the ``error`` it raised (for the main thread to report)."""

    def __init__(self, work: Callable[[], Any]) -> None:
        self.pid: int | None = None
        self.result: Any = None
        self.error: BaseException | None = None
        self.done = False
        self._work = work
        self._thread = threading.Thread(target=self._run)
        self._thread.start()

    def _run(self) -> None:
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                self.pid = int(cursor.fetchone()[0])
            self.result = self._work()
            self.done = True
        except BaseException as exc:  # the main thread reports it
            self.error = exc
        finally:
            connection.close()

    def join(self, seconds: float) -> None:
        self._thread.join(seconds)

    def alive(self) -> bool:
        return self._thread.is_alive()


def until_waiting(*rivals: Rival, tries: int = 500) -> bool:
    """Whether every rival came to wait on a lock (polled every 10 ms, ``tries`` times)."""
    for _ in range(tries):
        if all(r.pid is not None and waiting_for_a_lock(r.pid) for r in rivals):
            return True
        time.sleep(0.01)
    return False
