"""A sixth region is data only: a pack file and reference CSV files, no Python change.

The made-up region "xinyi" (a county-level city under 徐州市, 江苏省, codes 320300 and
320381 which the packaged division table does not have) is written into a temporary
data folder: ``packs/xinyi.yaml`` plus ``reference/{divisions,hospitals,police_stations}.csv``.
It is then used through the library (load_packs + load_reference + check_case) and through
the command line, both with ``--extra-data`` and with ``ONESTOP_EXTRA_DATA``.
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from onestop.core.clock import BEIJING
from onestop.eligibility.check import check_case
from onestop.policy.loader import EXTRA_DATA_ENV, load_packs
from onestop.reference.domain import load_reference

XINYI_PACK = """\
# 新沂市新生儿出生“一件事”: a made-up sixth region, written by a test, not a seed.
region: xinyi
version: "2026.01.01-1"
effective_from: 2026-01-01
name: 新沂市新生儿出生“一件事”（测试用）
name_en: Xinyi (test region) newborn one-stop service
level: county
clock_rule: standard
clock_rule_cite: "spec: Standard rule (lanzhou, yuanling, qinbei, jilin)"
overall_time_limit: {days: 10, cite: 承诺办结时限为10个工作日}
channels:
  - code: counter
    where: [hospital]
    label: 助产机构综合窗口
items:
  - item: birth_certificate
    department: hospital
    time_limit: {days: 2, cite: 出生医学证明2个工作日内办结}
    result_material: birth_certificate
    ordinary_channel: 到分娩的助产机构申领《出生医学证明》
    cite: 助产机构签发出生医学证明
  - item: vaccination_certificate
    department: cdc
    time_limit: {days: 1, cite: 预防接种证1个工作日内办结}
    ordinary_channel: 到接种单位办理预防接种证
    cite: 疾控中心办理预防接种证
  - item: birth_registration
    department: police
    after: [birth_certificate]
    time_limit: {days: 3, cite: 出生登记3个工作日内办结}
    ordinary_channel: 到派出所申报出生登记
    cite: 公安部门办理出生登记
  - item: medical_insurance_enrolment
    department: medical_insurance
    after: [birth_registration]
    time_limit: {days: 5, cite: 医保登记5个工作日内办结}
    ordinary_channel: 到医保经办机构办理参保登记
    cite: 医保部门办理参保登记
  - item: medical_insurance_payment
    department: tax
    after: [medical_insurance_enrolment]
    time_limit: {days: 60, unit: calendar_days, cite: 须在60天内完成参保缴费}
    ordinary_channel: 通过税务渠道缴费
    cite: 税务部门办理医保缴费
rules:
  - rule: applicant_admitted
    admitted: [{role: mother}, {role: father}]
    label: 新生儿父母
    cite: 由新生儿父母申请
  - rule: mother_known
    cite: 母亲身份明确
  - rule: hospital_in_scope
    divisions: ["320381"]
    label: 新沂市
    cite: 在新沂市助产机构出生
  - rule: age_window
    months: 3
    inclusive: false
    label: 未满3个月
    cite: 出生未满3个月
  - rule: marital_birth
    reasons: {unmarried: non_marital_birth, divorced: non_marital_birth, single: non_marital_birth}
    cite: 婚内生育子女
  - rule: local_hukou
    registering_parent_in: ["320381"]
    label: 新沂市
    cite: 在新沂市落户
  - rule: newborn_named
    reason: newborn_unnamed
    cite: 新生儿已取名
materials:
  - material: mother_id_card
    when: {mother_known: true}
    cite: 父母身份证
  - material: father_id_card
    when: {father_known: true}
    cite: 父母身份证
  - material: household_register
    items: [birth_registration]
    cite: 落户方户口簿
  - material: marriage_certificate
    when: {married: true}
    cite: 父母结婚证
delivery:
  birth_certificate:
    methods: [pickup]
    pickup_by: [mother, father]
    cite: 出生医学证明到助产机构领取
