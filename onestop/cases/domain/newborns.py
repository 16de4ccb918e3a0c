"""Who a newborn is, for "one newborn, one active case" (issue 8, defect 3).

A newborn is identified twice over: by the birth hospital and its delivery record number
("hospital + delivery record number"), and by the mother's ID number and the minute of
birth ("mother's ID number + birth time"). Either key alone is enough to recognise a
second submission of the same baby; a document that lacks one (no record number, an
unknown mother) is still caught by the other.

The keys are normalised so that trivial differences do not make a second baby: spaces
trimmed, record and ID numbers upper-cased (and inner spaces dropped), the birth time cut
to the minute in Beijing time whatever offset it was written with. The keys hold personal
data: callers store only their keyed blind index, never the text.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from onestop.core.clock import parse_time

RECORD = "record"
BIRTH = "birth"

_SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class NewbornKey:
    position: int  # the newborn's index in the document's `newborns`
    kind: str  # RECORD or BIRTH
    text: str  # normalised "kind|part|part": personal data, index it, never store it


def _text(value: object) -> str:
    return value.strip() if isinstance(value, str) else ""


def normal_number(value: object) -> str:
    """A record or ID number: trimmed, no inner spaces, upper case."""
    return _SPACES.sub("", _text(value)).upper()


def birth_minute(value: object) -> str:
    """The birth time to the minute in Beijing time (``2026-11-22T08:20``); "" if unreadable."""
    moment = birth_moment(value)
    return moment.strftime("%Y-%m-%dT%H:%M") if moment else ""


def birth_moment(value: object) -> datetime | None:
    text = _text(value)
    if not text:
        return None
    try:
        moment = parse_time(text)
    except ValueError:
        return None
    return moment.replace(second=0, microsecond=0)


def newborn_keys(document: Mapping[str, Any]) -> list[NewbornKey]:
    """Every key of every newborn of a case document (duplicates within one case dropped:
    twins born in the same minute share the mother's key, which is one claim)."""
    mother = document.get("mother")
    mother_id = normal_number(mother.get("id_number")) if isinstance(mother, dict) else ""
    newborns = document.get("newborns")
    keys: dict[str, NewbornKey] = {}
    for position, baby in enumerate(newborns if isinstance(newborns, list) else []):
        if not isinstance(baby, dict):
            continue
        hospital = _text(baby.get("hospital"))
        record = normal_number(baby.get("record_number"))
        if hospital and record:
            text = f"{RECORD}|{hospital}|{record}"
            keys.setdefault(text, NewbornKey(position, RECORD, text))
        minute = birth_minute(baby.get("born_at"))
        if mother_id and minute:
            text = f"{BIRTH}|{mother_id}|{minute}"
            keys.setdefault(text, NewbornKey(position, BIRTH, text))
    return list(keys.values())


def close_births(a: object, b: object, window: timedelta) -> bool:
    """Whether two birth times (document strings) are within ``window`` of each other."""
    first, second = birth_moment(a), birth_moment(b)
    return first is not None and second is not None and abs(first - second) <= window


def mask_case_number(number: str) -> str:
    """``FUZHOU-20261122-0012`` → ``FUZHOU-20261122-00**``: enough to tell the parents
    which of their cases it is, not enough to find someone else's."""
    if len(number) <= 2:
        return "*" * len(number)
    return number[:-2] + "**"
