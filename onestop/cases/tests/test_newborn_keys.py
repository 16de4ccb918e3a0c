"""The keys that identify a newborn (issue 8, defect 3: "hospital + record number, and
mother's ID + birth time"), normalised so that trivial differences do not make a new baby."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from onestop.cases.domain.newborns import (
    BIRTH,
    RECORD,
    birth_minute,
    close_births,
    mask_case_number,
    newborn_keys,
)


def document(**baby: object) -> dict[str, Any]:
    newborn: dict[str, object] = {
        "hospital": "fujian-mch",
        "record_number": "FJ-1",
        "born_at": "2026-10-02T13:30",
    }
    newborn.update(baby)
    return {"mother": {"id_number": "35010219910909024x"}, "newborns": [newborn]}


def texts(doc: dict[str, Any]) -> set[str]:
    return {k.text for k in newborn_keys(doc)}


def test_both_keys_normalised():
    keys = newborn_keys(document(record_number=" fj - 1 ", born_at="2026-10-02T05:30:59Z"))
    assert {(k.kind, k.text) for k in keys} == {
        (RECORD, "record|fujian-mch|FJ-1"),
        (BIRTH, "birth|35010219910909024X|2026-10-02T13:30"),
    }
    assert texts(document()) == texts(document(born_at="2026-10-02T13:30:40+08:00"))


def test_a_missing_key_leaves_the_other():
    assert {k.kind for k in newborn_keys(document(record_number=""))} == {BIRTH}
    assert {k.kind for k in newborn_keys(document(born_at="not a time"))} == {RECORD}
    assert newborn_keys({"newborns": "x"}) == [] and newborn_keys({}) == []


def test_twins_share_the_mothers_key_once_and_each_has_a_record():
    doc = document()
    doc["newborns"].append(dict(doc["newborns"][0], record_number="FJ-2"))
    keys = newborn_keys(doc)
    assert [k.kind for k in keys].count(BIRTH) == 1
    assert {k.position for k in keys if k.kind == RECORD} == {0, 1}


def test_times_and_masks():
    assert birth_minute("2026-10-02") == "2026-10-02T00:00" and birth_minute(None) == ""
    assert close_births("2026-10-02T13:30", "2026-10-04T13:30", timedelta(hours=48))
    assert not close_births("2026-10-02T13:30", "2026-10-04T13:31", timedelta(hours=48))
    assert mask_case_number("FUZHOU-20261122-0012") == "FUZHOU-20261122-00**"