"""

DIVISIONS_CSV = "code,name,parent\n320300,徐州市,320000\n320381,新沂市,320300\n"
HOSPITALS_CSV = (
    "code,name,division,midwifery\n"
    "xinyi-mch,新沂市妇幼保健院,320381,true\n"
    "xinyi-clinic,新沂市某诊所,320381,false\n"
)
POLICE_STATIONS_CSV = "code,name,division\nxinyi-ps,新沂市公安局示范派出所,320381\n"

MOTHER_ID = "320381199503120427"
FATHER_ID = "320381199307210310"

CASE: dict[str, Any] = {
    "region": "xinyi",
    "channel": "counter",
    "submitted_at": "2026-03-10T09:00:00+08:00",
    "applicant": {"role": "mother", "name": "王芳", "id_number": MOTHER_ID, "phone": "13900001111"},
    "items": [
        "birth_certificate",
        "vaccination_certificate",
        "birth_registration",
        "medical_insurance_enrolment",
        "medical_insurance_payment",
    ],
    "marital_status": "married",
    "newborns": [
        {
            "name": "张小新",
            "sex": "1",
            "born_at": "2026-03-02T10:15:00+08:00",
            "gestational_weeks": 39,
            "weight_g": 3300,
            "length_cm": 50,
            "hospital": "xinyi-mch",
            "in_hospital": True,
            "record_number": "XY-2026-0001",
            "birth_attendant": "李华",
            "blood_type": "A",
            "ethnicity_follows": "father",
            "native_place_follows": "father",
        }
    ],
    "mother": {
        "known": True,
        "name": "王芳",
        "id_number": MOTHER_ID,
        "residency": "mainland",
        "ethnicity": "01",
        "phone": "13900001111",
        "hukou_division": "320381",
        "hukou_address": "新沂市新安街道人民路1号",
        "residence_address": "新沂市新安街道人民路1号",
        "marriage_certificate": "J320381-2024-000101",
    },
    "father": {
        "name": "张伟",
        "id_number": FATHER_ID,
        "residency": "mainland",
        "ethnicity": "01",
        "phone": "13900002222",
        "hukou_division": "320381",
        "hukou_address": "新沂市新安街道人民路1号",
        "residence_address": "新沂市新安街道人民路1号",
        "marriage_certificate": "J320381-2024-000101",
    },
    "birth_registration": {
        "follows": "father",
        "police_station": "xinyi-ps",
        "hukou_type": "family",
        "householder_name": "张伟",
        "householder_id_number": FATHER_ID,
        "relation_to_householder": "子",
        "address": "新沂市新安街道人民路1号",
        "bmc_number": None,
    },
    "medical_insurance": {"division": "320381", "year": "current", "payment_channel": "wechat"},
    "delivery": {"birth_certificate": {"method": "pickup", "by": "mother"}},
    "authorization": None,
    "ethnicity_confirmation": None,
    "materials": ["mother_id_card", "father_id_card", "household_register", "marriage_certificate"],
}

EXPECTED_PLAN = [
    {"item": "birth_certificate", "department": "hospital", "after": [], "days": 2},
    {"item": "vaccination_certificate", "department": "cdc", "after": [], "days": 1},
    {
        "item": "birth_registration",
        "department": "police",
        "after": ["birth_certificate"],
        "days": 3,
    },
    {
        "item": "medical_insurance_enrolment",
        "department": "medical_insurance",
        "after": ["birth_registration"],
        "days": 5,
    },
    {
        "item": "medical_insurance_payment",
        "department": "tax",
        "after": ["medical_insurance_enrolment"],
        "days": 60,
    },
]

NOW = datetime(2026, 3, 10, 9, 0, tzinfo=BEIJING)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("sixth-region")
    (root / "packs").mkdir()
    (root / "packs" / "xinyi.yaml").write_text(XINYI_PACK, encoding="utf-8")
    reference = root / "reference"
    reference.mkdir()
    (reference / "divisions.csv").write_text(DIVISIONS_CSV, encoding="utf-8")
    (reference / "hospitals.csv").write_text(HOSPITALS_CSV, encoding="utf-8")
    (reference / "police_stations.csv").write_text(POLICE_STATIONS_CSV, encoding="utf-8")
    (root / "case.json").write_text(json.dumps(CASE, ensure_ascii=False), encoding="utf-8")
    return root


def case_with(**changes: Any) -> dict[str, Any]:
    case = copy.deepcopy(CASE)
    case.update(changes)
    return case


def with_hospital(code: str) -> dict[str, Any]:
    case = copy.deepcopy(CASE)
    case["newborns"][0]["hospital"] = code
    return case


def plan_of(body: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {
            "item": p["item"],
            "department": p["department"],
            "after": p["after"],
            "days": p["time_limit_days"],
        }
        for p in body["plan"]
    ]


# --- (a) the library --------------------------------------------------------------


def test_pack_and_reference_load_from_the_data_folder(data_dir: Path) -> None:
    packs = load_packs([data_dir])
    assert packs.regions == ("fuzhou", "jilin", "lanzhou", "qinbei", "xinyi", "yuanling")
    pack = packs.current("xinyi", NOW)
    assert pack is not None and pack.version == "2026.01.01-1"
    reference = load_reference([data_dir / "reference"])
    assert reference.division_full_name("320381") == "江苏省徐州市新沂市"
    assert reference.hospitals["xinyi-mch"].midwifery
    assert reference.police_stations["xinyi-ps"].division == "320381"
    # the packaged rows are still there
    assert "lanzhou-mch" in reference.hospitals and "lanzhou-ps" in reference.police_stations


def test_without_the_data_folder_the_region_is_unknown(data_dir: Path) -> None:
    assert "xinyi" not in load_packs().regions
    assert "xinyi-mch" not in load_reference().hospitals


def check(data_dir: Path, case: dict[str, Any]) -> dict[str, Any]:
    decision = check_case(
        case,
        packs=load_packs([data_dir]),
        reference=load_reference([data_dir / "reference"]),
        now=NOW,
    )
    body = decision.as_json()
    assert isinstance(body, dict)
    return body


def test_a_case_in_the_new_region_is_accepted_with_its_plan(data_dir: Path) -> None:
    body = check(data_dir, CASE)
    assert body["decision"] == "accept", body["reasons"]
    assert body["reasons"] == []
    assert body["region"] == "xinyi" and body["pack_version"] == "2026.01.01-1"
    assert plan_of(body) == EXPECTED_PLAN
    units = {p["item"]: p["time_limit_unit"] for p in body["plan"]}
    assert units["medical_insurance_payment"] == "calendar_days"
    assert units["birth_registration"] == "working_days"


def test_fewer_items_shorten_the_plan(data_dir: Path) -> None:
    body = check(data_dir, case_with(items=["birth_certificate", "birth_registration"]))
    assert body["decision"] == "accept", body["reasons"]
    assert [p["item"] for p in body["plan"]] == ["birth_certificate", "birth_registration"]


@pytest.mark.parametrize("hospital", ["lanzhou-mch", "qinbei-mch", "xinyi-clinic"])
def test_a_hospital_outside_the_scope_is_born_outside_region(data_dir: Path, hospital: str) -> None:
    body = check(data_dir, with_hospital(hospital))
    assert body["decision"] == "reject"
    assert [r["code"] for r in body["reasons"]] == ["born_outside_region"]
    assert body["reasons"][0]["detail"] == "newborns[0].hospital"


def test_the_new_packs_own_rules_apply(data_dir: Path) -> None:
    # 未满3个月 (exclusive): born 2026-03-02, so 2026-06-02 is already outside
    late = check(data_dir, case_with(submitted_at="2026-06-02T09:00:00+08:00"))
    assert [r["code"] for r in late["reasons"]] == ["outside_age_window"]
    inside = check(data_dir, case_with(submitted_at="2026-06-01T09:00:00+08:00"))
    assert inside["decision"] == "accept", inside["reasons"]
    # the registering parent's hukou must be in 新沂市
    case = copy.deepcopy(CASE)
    case["father"]["hukou_division"] = "620102"
    assert "no_local_hukou" in [r["code"] for r in check(data_dir, case)["reasons"]]


# --- (b) the command line ---------------------------------------------------------


def run_cli(*args: str, env_dir: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env.pop(EXTRA_DATA_ENV, None)
    if env_dir is not None:
        env[EXTRA_DATA_ENV] = str(env_dir)
    return subprocess.run(
        [sys.executable, "-m", "onestop", *args],
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=env,
        timeout=60,
        check=False,
    )


def test_cli_check_with_extra_data(data_dir: Path) -> None:
    result = run_cli("--extra-data", str(data_dir), "check", str(data_dir / "case.json"))
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    body = json.loads(result.stdout)
    assert body["decision"] == "accept", body["reasons"]
    assert plan_of(body) == EXPECTED_PLAN


def test_cli_deadline_with_extra_data(data_dir: Path) -> None:
    # standard rule, 3 working days from Wed 2026-09-30: Oct 1–7 are National Day,
    # then Thu Oct 8, Fri Oct 9 and the make-up Saturday Oct 10
    result = run_cli(
        "--extra-data",
        str(data_dir),
        "deadline",
        "--region",
        "xinyi",
        "--item",
        "birth_registration",
        "--received",
        "2026-09-30T10:00:00+08:00",
    )
    assert result.returncode == 0, result.stderr
    body = json.loads(result.stdout)
    assert body["due"] == "2026-10-10T23:59:59+08:00"
    assert body["region"] == "xinyi" and body["pack_version"] == "2026.01.01-1"
    # the pack's own calendar-day limit
    result = run_cli(
        "--extra-data",
        str(data_dir),
        "deadline",
        "--region",
        "xinyi",
        "--item",
        "medical_insurance_payment",
        "--received",
        "2026-03-01T10:00:00+08:00",
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["due"] == "2026-04-30T23:59:59+08:00"


def test_cli_with_the_environment_variable(data_dir: Path) -> None:
    result = run_cli("check", str(data_dir / "case.json"), env_dir=data_dir)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["decision"] == "accept"
    result = run_cli(
        "deadline",
        "--region",
        "xinyi",
        "--item",
        "medical_insurance_enrolment",
        "--received",
        "2026-04-30T16:00:00+08:00",
        env_dir=data_dir,
    )
    assert result.returncode == 0, result.stderr
    # 5 working days after Thu Apr 30: May 1–5 off, then May 6, 7, 8, Sat May 9 (make-up), May 11
    assert json.loads(result.stdout)["due"] == "2026-05-11T23:59:59+08:00"
    result = run_cli("packs", env_dir=data_dir)
    assert result.returncode == 0, result.stderr
    assert "xinyi\t2026.01.01-1" in result.stdout


def test_cli_without_the_data_folder_refuses_the_region(data_dir: Path) -> None:
    result = run_cli("check", str(data_dir / "case.json"))
    assert result.returncode == 2
    assert result.stdout == ""
    assert len(result.stderr.splitlines()) == 1
    assert "xinyi" in result.stderr
