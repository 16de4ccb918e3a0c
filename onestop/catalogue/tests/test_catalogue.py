"""The catalogue is the one definition of items, departments and materials: it loads and
refuses bad data with a clear error naming the file, its cites quote the seeds, and every
table the pure modules derive from it agrees with it (the Django side: onestop/integration/
tests/test_catalogue_agreement.py)."""

from __future__ import annotations

import copy
import json
import os
import re
import subprocess
import sys
import unicodedata
from pathlib import Path
from typing import Any, get_args

import pytest
import yaml

from onestop.cases.domain.document import (
    ITEM_CODES,
    MATERIAL_CODES,
    CaseDocument,
    Delivery,
    Parent,
)
from onestop.catalogue.loader import PACKAGED_CATALOGUE, catalogue, load_catalogue
from onestop.catalogue.names import department_name, elicence_title, item_name, material_name
from onestop.catalogue.schema import DeliveredResult, ParentField, Section
from onestop.certificates.document import PUBLIC_RESULT_FIELDS, public_result
from onestop.core.errors import PackError
from onestop.eligibility.prereview import RESULT_ITEM
from onestop.eligibility.reasons import DEPARTMENT_NAMES, ITEM_NAMES, MATERIAL_NAMES
from onestop.policy.loader import PACKAGED_PACKS, load_packs
from onestop.policy.schema import PolicyPack
from onestop.workflow.domain import delivery
from onestop.workflow.domain.results import RESULT_FIELDS, validate_result

SEEDS = Path(__file__).resolve().parents[3] / "docs" / "seeds"


