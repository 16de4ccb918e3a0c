"""Check the audit log: every keyed chain, every signed anchor, database against file.

manage.py audit_verify            summary in plain words; exit 0 intact, 1 with each problem
manage.py audit_verify --alert    also log an ERROR and send administrators a work message
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from onestop.audit.integrity import audit_verify, audit_verify_and_alert


class Command(BaseCommand):
    help = "Verify the audit chains and anchors; exit 1 when anything was changed or deleted."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--alert", action="store_true", help="on a break, also alert the administrators"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        report = audit_verify_and_alert() if options["alert"] else audit_verify()
        out = self.stdout if report.intact else self.stderr
        for line in report.summary():
            out.write(line)
        if not report.intact:
            raise SystemExit(1)
