"""Parsing never crashes: any JSON-like value gives a decision or `UnreadableDocument`.

application.md: "the web form fills it, the counter clerk fills it, the API accepts it,
`onestop check` reads it" — so the pre-review must survive whatever arrives, and report a
malformed field as `field_invalid` (一次性告知) rather than fail.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from onestop.core.errors import DocumentRefused, UnreadableDocument
from onestop.eligibility.prereview import Decision
from onestop.eligibility.reasons import Outcome

from .support import ACCEPTED, REGIONS, Case, accepted, check, example

Path = tuple[str | int, ...]

WRONG_VALUES: list[object] = [
    None,
    True,
    0,
    -1,
    1.5,
    10**40,
    "",
    "   ",
    "x",
    "2026-02-30",
    [],
    [None],
    ["x", 1],
    [{}],
    {},
    {"a": 1},
    {"known": False},
]


def judged(raw: object) -> Decision | None:
    """The decision, or None when the document is unreadable; any other exception fails."""
    try:
        decision = check(raw)
    except UnreadableDocument:
        return None
    assert isinstance(decision, Decision)
    json.dumps(decision.as_json(), ensure_ascii=False)
    return decision


def paths(value: object, prefix: Path = ()) -> Iterator[Path]:
    """Every path into a decoded JSON value (the value itself first)."""
    yield prefix
    if isinstance(value, dict):
        for key, item in value.items():
            yield from paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from paths(item, (*prefix, index))


def replaced(raw: Case, path: Path, value: object) -> Case:
    result = copy.deepcopy(raw)
    target: Any = result
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = copy.deepcopy(value)
    return result


def removed(raw: Case, path: Path) -> Case:
    result = copy.deepcopy(raw)
    target: Any = result
    for key in path[:-1]:
        target = target[key]
    del target[path[-1]]
    return result


@pytest.mark.parametrize("region", REGIONS)
def test_wrong_value_in_every_field_of_the_document(region: str) -> None:
    raw = accepted(region)
    for path in list(paths(raw))[1:]:
        for value in WRONG_VALUES:
            decision = judged(replaced(raw, path, value))
            if path != ("region",):
                assert decision is not None, (path, value)


@pytest.mark.parametrize("region", REGIONS)
def test_every_field_removed(region: str) -> None:
    raw = accepted(region)
    for path in list(paths(raw))[1:]:
        decision = judged(removed(raw, path))
        assert (decision is None) == (path == ("region",)), path


@pytest.mark.parametrize("region", REGIONS)
def test_document_with_only_a_region_is_a_supplement_not_a_crash(region: str) -> None:
    decision = judged({"region": region})
    assert decision is not None
    assert decision.outcome is not Outcome.ACCEPT
    assert decision.reasons


@pytest.mark.parametrize("key", sorted(example("qinbei-accept")))
def test_top_level_section_as_a_list_of_sections(key: str) -> None:
    raw = accepted("qinbei")
    raw[key] = [raw[key], raw[key]]
    decision = judged(raw)
    assert (decision is None) == (key == "region")
    if decision is not None and key not in ("items", "materials"):
        assert decision.outcome is not Outcome.ACCEPT


def test_unknown_extra_keys_are_dropped_with_a_warning() -> None:
    """ADR 0016: unknown fields are dropped and told, never an error (application.md:
    "extend freely")."""
    raw = accepted("qinbei")
    raw["counter"] = {"kind": "hospital", "code": "qinbei-mch"}  # known: the counter
    raw["mother"]["hk_permit"] = "H1234"
    raw["newborns"][0]["favourite_toy"] = ["bear"]
    decision = judged(raw)
    assert decision is not None
    assert decision.outcome is Outcome.ACCEPT
    warnings = decision.as_json()["warnings"]
    assert [(w["code"], w["detail"]) for w in warnings] == [
        ("unknown_field", "newborns[0].favourite_toy"),
        ("unknown_field", "mother.hk_permit"),
    ]
    assert "未识别的字段" in warnings[0]["message"]


def test_deeply_nested_value_is_refused_not_a_crash() -> None:
    deep: object = "x"
    for _ in range(500):
        deep = {"a": [deep]}
    raw = accepted("qinbei")
    raw["mother"]["name"] = deep
    raw["extra"] = deep
    with pytest.raises(DocumentRefused) as refused:
        check(raw)
    assert refused.value.code == "document_too_deep"


def test_huge_numbers_and_odd_text_do_not_crash() -> None:
    raw = accepted("qinbei")
    raw["newborns"][0].update(weight_g=10**5000, length_cm=float("inf"), sex=10**400)
    raw["mother"].update(id_number=450703199203150220, phone=float("nan"), name="\u202e")
    raw["maternity"].update(plurality=-(10**30), account_number=1.0e308)
    decision = judged(raw)
    assert decision is not None
    assert decision.outcome is not Outcome.ACCEPT


# --- a property: arbitrary JSON merged into a valid document -------------------------------------

JSON_LEAVES = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=12)
    | st.sampled_from(
        [
            "",
            "mother",
            "father",
            "trustee",
            "married",
            "mainland",
            "family",
            "mail",
            "birth_certificate",
            "2026-11-10T08:20:00+08:00",
            "0001-01-01T00:00:00+14:00",
            "2026-02-30",
            "450703199203150220",
            "qinbei-mch",
        ]
    )
)
JSON_KEYS = st.text(max_size=8) | st.sampled_from(
    ["name", "role", "known", "items", "trustee", "method", "by", "id_number", "born_at"]
)
JSON_VALUES = st.recursive(
    JSON_LEAVES,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(JSON_KEYS, children, max_size=4)
    ),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    name=st.sampled_from(sorted(ACCEPTED.values())),
    edits=st.lists(st.tuples(st.integers(min_value=0), JSON_VALUES), min_size=1, max_size=4),
)
def test_any_json_merged_at_random_places_gives_a_decision_or_unreadable(
    name: str, edits: list[tuple[int, object]]
) -> None:
    raw = example(name)
    for choice, value in edits:
        targets = list(paths(raw))[1:]
        path = targets[choice % len(targets)]
        raw = replaced(raw, path, value)
    try:
        judged_or_refused(raw)
    except DocumentRefused as exc:
        # The merged values are small: only their characters (NUL, controls, surrogates) or
        # their nesting can pass a limit (ADR 0016).
        assert exc.code in ("invalid_text", "document_too_deep"), exc
        return
    if judged(raw) is None:
        assert not (isinstance(raw.get("region"), str) and raw["region"] in REGIONS)


def judged_or_refused(raw: object) -> None:
    """Raise `DocumentRefused` if the document is refused, else nothing."""
    try:
        check(raw)
    except DocumentRefused:
        raise
    except UnreadableDocument:
        return


@settings(max_examples=100, deadline=None)
@given(value=JSON_VALUES)
def test_any_json_value_as_the_whole_document(value: object) -> None:
    judged(value)
    if isinstance(value, dict):
        judged({**value, "region": "qinbei"})