def raw(name: str) -> dict[str, Any]:
    data = yaml.safe_load((PACKAGED_CATALOGUE / name).read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def write(folder: Path, name: str, data: object) -> Path:
    (folder / "catalogue").mkdir(parents=True, exist_ok=True)
    path = folder / "catalogue" / name
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def refused(folder: Path) -> str:
    with pytest.raises(PackError) as caught:
        load_catalogue([folder])
    assert caught.value.code == "policy_pack_invalid"
    assert "\n" not in caught.value.message
    return caught.value.message


# --- the packaged catalogue -------------------------------------------------------


def test_the_packaged_catalogue_loads_with_its_items_and_departments() -> None:
    known = load_catalogue()
    assert list(known.items) == [
        "birth_certificate",
        "vaccination_certificate",
        "birth_registration",
        "medical_insurance_enrolment",
        "medical_insurance_payment",
        "social_security_card",
        "maternity_reimbursement",
        "parenting_guidance",
    ]
    assert list(known.departments) == [
        "hospital", "health", "cdc", "police", "medical_insurance", "hrss", "tax"
    ]  # fmt: skip
    # No department without an item: the data bureau and the service center work none.
    worked = {d for item in known.items.values() for d in item.departments}
    assert worked == set(known.departments)
    assert "data_bureau" not in known.departments and "service_center" not in known.departments
    assert known.items["vaccination_certificate"].departments == ["hospital", "cdc"]


def test_names_in_both_languages_and_codes_for_the_unknown() -> None:
    assert item_name("birth_registration") == "出生登记（户口登记）"
    assert item_name("birth_registration", "en") == "Birth registration (hukou)"
    assert item_name("birth_registration", "zh-hans") == "出生登记（户口登记）"
    assert department_name("hrss", "en-us") == "Human resources and social security bureau"
    assert material_name("household_register") == "居民户口簿（首页、户主页、本人页）"
    assert elicence_title("birth_certificate") == "出生医学证明"
    assert item_name("passport") == "passport" and department_name("army", "en") == "army"


def test_routing_by_department_with_the_item_s_own_rule_first() -> None:
    known = catalogue()
    assert known.routing("birth_certificate", "hospital") == "birth_hospital"
    assert known.routing("vaccination_certificate", "hospital") == "birth_hospital"
    assert known.routing("vaccination_certificate", "cdc") == "hospital_division"
    assert known.routing("birth_registration", "police") == "police_station"
    assert known.routing("medical_insurance_payment", "tax") == "insurance_division"
    assert known.routing("social_security_card", "hrss") == "registering_division"
    assert known.item_of_result("household_register") == "birth_registration"


# --- the derived tables agree with it ----------------------------------------------


def test_every_derived_table_equals_the_catalogue() -> None:
    known = catalogue()
    assert dict(ITEM_NAMES) == {code: i.name.zh for code, i in known.items.items()}
    assert dict(MATERIAL_NAMES) == {code: m.name.zh for code, m in known.materials.items()}
    assert dict(DEPARTMENT_NAMES) == {code: d.name.zh for code, d in known.departments.items()}
    assert list(ITEM_CODES) == list(known.items)
    assert list(MATERIAL_CODES) == list(known.materials)
    assert {k: list(v) for k, v in RESULT_FIELDS.items()} == {
        code: i.result_fields for code, i in known.items.items()
    }
    delivered = {code: i.delivery for code, i in known.items.items() if i.delivery}
    assert dict(delivery.RESULT_OF_ITEM) == {code: d.result for code, d in delivered.items()}
    assert dict(RESULT_ITEM) == {d.result: code for code, d in delivered.items()}
    assert dict(delivery.RESULT_NAMES) == {d.result: d.name.zh for d in delivered.values()}
    assert dict(delivery.BRING) == {d.result: d.bring for d in delivered.values()}
    assert dict(delivery.PICKUP) == {d.result: d.pickup for d in delivered.values()}
    public = {f.name: f.public for i in known.items.values() for f in i.result_fields if f.public}
    assert dict(PUBLIC_RESULT_FIELDS) == public | {"granted": "full", "basis": "full"}


def test_the_vocabularies_match_the_case_document() -> None:
    assert set(get_args(Section)) <= set(CaseDocument.model_fields)
    assert set(get_args(ParentField)) == set(Parent.model_fields)
    assert set(get_args(DeliveredResult)) == set(Delivery.model_fields) - {"address"}
    delivery_keys = PolicyPack.model_fields["delivery"].annotation
    assert set(get_args(get_args(delivery_keys)[0])) == set(get_args(DeliveredResult))


def test_every_item_of_every_pack_is_in_the_catalogue() -> None:
    known = catalogue()
    packs = load_packs()
    assert packs.catalogue == known
    for region in packs.regions:
        for pack in packs.versions[region]:
            for entry in pack.items:
                assert entry.department in known.items[entry.item].departments, (region, entry)
            for m in pack.materials:
                assert m.material in known.materials


def test_examples_validate_and_public_fields_are_the_catalogue_s() -> None:
    for code, item in catalogue().items.items():
        example = {f.name: f.example for f in item.result_fields if f.kind != "id_number"}
        _cleaned, problems = validate_result(code, example)
        assert problems == [], (code, problems)
    sealed = public_result(
        {"card_number": "A45070312", "pickup_place": "某银行", "amount_yuan": "1"}
    )
    assert sealed == {"card_number": "A4*****12"}


# --- cites ------------------------------------------------------------------------

_CITE = re.compile(r"^seed (\d{3}): (.+)$", re.S)


def _normalise(text: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


def _cites(node: object) -> list[str]:
    if isinstance(node, dict):
        return [
            c for key, value in node.items() for c in ([value] if key == "cite" else _cites(value))
        ]
    if isinstance(node, list):
        return [c for value in node for c in _cites(value)]
    return []


@pytest.mark.parametrize("name", ["items.yaml", "departments.yaml", "materials.yaml"])
def test_every_cite_quotes_its_seed(name: str) -> None:
    cites = _cites(raw(name))
    if name != "materials.yaml":
        assert len(cites) >= 6
    for cite in cites:
        found = _CITE.match(cite)
        assert found, f"{name}: {cite!r} is not 'seed NNN: sentence'"
        (seed,) = SEEDS.glob(f"{found.group(1)}_*.txt")
        text = _normalise(seed.read_text(encoding="utf-8"))
        assert _normalise(found.group(2)) in text, f"{name}: {cite!r} not in {seed.name}"


# --- bad data is refused with the file named ----------------------------------------

NEW_DEPARTMENT = {
    "code": "screening_center",
    "name": {"zh": "新生儿疾病筛查中心", "en": "Newborn screening centre"},
    "jurisdiction_kind": "division",
    "routing": "hospital_division",
}
NEW_ITEM = {
    "code": "newborn_screening",
    "name": {"zh": "新生儿疾病筛查", "en": "Newborn screening"},
    "departments": ["screening_center"],
    "result_fields": [
        {"name": "report_number", "label": "筛查报告编号", "label_en": "Report number",
         "kind": "code", "pattern": "[0-9A-Za-z-]{4,32}", "example": "SC-2026-0001"},
    ],
    "elicence_title": {"zh": "新生儿疾病筛查报告", "en": "Newborn screening report"},
    "sections": ["newborns", "mother"],
    "materials": ["mother_id_card"],
}  # fmt: skip


def test_a_new_item_and_department_load_from_an_extra_folder(tmp_path: Path) -> None:
    write(tmp_path, "screening.yaml", {"departments": [NEW_DEPARTMENT], "items": [NEW_ITEM]})
    known = load_catalogue([tmp_path])
    assert list(known.items)[-1] == "newborn_screening"
    assert known.departments["screening_center"].worked_by == ["officer", "api_client"]
    assert known.routing("newborn_screening", "screening_center") == "hospital_division"
    assert "newborn_screening" not in load_catalogue().items


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda i, d: i.update(departments=["army"]), "未知的部门“army”"),
        (lambda i, d: i.update(materials=["selfie"]), "未知的材料“selfie”"),
        (lambda i, d: i.update(routing={"screening_center": "police_station"}), "辖区类型"),
        (lambda i, d: d.update(routing="birth_hospital"), "jurisdiction_kind"),
        (lambda i, d: i.update(code="birth_certificate"), "事项 birth_certificate 重复定义"),
        (lambda i, d: d.update(code="police"), "部门 police 重复定义"),
        (lambda i, d: i.update(sections=["bank_statements"]), "sections"),
        (lambda i, d: i["result_fields"][0].update(example="?"), "示例"),
        (lambda i, d: i["result_fields"][0].update(pattern="[unclosed"), "正则表达式"),
        (lambda i, d: i.update(colour="red"), "colour"),
        (lambda i, d: i.update(delivery={"result": "household_register", "name": {"zh": "筛查报告",
         "en": "Report"}, "bring": "身份证原件", "pickup": "birth_hospital"}),
         "household_register 已属于事项 birth_registration"),
    ],
    ids=["unknown-dept", "unknown-material", "routing-kind", "dept-routing-kind", "dup-item",
         "dup-dept", "bad-section", "bad-example", "bad-pattern", "extra-key", "dup-result"],
)  # fmt: skip
def test_a_bad_catalogue_file_is_refused_naming_it(
    tmp_path: Path, change: Any, expected: str
) -> None:
    item, department = copy.deepcopy(NEW_ITEM), copy.deepcopy(NEW_DEPARTMENT)
    change(item, department)
    write(tmp_path, "bad.yaml", {"departments": [department], "items": [item]})
    message = refused(tmp_path)
    assert "bad.yaml" in message and expected in message


