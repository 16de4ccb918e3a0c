"""Fuzhou city proper (福州市区, seed 003): 二、办理条件 and the chain of 三、办理流程.

The accepted example: submitted online 2026-11-19 11:05 by the mother, born 2026-10-02 13:30
at 福建省妇幼保健院 (350102); registered with the father (hukou 350111 晋安区, family hukou).
"""

from __future__ import annotations

import pytest

from .support import (
    ACCEPT,
    BMC,
    MIE,
    MR,
    REG,
    REJECT,
    SSC,
    SUPPLEMENT,
    VACC,
    Case,
    accepted,
    check,
    codes,
    only,
    pairs,
)

CONDITION = "福州市城区各级设有产科的医院（以下简称“助产机构”）内出生的未满６个月"


def fuzhou() -> Case:
    return accepted("fuzhou")


def test_accepted_example() -> None:
    assert check(fuzhou()).outcome is ACCEPT


# --- 未满６个月 -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("when", "outcome"),
    [
        ("2027-03-31T10:00:00+08:00", ACCEPT),
        ("2027-04-01T23:59:00+08:00", ACCEPT),  # the last day before six full months
        ("2027-04-02T00:00:00+08:00", REJECT),  # six months to the day: no longer "未满"
        ("2027-05-01T10:00:00+08:00", REJECT),
    ],
)
def test_under_six_months(when: str, outcome: object) -> None:
    """Seed: "内出生的未满６个月"."""
    raw = fuzhou()
    raw["submitted_at"] = when
    decision = check(raw)
    assert decision.outcome is outcome, CONDITION
    if outcome is REJECT:
        reason = only(decision, "outside_age_window")
        assert reason.detail == "newborns[0]"
        assert "未满6个月" in reason.message
        assert codes(decision) == ["outside_age_window"]


def test_six_months_from_the_31st_ends_at_the_month_end() -> None:
    """Seed: "未满６个月"; 31 August + 6 months is the last day of February."""
    raw = fuzhou()
    raw["newborns"][0]["born_at"] = "2026-08-31T10:00:00+08:00"
    raw["submitted_at"] = "2027-02-27T10:00:00+08:00"
    assert check(raw).outcome is ACCEPT
    raw["submitted_at"] = "2027-02-28T10:00:00+08:00"  # six months after 31 August
    assert codes(check(raw)) == ["outside_age_window"]


# --- 福州市城区各级设有产科的医院内出生 -----------------------------------------------------------


@pytest.mark.parametrize("hospital", ["fujian-mch", "fuzhou-first", "fuzhou-jinan"])
def test_city_proper_hospitals_are_in_scope(hospital: str) -> None:
    """Seed: "福州市城区各级设有产科的医院"."""
    raw = fuzhou()
    raw["newborns"][0]["hospital"] = hospital
    assert check(raw).outcome is ACCEPT


@pytest.mark.parametrize(
    ("hospital", "name"),
    [("minhou-demo", "闽侯县示范医院"), ("changchun-mch", "长春市妇产医院")],
)
def test_hospital_outside_the_city_proper_is_born_outside_region(hospital: str, name: str) -> None:
    """Seed: "福州市城区各级设有产科的医院"; 闽侯县 is Fuzhou city but not the city proper."""
    raw = fuzhou()
    raw["newborns"][0]["hospital"] = hospital
    decision = check(raw)
    assert decision.outcome is REJECT
    reason = only(decision, "born_outside_region")
    assert reason.detail == "newborns[0].hospital"
    assert name in reason.message and "福州市城区" in reason.message


def test_birth_outside_the_hospital_is_rejected() -> None:
    """Seed: "…设有产科的医院（以下简称“助产机构”）内出生" — born inside the institution."""
    raw = fuzhou()
    raw["newborns"][0]["in_hospital"] = False
    decision = check(raw)
    assert decision.outcome is REJECT
    assert pairs(decision) == {("not_in_hospital_birth", "newborns[0].in_hospital")}


# --- 符合市区内随父或随母落家庭户条件（姓氏随父随母）婚生新生儿 -----------------------------------


@pytest.mark.parametrize("division", ["350102", "350103", "350104", "350105", "350111", "350112"])
def test_every_district_of_the_city_proper_is_local(division: str) -> None:
    """reference-data.md: 鼓楼、台江、仓山、马尾、晋安、长乐."""
    raw = fuzhou()
    raw["father"]["hukou_division"] = division
    assert check(raw).outcome is ACCEPT


@pytest.mark.parametrize("division", ["350121", "350181", "350203", "110101"])
def test_registering_parent_outside_the_city_proper_is_no_local_hukou(division: str) -> None:
    """Seed: "符合市区内随父或随母落家庭户条件"."""
    raw = fuzhou()
    raw["father"]["hukou_division"] = division
    decision = check(raw)
    assert decision.outcome is REJECT
    reason = only(decision, "no_local_hukou")
    assert reason.detail == "father"
    assert "福州市区" in reason.message


def test_registering_with_the_mother_in_the_city_proper_is_fine() -> None:
    """Seed: "随父或随母"."""
    raw = fuzhou()
    raw["father"]["hukou_division"] = "350121"
    raw["birth_registration"]["follows"] = "mother"  # 350102
    assert check(raw).outcome is ACCEPT


@pytest.mark.parametrize(
    ("hukou_type", "words"),
    [
        ("community_collective", "社区集体户"),
        ("student_collective", "学生集体户"),
        ("unit_collective", "单位集体户"),
    ],
)
def test_only_a_family_hukou(hukou_type: str, words: str) -> None:
    """Seed: "落家庭户条件"."""
    raw = fuzhou()
    raw["birth_registration"]["hukou_type"] = hukou_type
    decision = check(raw)
    assert decision.outcome is REJECT
    reason = only(decision, "collective_hukou_not_supported")
    assert reason.detail == "birth_registration.hukou_type"
    assert words in reason.message


