"""Test documents of distinct newborns: one newborn may have only one active case (issue 8,
defect 3), so a test that files several cases from one example makes each a new baby."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from onestop.core.clock import format_time, parse_time


def another_newborn(document: dict[str, Any], n: int) -> dict[str, Any]:
    """``document`` with its newborns made the ``n``-th different baby: another delivery
    record number and a birth ``n`` minutes earlier (ages and intervals kept)."""
    for position, baby in enumerate(document.get("newborns") or []):
        if not isinstance(baby, dict):
            continue
        if isinstance(baby.get("record_number"), str):
            baby["record_number"] = f"{baby['record_number']}-{n}-{position}"
        if isinstance(baby.get("born_at"), str) and baby["born_at"]:
            born = parse_time(baby["born_at"]) - timedelta(minutes=n)
            baby["born_at"] = format_time(born)
    return document
