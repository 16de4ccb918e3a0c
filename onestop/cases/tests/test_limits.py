"""Properties of the case document's limits (ADR 0016; issue 8, defect 8: "Documents and
every field have size limits; unknown fields are refused or dropped with a warning"). Pure
domain core: no database."""

from __future__ import annotations

import copy
import io
import json
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from onestop import cli
from onestop.cases.domain.document import (
    field_label,
    parse_case,
    parse_case_json,
    text_limit,
    without_unknown_fields,
)
from onestop.cases.domain.limits import (
    MAX_BODY_BYTES,
    MAX_DEPTH,
    MAX_DOCUMENT_BYTES,
    MAX_LIST,
    MAX_TEXT,
    NEWBORNS_MAX,
    check_document,
)
from onestop.core.errors import DocumentRefused, UnreadableDocument
from onestop.core.text import text_problem
from onestop.testing.reliability import reliability_record

EXAMPLE = json.loads(
    (Path(__file__).resolve().parents[2] / "examples" / "qinbei-accept.json").read_text("utf-8")
)
PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Every text field of the example: (path parts, its limit).
TEXT_FIELDS: list[tuple[tuple[str | int, ...], int]] = []


def _collect(node: Any, parts: tuple[str | int, ...]) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            _collect(value, (*parts, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            _collect(value, (*parts, index))
    elif isinstance(node, str):
        limit = text_limit(".".join(str(p) for p in parts))
        if limit is not None and not isinstance(parts[-1], int):
            TEXT_FIELDS.append((parts, limit))


_collect(EXAMPLE, ())


def put(document: dict[str, Any], parts: tuple[str | int, ...], value: Any) -> dict[str, Any]:
    result = copy.deepcopy(document)
    node: Any = result
    for part in parts[:-1]:
        node = node[part]
    node[parts[-1]] = value
    return result


def refusal(value: object) -> DocumentRefused:
    with pytest.raises(DocumentRefused) as caught:
        parse_case(value)
    return caught.value


def test_every_text_field_of_the_example_has_a_limit() -> None:
    assert len(TEXT_FIELDS) >= 25
    assert all(10 <= limit <= 200 for _parts, limit in TEXT_FIELDS)


@PROPERTY
@given(field=st.sampled_from(TEXT_FIELDS), extra=st.integers(min_value=1, max_value=MAX_TEXT))
def test_any_text_field_over_its_limit_refuses_the_document(
    field: tuple[tuple[str | int, ...], int], extra: int
) -> None:
    parts, limit = field
    refused = refusal(put(EXAMPLE, parts, "阿" * (limit + extra)))
    path = ".".join(str(p) for p in parts).replace(".0.", "[0].")
    assert refused.code == "field_too_long"
    assert refused.path == path
    assert field_label(path) in refused.message


@PROPERTY
@given(field=st.sampled_from(TEXT_FIELDS), size=st.integers(min_value=1, max_value=200))
def test_any_text_field_within_its_limit_is_judged_not_refused(
    field: tuple[tuple[str | int, ...], int], size: int
) -> None:
    parts, limit = field
    parse_case(put(EXAMPLE, parts, "阿" * min(size, limit)))  # no DocumentRefused


BAD_CHARS = st.sampled_from(["\x00", "\ud800", "\udfff", "\x1b", "\x7f", "\x08"])


@PROPERTY
@given(
    field=st.sampled_from(TEXT_FIELDS),
    bad=BAD_CHARS,
    before=st.text(max_size=5),
    in_key=st.booleans(),
)
def test_nul_surrogates_and_controls_anywhere_are_refused(
    field: tuple[tuple[str | int, ...], int], bad: str, before: str, in_key: bool
) -> None:
    parts, _limit = field
    if in_key:
        document = put(EXAMPLE, (*parts[:-1], before + bad), "x")
    else:
        document = put(EXAMPLE, parts, before + bad)
    assert refusal(document).code == "invalid_text"


@PROPERTY
@given(text=st.text(max_size=40))
def test_text_problem_is_exactly_the_unstorable_characters(text: str) -> None:
    storable = True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        storable = False
    bad_control = any((ord(c) < 32 and c not in "\t\n\r") or c == "\x7f" for c in text)
    assert (text_problem(text) is None) == (storable and not bad_control)


@PROPERTY
@given(
    count=st.integers(min_value=1, max_value=MAX_LIST + 5),
    which=st.sampled_from([("newborns", NEWBORNS_MAX), ("items", 20), ("materials", 30)]),
)
def test_lists_are_bounded(count: int, which: tuple[str, int]) -> None:
    key, limit = which
    value = (EXAMPLE[key] * (count // len(EXAMPLE[key]) + 1))[:count]
    document = {**copy.deepcopy(EXAMPLE), key: value}
    if count > limit:
        assert refusal(document).code == "list_too_long"
    else:
        parse_case(document)


@PROPERTY
@given(depth=st.integers(min_value=1, max_value=3 * MAX_DEPTH))
def test_nesting_is_bounded(depth: int) -> None:
    nested: Any = "x"
    for _ in range(depth):
        nested = {"a": nested}
    document = {**copy.deepcopy(EXAMPLE), "extension": nested}
    if depth + 1 > MAX_DEPTH:  # the extension itself is one level down
        assert refusal(document).code == "document_too_deep"
    else:
        assert parse_case(document).warnings[0].path == "extension"


@PROPERTY
@given(
    sizes=st.lists(st.integers(min_value=100, max_value=MAX_TEXT), min_size=1, max_size=MAX_LIST),
    char=st.sampled_from(["a", "阿", "😀"]),
)
def test_the_serialized_size_is_bounded(sizes: list[int], char: str) -> None:
    document = copy.deepcopy(EXAMPLE)
    document["extension"] = {f"n{i}": [char * size] * 40 for i, size in enumerate(sizes[:60])}
    actual = len(json.dumps(document, ensure_ascii=False).encode("utf-8"))
    try:
        measured = check_document(document)
    except DocumentRefused as exc:
        assert exc.code == "document_too_large"
        assert actual > MAX_DOCUMENT_BYTES * 0.9
    else:
        assert actual <= MAX_DOCUMENT_BYTES * 1.1
        assert measured >= actual * 0.9


def test_text_longer_than_any_body_is_refused_before_decoding() -> None:
    text = '{"region": "qinbei", "x": "' + "a" * MAX_BODY_BYTES + '"}'
    with pytest.raises(DocumentRefused) as caught:
        parse_case_json(text)
    assert caught.value.code == "document_too_large"


@PROPERTY
@given(
    extras=st.dictionaries(
        st.text(alphabet="abcdefgh_", min_size=1, max_size=8),
        st.integers() | st.text(alphabet="xyz黄", max_size=10),
        max_size=5,
    ),
    where=st.sampled_from(["", "mother", "newborns.0", "delivery.address", "authorization"]),
)
def test_unknown_fields_are_dropped_with_a_warning_and_known_ones_kept(
    extras: dict[str, Any], where: str
) -> None:
    document = copy.deepcopy(EXAMPLE)
    document["authorization"] = {"trustee": {"name": "覃军"}}
    node: Any = document
    for part in filter(None, where.split(".")):
        node = node[int(part)] if part.isdigit() else node[part]
    added = {key: value for key, value in extras.items() if key not in node}
    node.update(added)
    kept, unknown = without_unknown_fields(document)
    prefix = where.replace(".0", "[0]")
    assert sorted(unknown) == sorted(f"{prefix}.{k}" if prefix else k for k in added)
    assert without_unknown_fields(kept) == (kept, [])
    parsed = parse_case(document)
    assert [w.path for w in parsed.warnings] == unknown
    assert all(w.problem == "unknown_field" for w in parsed.warnings)
    assert parsed.document == parse_case(kept).document


def test_cli_refuses_an_oversized_document_with_exit_2(tmp_path: Path) -> None:
    """interfaces.md: exit 2 with a one-line error when the file is not a readable case
    document, nothing on stdout."""
    tried = 0
    for change in (
        {"mother": {**EXAMPLE["mother"], "name": "黄" * 100_000}},
        {"extension": ["档" * MAX_TEXT] * MAX_LIST * 2},
        {"newborns": EXAMPLE["newborns"] * 10},
        {"mother": {**EXAMPLE["mother"], "name": "黄\x00"}},
    ):
        tried += 1
        path = tmp_path / "case.json"
        path.write_text(json.dumps({**EXAMPLE, **change}), encoding="utf-8")
        out, err = io.StringIO(), io.StringIO()
        with redirect_stdout(out), redirect_stderr(err):
            code = cli.main(["check", str(path)])
        assert code == 2
        assert out.getvalue() == ""
        assert len(err.getvalue().splitlines()) == 1
        assert "not a readable case document" in err.getvalue()
    reliability_record(
        "documents", "oversized or malformed documents given to onestop check", tried
    )
    reliability_record("documents", "oversized or malformed documents judged by onestop check", 0)


def test_not_a_document_is_still_unreadable_not_refused() -> None:
    with pytest.raises(UnreadableDocument) as caught:
        parse_case([1, 2])
    assert not isinstance(caught.value, DocumentRefused)