@pytest.mark.parametrize("status", ["unmarried", "divorced", "single"])
def test_non_marital_birth(status: str) -> None:
    """Seed: "婚生新生儿"."""
    raw = fuzhou()
    raw["marital_status"] = status
    raw["materials"].remove("marriage_certificate")
    assert pairs(check(raw)) == {("non_marital_birth", "marital_status")}


# --- 新生儿母亲注册福建省网上办事大厅个人账号 -----------------------------------------------------


@pytest.mark.parametrize("role", ["father", "grandparent", "trustee"])
def test_only_the_mother_applies(role: str) -> None:
    """Seed: "新生儿母亲注册福建省网上办事大厅（以下简称“网上办事大厅”）个人账号"."""
    raw = fuzhou()
    raw["applicant"]["role"] = role
    decision = check(raw)
    assert decision.outcome is REJECT
    reason = only(decision, "wrong_applicant")
    assert "新生儿母亲" in reason.message


def test_online_only() -> None:
    """Seed: "登陆网上办事大厅，选择“出生一件事”事项"; failures go to the counter."""
    raw = fuzhou()
    raw["channel"] = "counter"
    assert pairs(check(raw)) == {("field_invalid", "channel")}


def test_mother_unknown() -> None:
    """Seed: "新生儿母亲注册福建省网上办事大厅" — the mother is known."""
    raw = fuzhou()
    raw["mother"] = {"known": False}
    assert ("mother_unknown", "mother") in pairs(check(raw))


# --- the chain: each step "if the applicant chose the next steps" ---------------------------------


@pytest.mark.parametrize(
    "items",
    [
        [BMC, VACC],  # "申请人未选择通过平台办理出生户口登记业务的，业务办理流程结束"
        [BMC, VACC, REG],  # "申请人未选择通过服务平台办理后续业务的，业务办理流程结束"
        [BMC, VACC, REG, MIE],
        [BMC, VACC, REG, MR, MIE],
        [BMC, VACC, REG, MR, MIE, SSC],
    ],
)
def test_choosing_fewer_items_ends_the_chain_early(items: list[str]) -> None:
    """Seed: "申请人未选择通过平台办理出生户口登记业务的，业务办理流程结束"."""
    raw = fuzhou()
    raw["items"] = items
    assert check(raw).outcome is ACCEPT


def test_registration_without_the_bmc_step_is_a_broken_chain() -> None:
    """Seed: "申请人选择后续办理出生户口登记业务的，平台将相关信息（包括…《出生医学证明》…）".

    The police register the birth from the BMC the chain produced.
    """
    raw = fuzhou()
    raw["items"] = [VACC, REG]
    decision = check(raw)
    assert decision.outcome is SUPPLEMENT
    reason = only(decision, "field_invalid")
    assert reason.detail == "items"
    assert "出生医学证明" in reason.message


def test_an_issued_bmc_stands_for_the_bmc_step() -> None:
    """Seed: "《出生医学证明》（符合国标的电子证照）" — an issued BMC is reused."""
    raw = fuzhou()
    raw["items"] = [VACC, REG]
    raw["materials"].append("birth_certificate")
    assert check(raw).outcome is ACCEPT


def test_card_without_the_insurance_step_is_a_broken_chain() -> None:
    """Seed (五) follows (四): the card comes after the medical-insurance step."""
    raw = fuzhou()
    raw["items"] = [BMC, VACC, REG, SSC]
    decision = check(raw)
    assert decision.outcome is SUPPLEMENT
    assert {d for c, d in pairs(decision)} == {"items"}
    assert all("社会保障卡申领" in r.message for r in decision.reasons)


# --- materials ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "material", ["mother_id_card", "father_id_card", "marriage_certificate", "household_register"]
)
def test_each_required_material(material: str) -> None:
    """Seed: "包括含有电子签名的申请表、《出生医学证明》和身份证、户口簿、结婚证等"."""
    raw = fuzhou()
    raw["materials"].remove(material)
    decision = check(raw)
    assert decision.outcome is SUPPLEMENT
    assert pairs(decision) == {("missing_material", material)}


def test_household_register_only_when_registering() -> None:
    """Seed: "申请人选择后续办理出生户口登记业务的，平台将相关信息（包括…户口簿…）"."""
    raw = fuzhou()
    raw["items"] = [BMC, VACC]
    raw["materials"].remove("household_register")
    assert check(raw).outcome is ACCEPT


def test_hospital_birth_record_is_pulled_from_the_hospital() -> None:
    """Seed: "自动调取产妇分娩信息进行核对"."""
    raw = fuzhou()
    raw["materials"].remove("hospital_birth_record")
    assert check(raw).outcome is ACCEPT


@pytest.mark.parametrize("method", ["pickup", "mail"])
def test_bmc_and_card_by_pickup_or_mail(method: str) -> None:
    """Seed: "《出生医学证明》由申请人自取，或邮寄给申请人（邮递费用自理）"."""
    raw = fuzhou()
    raw["delivery"]["birth_certificate"] = {"method": method}
    raw["delivery"]["social_security_card"] = {"method": method}
    assert check(raw).outcome is ACCEPT


def test_unnamed_newborn_is_a_field_to_fill() -> None:
    """Seed: "填报《福建省“出生一件事”集成套餐服务申请登记表》提出申请"."""
    raw = fuzhou()
    raw["newborns"][0]["name"] = ""
    assert pairs(check(raw)) == {("field_invalid", "newborns[0].name")}
