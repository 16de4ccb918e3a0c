from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from onestop.ops.demo import seed_demo


class Command(BaseCommand):
    help = "Load reference data, demo staff accounts and demo cases (idempotent)."

    def handle(self, *args: Any, **options: Any) -> None:
        counts = seed_demo()
        self.stdout.write(", ".join(f"{k}: {v}" for k, v in counts.items()))