def test_not_yaml_is_refused(tmp_path: Path) -> None:
    (tmp_path / "catalogue").mkdir()
    (tmp_path / "catalogue" / "broken.yaml").write_text("items: [unclosed\n", encoding="utf-8")
    message = refused(tmp_path)
    assert "broken.yaml" in message and "YAML" in message


# --- a pack is checked against the catalogue of its folders --------------------------


def pack_with(tmp_path: Path, change: Any) -> str:
    data = yaml.safe_load((PACKAGED_PACKS / "qinbei.yaml").read_text(encoding="utf-8"))
    data["version"] = "test"
    change(data)
    (tmp_path / "packs").mkdir(exist_ok=True)
    (tmp_path / "packs" / "q.yaml").write_text(yaml.safe_dump(data, allow_unicode=True))
    with pytest.raises(PackError) as caught:
        load_packs([tmp_path], packaged=False)
    return caught.value.message


def test_a_pack_naming_an_unknown_item_or_department_is_refused(tmp_path: Path) -> None:
    entry = {
        "item": "newborn_screening",
        "department": "screening_center",
        "time_limit": {"days": 5},
        "ordinary_channel": "到筛查中心",
        "cite": "某某某某",
    }
    message = pack_with(tmp_path, lambda d: d["items"].append(entry))
    assert "q.yaml" in message and "items.8.item: 未知的事项“newborn_screening”" in message
    message = pack_with(tmp_path, lambda d: d["items"][0].update(department="data_bureau"))
    assert "items.0.department: 未知的部门“data_bureau”" in message
    message = pack_with(tmp_path, lambda d: d["items"][0].update(department="police"))
    assert "事项 birth_certificate 不由“police”办理" in message
    message = pack_with(tmp_path, lambda d: d["materials"][0].update(items=["passport"]))
    assert "materials.0.items.0: 未知的事项“passport”" in message
    # The same pack loads when the folder's catalogue defines the item and its department.
    write(tmp_path, "screening.yaml", {"departments": [NEW_DEPARTMENT], "items": [NEW_ITEM]})
    data = yaml.safe_load((PACKAGED_PACKS / "qinbei.yaml").read_text(encoding="utf-8"))
    data["version"] = "test"
    data["items"].append(entry)
    (tmp_path / "packs" / "q.yaml").write_text(yaml.safe_dump(data, allow_unicode=True))
    pack = load_packs([tmp_path], packaged=False).current("qinbei")
    assert pack is not None and pack.item("newborn_screening") is not None


