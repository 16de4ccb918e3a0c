from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from onestop.ops.worker import Loop


class Command(BaseCommand):
    help = "Run queued tasks and periodic jobs until stopped (SIGTERM/SIGINT)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--interval", type=float, default=1.0)
        parser.add_argument("--worker-id", default="onestop")

    def handle(self, *args: Any, **options: Any) -> None:
        Loop(interval=options["interval"], worker_id=options["worker_id"]).run()
