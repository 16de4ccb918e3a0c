"""The demo data and the simulators only produce valid ID numbers (issue 8, defect 6:
"check also the demo data and simulators only produce valid IDs")."""

from __future__ import annotations

import json
from typing import Any

from onestop.ops.demo import DEMO_PROGRESS, EXAMPLES, FRESH_MOTHER_ID
from onestop.reference.idnumber import is_valid_resident_id
from onestop.testing.factories import SAMPLE_RESULTS
from onestop.workflow.domain.results import RESULT_FIELDS, validate_result

# The one example that shows the refusal of a wrong ID number, on purpose.
DELIBERATELY_WRONG = {("fuzhou-reject-outside-city-invalid-id", "father.id_number")}


def _id_fields(node: Any, path: str = "") -> list[tuple[str, Any]]:
    found: list[tuple[str, Any]] = []
    if isinstance(node, dict):
        for key, value in node.items():
            here = f"{path}.{key}" if path else key
            if key.endswith("id_number"):
                found.append((here, value))
            found += _id_fields(value, here)
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _id_fields(value, f"{path}[{index}]")
    return found


def test_the_demo_cases_carry_valid_resident_ids_except_the_one_that_shows_a_refusal():
    wrong = set()
    for path in sorted(EXAMPLES.glob("*.json")):
        document = json.loads(path.read_text(encoding="utf-8"))
        for field, value in _id_fields(document):
            side = field.split(".")[0]
            residency = document.get(side, {}).get("residency") if side in document else None
            if value and residency in (None, "mainland") and not is_valid_resident_id(value):
                wrong.add((path.stem, field))
    assert wrong == DELIBERATELY_WRONG


def test_the_demo_delivery_record_and_results_are_valid():
    assert is_valid_resident_id(FRESH_MOTHER_ID)
    for results in DEMO_PROGRESS.values():
        for item, result in results.items():
            assert validate_result(item, result)[1] == []
    for item, result in SAMPLE_RESULTS.items():
        assert validate_result(item, result)[1] == []


def test_every_id_number_result_field_has_a_valid_example():
    fields = [f for specs in RESULT_FIELDS.values() for f in specs if f.kind == "id_number"]
    assert fields
    for spec in fields:
        assert is_valid_resident_id(spec.example), spec
