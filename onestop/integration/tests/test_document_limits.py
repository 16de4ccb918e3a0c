"""Issue 8, defect 8: "Unbounded documents. An 11 MB case document was stored (15 MB per
row). Documents and every field have size limits; unknown fields are refused or dropped
with a warning." Driven through the API as a careless or hostile hospital system would,
checking what reaches the database (ADR 0016)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from onestop.cases.models import Case, Person
from onestop.integration.tests.support import Api, current, hospital
from onestop.testing.reliability import reliability_record
from onestop.workflow.models import CaseItem

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(media_root) -> Api:
    return Api(hospital().token)


@pytest.fixture
def document(example) -> dict[str, Any]:
    return current(example("qinbei-accept"))


def post_raw(api: Api, body: bytes, key: str) -> Any:
    """A request body exactly as given (the test client's JSON encoder would refuse a lone
    surrogate, an attacker's would not)."""
    return api.client.post(
        "/api/v1/cases",
        data=body,
        content_type="application/json",
        headers={"Authorization": f"Bearer {api.token}", "Idempotency-Key": key},
    )


def test_an_11_mb_document_is_refused_before_it_is_read(api, document):
    document["mother"]["employer"] = "某" * (11 * 1024 * 1024 // 3)
    response = api.post("/cases", document, key="huge")
    assert response.status_code == 413
    assert response.json()["code"] == "request_too_large"
    assert "请求内容过大" in response.json()["message"]
    assert Case.objects.count() == 0
    reliability_record("documents", "11 MB documents sent to the API", 1)
    reliability_record("documents", "11 MB documents stored", Case.objects.count())


def test_a_document_over_256_kb_in_a_small_enough_body_is_refused(api, document):
    # 60 unknown fields of 1,500 characters of three UTF-8 bytes each: about 270 KB
    document["attachments"] = {f"note{i}": "档" * 1500 for i in range(60)}
    response = api.post("/cases", document, key="big")
    assert response.status_code == 422
    assert response.json()["code"] == "document_too_large"
    assert Case.objects.count() == 0


def test_a_100_kb_name_is_refused_naming_the_field(api, document):
    document["mother"]["name"] = "黄" * (100 * 1024 // 3)
    response = api.post("/cases", document, key="name")
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "field_too_long"
    assert body["problems"][0]["field"] == "mother.name"
    assert "母亲姓名" in body["message"]
    assert Case.objects.count() == 0
    reliability_record("documents", "API documents with a 100 KB name sent", 1)
    reliability_record("documents", "API documents with a 100 KB name stored", Case.objects.count())


@pytest.mark.parametrize(
    ("path", "limit"),
    [
        (("mother", "name"), 50),
        (("newborns", 0, "name"), 50),
        (("mother", "hukou_address"), 200),
        (("newborns", 0, "record_number"), 64),
        (("applicant", "id_number"), 32),
        (("birth_registration", "relation_to_householder"), 100),
    ],
)
def test_each_field_type_has_its_length_limit(api, document, path, limit):
    node: Any = document
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = "阿" * (limit + 1)
    refused = api.post("/cases", document, key=f"over-{limit}-{len(path)}-{path[-1]}")
    assert refused.status_code == 422, refused.content
    assert refused.json()["code"] == "field_too_long"
    assert Case.objects.count() == 0
    node[path[-1]] = "阿" * limit  # at the limit: a decision, whatever it is
    assert api.post("/cases", document, key=f"at-{limit}-{len(path)}-{path[-1]}").status_code == 201


def test_too_many_newborns_items_or_nesting_are_refused(api, document):
    tried = 0
    baby = document["newborns"][0]
    cases: list[tuple[str, dict[str, Any], str]] = [
        ("n", {"newborns": [baby] * 10}, "list_too_long"),
        ("i", {"items": ["birth_certificate"] * 21}, "list_too_long"),
        ("m", {"materials": ["mother_id_card"] * 31}, "list_too_long"),
        (
            "d",
            {"extension": {"a": {"b": {"c": {"d": {"e": {"f": {"g": {"h": 1}}}}}}}}},
            "document_too_deep",
        ),
        ("k", {"extension": {f"k{i}": 1 for i in range(65)}}, "too_many_fields"),
    ]
    for key, change, code in cases:
        tried += 1
        response = api.post("/cases", {**document, **change}, key=key)
        assert response.status_code == 422, (key, response.content)
        assert response.json()["code"] == code
    assert Case.objects.count() == 0
    reliability_record("documents", "API documents over a list, nesting or key limit sent", tried)
    reliability_record(
        "documents", "API documents over a list, nesting or key limit stored", Case.objects.count()
    )


def test_nested_json_too_deep_to_decode_is_a_clean_error(api):
    body = b'{"region": "qinbei", "x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    response = post_raw(api, body, "deep")
    assert response.status_code in (400, 413, 422)
    assert "code" in response.json()
    assert Case.objects.count() == 0


BAD_TEXT = [
    ("value", '"\\u0000"'),  # NUL: PostgreSQL refuses it in text and jsonb
    ("value", '"\\ud800"'),  # a lone surrogate: not encodable as UTF-8
    ("value", '"a\\u001bb"'),  # an escape character
    ("key", '"\\u0000"'),
    ("key", '"\\udfff"'),
]


def test_nul_and_lone_surrogates_are_refused_cleanly(api, document):
    encoded = json.dumps(document, ensure_ascii=True)
    for index, (where, text) in enumerate(BAD_TEXT):
        if where == "value":
            body = encoded.replace('"name": "\\u9ec4\\u4e3d"', f'"name": {text}', 1)
        else:
            body = encoded[:-1] + f", {text}: 1}}"
        assert body != encoded
        response = post_raw(api, body.encode("ascii"), key=f"text-{index}")
        assert response.status_code == 422, response.content
        assert response.json()["code"] == "invalid_text"
    assert Case.objects.count() == 0
    reliability_record(
        "documents", "API documents with NUL, lone surrogates or controls sent", len(BAD_TEXT)
    )
    reliability_record("documents", "API documents with NUL, lone surrogates or controls stored", 0)


def test_unknown_fields_are_dropped_with_a_warning_and_not_stored(api, document):
    document["favourite_colour"] = "blue"
    document["mother"]["hk_permit"] = "H1234"
    document["newborns"][0]["toy"] = {"kind": "bear"}
    response = api.post("/cases", document, key="unknown")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["decision"]["decision"] == "accept"
    warnings = {(w["code"], w["detail"]) for w in body["decision"]["warnings"]}
    assert warnings == {
        ("unknown_field", "favourite_colour"),
        ("unknown_field", "mother.hk_permit"),
        ("unknown_field", "newborns[0].toy"),
    }
    case = Case.objects.get()
    assert "favourite_colour" not in case.document
    assert "hk_permit" not in case.document["mother"]
    assert "toy" not in case.document["newborns"][0]
    assert case.document["mother"]["name"] == document["mother"]["name"]
    assert CaseItem.objects.filter(case=case).exists()
    # Known fields are all kept: the stored document judges the same.
    assert (
        api.get(f"/cases/{case.number}").json()["decision"]["warnings"]
        == body["decision"]["warnings"]
    )


def test_wrong_trustee_or_applicant_id_is_refused_at_submission(api, example):
    """Defect 6 on the case document: a wrong ID in any ID field is told with the field
    named, and the case is not accepted: nothing is dispatched or issued."""
    document = current(example("qinbei-accept"))
    document["applicant"]["id_number"] = "450703199203150221"  # not the mother's, wrong digit
    response = api.post("/cases", document, key="applicant")
    assert response.status_code == 201
    reasons = response.json()["decision"]["reasons"]
    assert response.json()["decision"]["decision"] == "reject"
    assert {(r["code"], r["detail"]) for r in reasons} == {("invalid_id_number", "applicant")}
    assert "校验位" in reasons[0]["message"]

    document = current(example("yuanling-accept-trustee"))
    document["authorization"]["trustee"]["id_number"] = "431202199001010011"
    yuanling = Api(hospital(document["newborns"][0]["hospital"]).token)
    response = yuanling.post("/cases", document, key="trustee")
    assert response.status_code == 201, response.content
    decision = response.json()["decision"]
    assert decision["decision"] != "accept"
    [reason] = [r for r in decision["reasons"] if r["detail"] == "authorization.trustee.id_number"]
    assert "受托人身份证号码" in reason["message"]
    # neither case was dispatched: no item, no e-licence
    assert not CaseItem.objects.exists()
    assert Person.objects.filter(role="trustee").count() == 1
