"""The unified form's fields follow the pack and the entries, for any region."""

from __future__ import annotations

from typing import Any

from onestop.cases.domain.paths import get_path, put_path
from onestop.eligibility.check import check_case
from onestop.policy.loader import default_packs
from onestop.portal.tests.support import NOW
from onestop.reference.domain import default_reference
from onestop.unified_form.model import (
    FormContext,
    build_document,
    choices,
    sections,
)


def context(region: str, document: dict[str, Any]) -> FormContext:
    pack = default_packs().current(region)
    assert pack is not None
    return FormContext(pack, default_reference(), {"region": region, **document})


def keys(ctx: FormContext) -> set[str]:
    return {section.key for section in sections(ctx)}


def test_paths_read_and_write_the_document():
    document: dict[str, Any] = {}
    put_path(document, "newborns[0].born_at", "2026-11-10T08:20:00+08:00")
    put_path(document, "delivery.address.recipient", "黄丽")
    assert document == {
        "newborns": [{"born_at": "2026-11-10T08:20:00+08:00"}],
        "delivery": {"address": {"recipient": "黄丽"}},
    }
    assert get_path(document, "newborns[0].born_at").startswith("2026")
    assert get_path(document, "newborns[1].born_at") is None
    put_path(document, "delivery.address.recipient", None)
    assert document["delivery"]["address"] == {}


def test_a_grandparent_applying_gets_the_applicant_and_authorization_sections():
    ctx = context(
        "yuanling",
        {
            "items": ["birth_certificate", "birth_registration"],
            "applicant": {
                "role": "grandparent",
                "name": "向秀英",
                "id_number": "431222196504040143",
            },
            "authorization": {
                "trustee": {"relation": "maternal_grandparent"},
                "items": ["birth_certificate", "birth_registration"],
                "valid_from": "2026-11-13",
                "valid_to": "2026-12-31",
                "signed_by_mother": True,
            },
        },
    )
    assert {"applicant", "authorization", "birth_registration", "delivery"} <= keys(ctx)
    relation = next(
        spec
        for section in sections(ctx)
        for spec in section.specs
        if spec.path == "authorization.trustee.relation"
    )
    assert [code for code, _label in choices(relation, ctx)] == [
        "paternal_grandparent",
        "maternal_grandparent",
    ]
    document = build_document(ctx, phone="13600003333", materials=[], now=NOW)
    assert document["authorization"]["trustee"] == {
        "name": "向秀英",
        "id_number": "431222196504040143",
        "relation": "maternal_grandparent",
    }
    assert document["applicant"]["phone"] == "13600003333"


def test_a_mother_applying_needs_no_authorization_unless_the_father_picks_up():
    ctx = context("lanzhou", {"items": ["birth_certificate"], "applicant": {"role": "mother"}})
    assert "authorization" not in keys(ctx)  # lanzhou offers no pickup by the father
    ctx = context("fuzhou", {"items": ["birth_certificate"], "applicant": {"role": "mother"}})
    assert "authorization" in keys(ctx)  # fuzhou: the father may pick up with authorization


def test_the_built_document_of_the_example_is_accepted(example):
    raw = example("qinbei-accept")
    raw.pop("submitted_at")
    ctx = context("qinbei", raw)
    document = build_document(ctx, phone="13800000000", materials=raw["materials"], now=NOW)
    decision = check_case(document, packs=default_packs(), reference=default_reference(), now=NOW)
    assert decision.outcome.value == "accept", decision.as_json()["reasons"]
    # Only the fields the form knows travel; the example's own values come through.
    assert document["birth_registration"]["police_station"] == "qinbei-xintang"
    assert document["mother"]["known"] is True and document["channel"] == "online"
