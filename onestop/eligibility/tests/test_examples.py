"""The shipped example documents (onestop/examples) and their decisions.

Each refusal example names what it shows in its file name; `onestop demo` prints them. The
same decisions come out of `onestop check` (spec/interfaces.md).
"""

from __future__ import annotations

import json

import pytest

from onestop.cli import main

from .support import ACCEPT, EXAMPLES, REJECT, SUPPLEMENT, check, example, pairs

EXPECTED: dict[str, tuple[object, set[tuple[str, str | None]]]] = {
    "fuzhou-accept": (ACCEPT, set()),
    "fuzhou-reject-outside-city-invalid-id": (
        REJECT,
        {("invalid_id_number", "father"), ("born_outside_region", "newborns[0].hospital")},
    ),
    "jilin-accept-counter": (ACCEPT, set()),
    "jilin-reject-no-bmc-unit-collective": (
        REJECT,
        {
            ("bmc_missing", "birth_registration.bmc_number"),
            ("collective_hukou_not_supported", "birth_registration.hukou_type"),
        },
    ),
    "lanzhou-accept": (ACCEPT, set()),
    "lanzhou-reject-registration-after-one-month": (
        REJECT,
        {("outside_age_window", "newborns[0]")},
    ),
    "lanzhou-supplement-unknown-hospital-bad-phone": (
        SUPPLEMENT,
        {("field_invalid", "mother.phone"), ("field_invalid", "newborns[0].hospital")},
    ),
    "qinbei-accept": (ACCEPT, set()),
    "qinbei-reject-hk-father-late-applicant": (
        REJECT,
        {
            ("wrong_applicant", "father"),
            ("foreign_parent", "father"),
            ("outside_age_window", "newborns[0]"),
        },
    ),
    "qinbei-supplement-missing-materials": (
        SUPPLEMENT,
        {
            ("ethnicity_confirmation_missing", "ethnicity_confirmation"),
            ("missing_material", "household_register"),
            ("missing_material", "marriage_certificate"),
            ("missing_material", "delivery_record_page"),
        },
    ),
    "yuanling-accept-trustee": (ACCEPT, set()),
    "yuanling-reject-unnamed-divorced": (
        REJECT,
        {
            ("single_or_divorced_parent", "marital_status"),
            ("newborn_unnamed", "newborns[0].name"),
        },
    ),
}


def test_every_shipped_example_is_covered() -> None:
    assert {p.stem for p in EXAMPLES.glob("*.json")} == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_example_decision(name: str) -> None:
    outcome, expected = EXPECTED[name]
    decision = check(example(name))
    assert decision.outcome is outcome
    assert pairs(decision) == expected
    assert len(decision.reasons) == len(expected)  # each reason once


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_example_name_says_the_decision(name: str) -> None:
    outcome, _ = EXPECTED[name]
    assert f"-{outcome}" in name


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_command_line_check_prints_the_same_decision(
    name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """interfaces.md: `onestop check CASE.json` prints one JSON object; exit 0 for any decision."""
    assert main(["check", str(EXAMPLES / f"{name}.json")]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == check(example(name)).as_json()
