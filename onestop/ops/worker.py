"""The background worker: runs queued tasks (django-tasks-db) and the periodic jobs."""

from __future__ import annotations

import logging
import signal
import time
from datetime import datetime
from types import FrameType

from django.db import close_old_connections
from django.utils import timezone
from django_tasks_db.management.commands.db_worker import Worker

from onestop.ops.schedule import SCHEDULE

log = logging.getLogger(__name__)


def run_queued_tasks(*, max_tasks: int | None = None, worker_id: str = "onestop") -> None:
    """Run queued tasks until none is ready (or ``max_tasks`` ran)."""
    Worker(
        queue_names=["*"],
        interval=0,
        batch=True,
        backend_name="default",
        startup_delay=False,
        max_tasks=max_tasks,
        worker_id=worker_id,
        excluded_queue_names=[],
    ).run()


class Loop:
    def __init__(self, *, interval: float = 1.0, worker_id: str = "onestop") -> None:
        self.interval = interval
        self.worker_id = worker_id
        self.running = True
        self.last_run: dict[str, datetime] = {}

    def stop(self, signum: int, frame: FrameType | None) -> None:
        log.info("worker stopping (signal %s)", signum)
        self.running = False

    def run_due_jobs(self, now: datetime) -> None:
        for job in SCHEDULE:
            last = self.last_run.get(job.name)
            if last is None or now - last >= job.every:
                try:
                    job.run()
                except Exception:
                    log.exception("periodic job %s failed", job.name)
                self.last_run[job.name] = now

    def run(self) -> None:
        signal.signal(signal.SIGTERM, self.stop)
        signal.signal(signal.SIGINT, self.stop)
        log.info("worker %s started", self.worker_id)
        while self.running:
            close_old_connections()
            try:
                run_queued_tasks(max_tasks=50, worker_id=self.worker_id)
                self.run_due_jobs(timezone.now())
            except Exception:
                log.exception("worker loop error; retrying")
            if self.running:
                time.sleep(self.interval)
        log.info("worker %s stopped", self.worker_id)
