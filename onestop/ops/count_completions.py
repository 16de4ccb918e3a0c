"""Python function calls and SQL statements per completed task, by part (issue 10,
session 30, helper h-cpu): what ``POST /api/v1/tasks/completions`` — the batch endpoint
the department systems use — costs in this process, split by what the code does.

Deterministic where CPU time is not: the cases are those of
``onestop.ops.profile_case --batch`` (submitted ``--batch`` at a time, every department's
ready tasks claimed in one request and completed in one), after one warm-up round (the
per-process caches warm, as a running server has them). Only the completions requests
are counted. Each Python call and each call of a C function (what cProfile counts as a
"function call") is added to every part on the stack when it happens, and each SQL
statement likewise; a part is a function named in ``PARTS`` (inclusive: a part inside
another counts in both).

Not a test and not a benchmark: nothing is asserted, no time is measured. Run::

    python -m onestop.ops.count_completions                # PostgreSQL, qinbei, 10 cases
    python -m onestop.ops.count_completions --sqlite --cases 20 --batch 5
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import uuid
from collections import Counter
from pathlib import Path
from types import CodeType, FrameType
from typing import Any

# (label, path suffix of the function's file, function name): the parts counted.
PARTS: list[tuple[str, str, str]] = [
    ("request (the whole of POST /tasks/completions)", "django/test/client.py", "request"),
    ("  per task: item_complete", "onestop/workflow/services.py", "item_complete"),
    ("    the lock's rows (`_lock`)", "onestop/workflow/services.py", "_lock"),
    ("    result validation", "onestop/workflow/domain/results.py", "validate_result"),
    (
        "      the newborns' facts (`_newborn_facts`)",
        "onestop/workflow/services.py",
        "_newborn_facts",
    ),
    ("    the state change (`_apply`)", "onestop/workflow/services.py", "_apply"),
    (
        "    the rows' UPDATE (`_completed_write`)",
        "onestop/workflow/services.py",
        "_completed_write",
    ),
    ("    the audit record (`_audit`)", "onestop/workflow/services.py", "_audit"),
    ("    the effects (`emit`)", "onestop/core/events.py", "emit"),
    ("      e-licence (`elicence_issue`)", "onestop/certificates/services.py", "elicence_issue"),
    ("        newborns and same (one read)", "onestop/cases/claims.py", "newborns_and_same"),
    (
        "        the payload (`licence_payload`)",
        "onestop/certificates/document.py",
        "licence_payload",
    ),
    ("        the seal (`_apply_seal`)", "onestop/certificates/services.py", "_apply_seal"),
    (
        "      SMS queued (`notification_queue`)",
        "onestop/notifications/services.py",
        "notification_queue",
    ),
    (
        "      webhooks queued (`webhooks_queue`)",
        "onestop/integration/services.py",
        "webhooks_queue",
    ),
    ("      timeline lines (`timeline_add`)", "onestop/cases/effects.py", "timeline_add"),
    ("  the flushes, once per request", "onestop/core/events.py", "_finish"),
    (
        "    webhooks + timeline (`_webhooks_flush`)",
        "onestop/integration/services.py",
        "_webhooks_flush",
    ),
    ("    SMS (`notifications._flush`)", "onestop/notifications/services.py", "_flush"),
    ("    audit records (flush)", "onestop/audit/services.py", "_held_write"),
    ("  the answers (`task_summary`)", "onestop/integration/selectors.py", "task_summary"),
    (
        "SQL statements sent (`CursorWrapper.execute`, anywhere)",
        "django/db/backends/utils.py",
        "_execute",
    ),
    ("compiled INSERTs' parameters (`_params`, anywhere)", "onestop/common/compiled.py", "_params"),
    ("compiled INSERTs' rows read (`_values`, anywhere)", "onestop/common/compiled.py", "_values"),
    ("encrypt (Fernet, anywhere)", "onestop/core/crypto.py", "encrypt"),
    ("decrypt (Fernet, anywhere)", "onestop/core/crypto.py", "decrypt"),
    ("single-row INSERTs (`save_new`, anywhere)", "onestop/common/compiled.py", "save_new"),
    ("Model.__init__ (anywhere)", "django/db/models/base.py", "__init__"),
    ("typed_document (anywhere)", "onestop/cases/models.py", "typed_document"),
]


class Counting:
    """``sys.setprofile`` counter: calls and statements per part on the stack."""

    def __init__(self) -> None:
        self.codes: dict[CodeType, str] = {}
        self.wanted = {(suffix, name): label for label, suffix, name in PARTS}
        self.seen: set[CodeType] = set()
        self.active: list[tuple[FrameType, str]] = []
        self.calls: Counter[str] = Counter()
        self.statements: Counter[str] = Counter()
        self.tasks = 0

    def _label(self, code: CodeType) -> str | None:
        if code not in self.seen:
            self.seen.add(code)
            for (suffix, name), label in self.wanted.items():
                if code.co_name == name and code.co_filename.endswith(suffix):
                    self.codes[code] = label
        return self.codes.get(code)

    def _add(self, counter: Counter[str]) -> None:
        for label in {label for _, label in self.active}:
            counter[label] += 1

    def profile(self, frame: FrameType, event: str, arg: Any) -> None:
        if event == "call":
            label = self._label(frame.f_code)
            if label is not None:
                self.active.append((frame, label))
            self._add(self.calls)
        elif event == "c_call":
            self._add(self.calls)
        elif event == "return":
            if self.active and self.active[-1][0] is frame:
                self.active.pop()

    def statement(self, execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        self._add(self.statements)
        return execute(sql, params, many, context)


def _install(counting: Counting) -> None:
    """Count inside each ``POST /tasks/completions`` of profile_case's driver."""
    from django.db import connection

    from onestop.ops import profile_case

    original = profile_case._Driver.__call__

    def call(self: Any, cred: Any, method: str, path: str, body: Any = None) -> Any:
        if not (method == "POST" and path == "/tasks/completions" and self.profile):
            return original(self, cred, method, path, body)
        with connection.execute_wrapper(counting.statement):
            sys.setprofile(counting.profile)
            try:
                answer = original(self, cred, method, path, body)
            finally:
                sys.setprofile(None)
        counting.tasks += sum(1 for r in answer["results"] if r["status"] == 200)
        return answer

    profile_case._Driver.__call__ = call  # type: ignore[method-assign]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m onestop.ops.count_completions", description=__doc__
    )
    parser.add_argument("--region", choices=["qinbei", "lanzhou", "fuzhou"], default="qinbei")
    parser.add_argument("--cases", type=int, default=10, help="counted cases (after warm-up)")
    parser.add_argument("--batch", type=int, default=5, help="cases submitted at a time")
    parser.add_argument("--postgres", help="server URL (default: profile_case's)")
    parser.add_argument("--sqlite", action="store_true", help="a temporary SQLite file instead")
    args = parser.parse_args(argv)

    from onestop.ops import profile_case

    with tempfile.TemporaryDirectory(prefix="onestop-count-") as tmp:
        folder = Path(tmp)
        with profile_case._database(args, folder) as url:
            os.environ["DATABASE_URL"] = url
            os.environ["ONESTOP_DATA_DIR"] = str(folder)
            os.environ["ONESTOP_SEAL_KEYS_DIR"] = str(folder / "seal-keys")
            os.environ["ONESTOP_RATE_API"] = "1000000/m"
            os.environ.setdefault("ONESTOP_LOG_LEVEL", "WARNING")
            os.environ["DJANGO_SETTINGS_MODULE"] = "onestop.config.settings"
            import django

            django.setup()
            from django.db import connection
            from django.test import Client

            profile_case._prepare_database()
            counting = Counting()
            _install(counting)
            run = uuid.uuid4().hex[:8]
            client = Client()
            client.get("/healthz")
            batch = max(1, args.batch)
            profile_case.drive_cases_in_batches(args.region, range(batch), run, None, client)
            measured = profile_case.Profile()
            for first in range(batch, batch + args.cases, batch):
                indexes = range(first, min(first + batch, batch + args.cases))
                profile_case.drive_cases_in_batches(args.region, indexes, run, measured, client)
            vendor = connection.vendor
    tasks = max(1, counting.tasks)
    print(
        f"# POST /tasks/completions: {counting.tasks} tasks completed in {args.cases} "
        f"{args.region} cases ({args.batch} at a time), {vendor}\n"
    )
    print("| part | function calls per task | SQL statements per task |")
    print("|---|---:|---:|")
    for label, _, _ in PARTS:
        print(
            f"| {label} | {counting.calls[label] / tasks:,.0f} "
            f"| {counting.statements[label] / tasks:.2f} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
