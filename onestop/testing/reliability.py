"""Figures for `make reliability`: attack and fault tests record what they tried and what
got through, and the target prints them as one table (docs/security.md keeps the latest).

A test calls ``reliability_record("otp", "wrong codes tried before lockout", 5)``. The
figures go to the JSON-lines file named by ``ONESTOP_RELIABILITY_OUT`` when it is set
(``make reliability`` sets it) and nowhere otherwise, so ordinary test runs are unchanged.
"""

from __future__ import annotations

import json
import os
from pathlib import Path


def reliability_record(area: str, measure: str, value: int | float | str) -> None:
    """One figure of one test: ``area`` groups rows (e.g. "uploads"), ``measure`` says
    what was counted in words a reader understands."""
    out = os.environ.get("ONESTOP_RELIABILITY_OUT")
    if not out:
        return
    line = json.dumps({"area": area, "measure": measure, "value": value}, ensure_ascii=False)
    with Path(out).open("a", encoding="utf-8") as handle:
        handle.write(line + "\n")