# --- the command line judges a case by the folder's catalogue ------------------------


def test_the_cli_checks_a_case_with_a_new_item_from_the_extra_folder(tmp_path: Path) -> None:
    write(tmp_path, "screening.yaml", {"departments": [NEW_DEPARTMENT], "items": [NEW_ITEM]})
    pack = yaml.safe_load((PACKAGED_PACKS / "qinbei.yaml").read_text(encoding="utf-8"))
    pack["version"] = "2025.01.01-screening"
    pack["effective_from"] = "2025-01-01"
    pack["items"].append(
        {
            "item": "newborn_screening",
            "department": "screening_center",
            "after": ["birth_certificate"],
            "time_limit": {"days": 3},
            "ordinary_channel": "到新生儿疾病筛查中心查询筛查结果",
            "cite": "a new item written by a test",
        }
    )
    (tmp_path / "packs").mkdir()
    (tmp_path / "packs" / "q.yaml").write_text(yaml.safe_dump(pack, allow_unicode=True))
    examples = Path(__file__).resolve().parents[2] / "examples"
    case = json.loads((examples / "qinbei-accept.json").read_text(encoding="utf-8"))
    case["items"] = ["birth_certificate", "newborn_screening"]
    (tmp_path / "case.json").write_text(json.dumps(case, ensure_ascii=False), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k != "ONESTOP_EXTRA_DATA"}

    def check(*extra: str) -> dict[str, Any]:
        done = subprocess.run(
            [sys.executable, "-m", "onestop", *extra, "check", str(tmp_path / "case.json")],
            capture_output=True, text=True, encoding="utf-8", env=env, timeout=60, check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        body = json.loads(done.stdout)
        assert isinstance(body, dict)
        return body

    body = check("--extra-data", str(tmp_path))
    assert body["decision"] == "accept", body["reasons"]
    assert [(p["item"], p["department"]) for p in body["plan"]] == [
        ("birth_certificate", "hospital"),
        ("newborn_screening", "screening_center"),
    ]
    without = check()
    assert without["decision"] == "supplement"
    assert "未知的事项代码“newborn_screening”" in without["reasons"][0]["message"]
