"""The request bodies' shapes (`schemas.InSchema`, issue 10, session 30) are validated once:
ninja's `Schema` validated a model refusing unknown fields twice, so a batch's entries four
times. The same values and refusals as before."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from onestop.integration import schemas
from onestop.integration.schemas import CompletionsIn, DeliveryIn, InSchema, ReasonsIn


def _counted(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    seen: list[str] = []
    storable = schemas._storable

    def counting(text: str) -> str:
        seen.append(text)
        return storable(text)

    monkeypatch.setattr(schemas, "_storable", counting)
    return seen


def test_a_batch_s_entries_are_validated_once(monkeypatch):
    seen = _counted(monkeypatch)
    body: dict[str, Any] = {
        "tasks": [
            {"id": 1, "result": {"serial": "A-1", "count": 2, "none": None}},
            {"id": 2, "result": {"serial": "B-2"}, "expected_version": 3},
        ]
    }
    parsed = CompletionsIn.model_validate(body)
    assert seen == ["serial", "A-1", "count", "none", "serial", "B-2"]  # was each four times
    assert parsed.model_dump() == {
        "tasks": [
            {
                "result": {"serial": "A-1", "count": 2, "none": None},
                "expected_version": None,
                "id": 1,
            },
            {"result": {"serial": "B-2"}, "expected_version": 3, "id": 2},
        ]
    }
    seen.clear()
    ReasonsIn.model_validate({"reasons": ["材料不清晰"]})
    assert seen == ["材料不清晰"]


def test_the_refusals_are_pydantic_s_as_before():
    for model in (CompletionsIn, ReasonsIn, DeliveryIn):
        assert issubclass(model, InSchema)
        assert model.model_config.get("extra") == "forbid"
    with pytest.raises(ValidationError) as refused:
        CompletionsIn.model_validate({"tasks": [1, {"id": 0, "x": 1}], "y": 2})
    errors = [(e["type"], e["loc"]) for e in refused.value.errors()]
    assert errors == [
        # Ninja's Schema's configuration (`from_attributes`): its message for a non-object
        ("model_attributes_type", ("tasks", 0)),
        ("greater_than_equal", ("tasks", 1, "id")),
        ("extra_forbidden", ("tasks", 1, "x")),
        ("extra_forbidden", ("y",)),
    ]
    with pytest.raises(ValidationError) as refused:
        CompletionsIn.model_validate({"tasks": [{"id": 1, "result": {"a": "\x00"}}]})
    assert refused.value.errors()[0]["loc"] == ("tasks", 0, "result")
    mother = {"name": " 王芳 ", "id_number": "1" * 18, "phone": "13800000000"}
    newborn = {"born_at": "2026-01-01T00:00:00+08:00", "sex": "1"}
    body = {"record_number": "A1", "mother": mother, "newborn": newborn}
    parsed = DeliveryIn.model_validate(body)
    assert parsed.mother.name == "王芳"
