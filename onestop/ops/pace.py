"""How long a worker pauses between rounds (ADR 0045, amended in sessions 27 and 28).

A worker's rounds come one after another while a batch is full; when a round finds less
than a full batch, the worker pauses. Rows that come fast should gather for ``interval``
(1 s): each receiver then gets them in one batch, which its system claims and completes in
one request each — while the machine is busy, that is what a case costs least with. Rows
that come slowly should not wait: the last messages of a burst, a lone case's next step,
the last levels of a burst's cases whose items wait on one another.

`Pace` judges by the *cycle*: the rounds from one pause to the next. The cycle's rate is
the rows it sent over the time since the previous cycle began (those rows came in
meanwhile). A cycle is *busy* when its rate is at least ``floor`` rows a second and at
least ``share`` of the recent peak rate; the peak decays by half every
``half_life`` seconds (30), so a machine of any speed is judged by its own burst, and an old
burst does not make a quiet outbox wait. After a busy cycle the pause is ``interval``;
after a quiet one ``quick``; after a cycle that sent nothing, ``interval`` (an idle worker
then listens, or on SQLite polls once per interval: never a quicker poll of an empty
outbox). Pure: no Django, times are given.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Pace:
    interval: float
    quick: float
    floor: float  # rows a second below which a cycle is always quiet
    share: float  # of the recent peak rate, below which a cycle is quiet
    half_life: float = 30.0  # seconds for the remembered peak to halve
    cycle_rows: int = 0  # rows sent by the rounds of the current cycle
    cycle_began: float | None = None  # when its first round began
    previous_began: float | None = None  # when the cycle before it began
    peak: float = 0.0  # the highest cycle rate, decayed to ``peak_at``
    peak_at: float = 0.0

    def round_began(self, now: float) -> None:
        """A round begins; the first one after a pause begins a cycle."""
        if self.cycle_began is None:
            self.cycle_began = now
            self.cycle_rows = 0

    def round_sent(self, rows: int) -> None:
        self.cycle_rows += rows

    def remembered_peak(self, now: float) -> float:
        if self.peak <= 0.0:
            return 0.0
        return self.peak * float(0.5 ** (max(0.0, now - self.peak_at) / self.half_life))

    def pause(self, now: float) -> float:
        """The cycle ends (its last round found less than a full batch): the pause before
        the next round."""
        began, rows = self.cycle_began, self.cycle_rows
        self.cycle_began = None
        if began is None:
            return self.interval
        previous, self.previous_began = self.previous_began, began
        if not rows:
            return self.interval
        quick = min(self.interval, self.quick)
        if previous is None:  # a first burst: its rate is not known yet
            return quick
        rate = rows / max(began - previous, 1e-3)
        peak = self.remembered_peak(now)
        busy = rate >= self.floor and rate >= self.share * peak
        if rate >= peak:
            self.peak, self.peak_at = rate, now
        return self.interval if busy else quick
