"""Qinbei (钦州市钦北区, seed 002): the acceptance conditions of 三、受理条件.

The accepted example: submitted 2026-11-20 09:30, born 2026-11-10 08:20 at 钦北区妇幼保健院,
the mother applies, the birth is registered with the father (hukou 450703).
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from .support import (
    ACCEPT,
    BMC,
    MIE,
    REG,
    REJECT,
    SSC,
    SUPPLEMENT,
    Case,
    accepted,
    at,
    check,
    code_set,
    codes,
    only,
    pairs,
)


def qinbei() -> Case:
    return accepted("qinbei")


def test_accepted_example() -> None:
    decision = check(qinbei())
    assert decision.outcome is ACCEPT
    assert decision.pack_version


# --- (六) 出生1个月内提出新生儿出生“一件事”事项申请 -------------------------------------------


@pytest.mark.parametrize(
    ("when", "outcome"),
    [
        ("2026-11-10T08:20:00+08:00", ACCEPT),  # the birth minute itself
        ("2026-12-09T12:00:00+08:00", ACCEPT),
        ("2026-12-10T00:00:00+08:00", ACCEPT),  # one month to the day: "1个月内" includes it
        ("2026-12-10T23:59:59+08:00", ACCEPT),
        ("2026-12-11T00:00:00+08:00", REJECT),  # the day after
        ("2027-03-01T10:00:00+08:00", REJECT),
    ],
)
def test_one_month_window_boundary(when: str, outcome: object) -> None:
    """Seed: "出生1个月内提出新生儿出生“一件事”事项申请"."""
    raw = qinbei()
    raw["submitted_at"] = when
    decision = check(raw)
    assert decision.outcome is outcome
    if outcome is REJECT:
        reason = only(decision, "outside_age_window")
        assert reason.detail == "newborns[0]"
        assert "出生1个月内" in reason.message
        assert codes(decision) == ["outside_age_window"]


@pytest.mark.parametrize(
    ("born", "last_day"),
    [
        ("2027-01-31", "2027-02-28"),  # no 31 February: the month's last day
        ("2028-01-31", "2028-02-29"),  # leap year
        ("2026-12-31", "2027-01-31"),  # across the year
    ],
)
def test_one_month_from_a_month_end(born: str, last_day: str) -> None:
    """Seed: "出生1个月内"; a month from the 31st ends on the next month's last day."""
    raw = qinbei()
    raw["newborns"][0]["born_at"] = f"{born}T10:00:00+08:00"
    raw["submitted_at"] = f"{last_day}T23:00:00+08:00"
    assert check(raw).outcome is ACCEPT
    decision = check(raw, at=at(f"{last_day}T00:00:00+08:00") + timedelta(days=1))
    assert codes(decision) == ["outside_age_window"]


def test_each_twin_is_judged_on_its_own() -> None:
    """Seed: "出生1个月内" — per newborn (多胞胎: one entry per baby)."""
    raw = qinbei()
    twin = dict(raw["newborns"][0], name="覃沐晨", born_at="2026-11-10T08:35:00+08:00")
    raw["newborns"].append(twin)
    raw["submitted_at"] = "2026-12-11T09:00:00+08:00"
    decision = check(raw)
    assert pairs(decision) == {
        ("outside_age_window", "newborns[0]"),
        ("outside_age_window", "newborns[1]"),
    }


# --- (二) 在钦北区具备接产资质的医疗机构内出生 ---------------------------------------------------

QINBEI_INSTITUTIONS = [
    "qinbei-mch",
    "qinbei-people",
    "qinbei-xiaodong",
    "qinbei-dasi",
    "qinbei-pingji",
    "qinbei-dazhi",
    "qinbei-nameng",
    "qinbei-bancheng",
    "qinbei-naxiang",
    "qinbei-qingtang",
    "qinbei-xintang",
    "qinbei-changtan",
    "qinbei-guitai",
    "qinbei-dadong",
]


@pytest.mark.parametrize("hospital", QINBEI_INSTITUTIONS)
def test_every_qualified_qinbei_institution_is_in_scope(hospital: str) -> None:
    """Seed 附件5 names the 14 institutions: "钦北区妇幼保健院 … 钦北区大垌镇卫生院"."""
    raw = qinbei()
    raw["newborns"][0]["hospital"] = hospital
    assert check(raw).outcome is ACCEPT


@pytest.mark.parametrize(
    ("hospital", "name"),
    [
        ("qinnan-demo", "钦南区示范医院"),  # the neighbouring district
        ("lanzhou-mch", "兰州市妇幼保健院"),
        ("shenyang-demo", "沈阳市示范妇产医院"),
    ],
)
def test_known_hospital_outside_qinbei_is_born_outside_region(hospital: str, name: str) -> None:
    """Seed: "在钦北区具备接产资质的医疗机构内出生"."""
    raw = qinbei()
    raw["newborns"][0]["hospital"] = hospital
    decision = check(raw)
    assert decision.outcome is REJECT
    reason = only(decision, "born_outside_region")
    assert reason.detail == "newborns[0].hospital"
    assert name in reason.message and "钦北区" in reason.message
    assert codes(decision) == ["born_outside_region"]


def test_second_twin_born_elsewhere_is_reported_with_its_index() -> None:
    """Seed: "在钦北区具备接产资质的医疗机构内出生" — for every newborn."""
    raw = qinbei()
    raw["newborns"].append(dict(raw["newborns"][0], name="覃二", hospital="qinnan-demo"))
    assert pairs(check(raw)) == {("born_outside_region", "newborns[1].hospital")}


def test_birth_outside_the_institution_is_rejected() -> None:
    """Seed: "机构内出生是指本机构住院分娩的新生儿"."""
    raw = qinbei()
    raw["newborns"][0]["in_hospital"] = False
    decision = check(raw)
    assert decision.outcome is REJECT
    reason = only(decision, "not_in_hospital_birth")
    assert reason.detail == "newborns[0].in_hospital"
    assert "住院分娩" in reason.message


# --- (三) 父母双方为中国公民(暂不包括港澳台同胞、侨胞)且一方为广西户籍 ---------------------------


@pytest.mark.parametrize(
    ("residency", "words"),
    [
        ("hong_kong", "香港居民"),
        ("macao", "澳门居民"),
        ("taiwan", "台湾居民"),
        ("overseas_chinese", "华侨"),
        ("foreign", "外国人"),
    ],
)
@pytest.mark.parametrize("side", ["father", "mother"])
def test_parent_not_a_mainland_citizen_is_foreign_parent(
    residency: str, words: str, side: str
) -> None:
    """Seed: "父母双方为中国公民(暂不包括港澳台同胞、侨胞)"."""
    raw = qinbei()
    raw[side]["residency"] = residency
    raw[side]["id_number"] = None  # a permit or passport, not a resident ID
    raw["birth_registration"]["follows"] = "mother" if side == "father" else "father"
    decision = check(raw)
    assert decision.outcome is REJECT
    reason = only(decision, "foreign_parent")
    assert reason.detail == side
    assert words in reason.message
    assert codes(decision) == ["foreign_parent"]


def test_both_parents_foreign_gives_two_reasons() -> None:
    """Seed: "父母双方为中国公民"; decisions.md: every reason that applies."""
    raw = qinbei()
    for side in ("mother", "father"):
        raw[side]["residency"] = "foreign"
    decision = check(raw)
    assert {d for c, d in pairs(decision) if c == "foreign_parent"} == {"mother", "father"}


def test_registering_parent_with_hukou_outside_qinbei_is_no_local_hukou() -> None:
    """Seed: "且一方为广西户籍,在钦北区申报出生登记"; registering parent's hukou in 450703."""
    raw = qinbei()
    raw["father"]["hukou_division"] = "450702"  # 钦南区: Guangxi, but not Qinbei
    decision = check(raw)
    assert decision.outcome is REJECT
    reason = only(decision, "no_local_hukou")
    assert reason.detail == "father"
    assert "钦北区" in reason.message


def test_registering_with_the_qinbei_parent_is_fine_when_the_other_is_from_elsewhere() -> None:
    """Seed: "一方为广西户籍" — one parent is enough."""
    raw = qinbei()
    raw["father"]["hukou_division"] = "440103"  # Guangzhou
    raw["birth_registration"]["follows"] = "mother"  # mother: 450703
    assert check(raw).outcome is ACCEPT


def test_registering_parent_outside_guangxi_is_no_local_hukou() -> None:
    """Seed: "且一方为广西户籍,在钦北区申报出生登记"."""
    raw = qinbei()
    raw["mother"]["hukou_division"] = "440103"
    raw["father"]["hukou_division"] = "440103"
    assert pairs(check(raw)) == {("no_local_hukou", "father")}


def test_without_birth_registration_one_parent_must_still_be_local() -> None:
    """Seed: "广西户籍(或一方为广西户籍)人员婚内生育1个月内的新生儿"."""
    raw = qinbei()
    raw["items"] = [BMC]
    raw["mother"]["hukou_division"] = "440103"
    raw["father"]["hukou_division"] = "440104"
    decision = check(raw)
    assert decision.outcome is REJECT
    assert pairs(decision) == {("no_local_hukou", "parents")}


def test_registering_parent_without_hukou_division_is_field_invalid() -> None:
    """Seed 附件1: "户籍地址" is asked of both parents."""
    raw = qinbei()
    raw["father"]["hukou_division"] = None
    assert pairs(check(raw)) == {("field_invalid", "father.hukou_division")}


# --- 婚内生育 ---------------------------------------------------------------------------------


@pytest.mark.parametrize("status", ["unmarried", "divorced", "single"])
def test_birth_outside_marriage_is_non_marital_birth(status: str) -> None:
    """Seed: "在钦北区申报出生登记,婚内生育的新生儿"."""
    raw = qinbei()
    raw["marital_status"] = status
    raw["materials"].remove("marriage_certificate")
    decision = check(raw)
    assert decision.outcome is REJECT
    assert pairs(decision) == {("non_marital_birth", "marital_status")}
    assert "婚内生育" in decision.reasons[0].message


def test_missing_marital_status_is_field_invalid() -> None:
    """Seed: "婚内生育的新生儿" cannot be judged without the status."""
    raw = qinbei()
    raw["marital_status"] = None
    assert pairs(check(raw)) == {("field_invalid", "marital_status")}


def test_mother_unknown_is_rejected() -> None:
    """decisions.md mother_unknown; Qinbei's applicant is the mother: "由新生儿母亲申请办理"."""
    raw = qinbei()
    raw["mother"] = {"known": False}
    decision = check(raw)
    assert decision.outcome is REJECT
    assert only(decision, "mother_unknown").detail == "mother"


# --- (一) 由新生儿母亲申请办理 ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "words"),
    [("father", "新生儿父亲"), ("grandparent", "祖父母或外祖父母"), ("trustee", "受托人")],
)
def test_only_the_mother_may_apply(role: str, words: str) -> None:
    """Seed: "由新生儿母亲申请办理"."""
    raw = qinbei()
    raw["applicant"]["role"] = role
    raw["applicant"]["id_number"] = None
    decision = check(raw)
    assert decision.outcome is REJECT
    reason = only(decision, "wrong_applicant")
    assert reason.detail == role
    assert "新生儿母亲" in reason.message and words in reason.message
    assert codes(decision) == ["wrong_applicant"]


def test_counter_at_the_hospital_is_a_qinbei_channel() -> None:
    """Seed: "在助产机构的“一窗受理”综合窗口提出申请"."""
    raw = qinbei()
    raw["channel"] = "counter"
    assert check(raw).outcome is ACCEPT


# --- (五) 未在其他渠道或省市申领社会保障卡的新生儿 -------------------------------------------


def test_card_applied_for_elsewhere_is_rejected() -> None:
    """Seed: "未在其他渠道或省市申领社会保障卡的新生儿"."""
    raw = qinbei()
    raw["social_security_card"]["applied_elsewhere"] = True
    decision = check(raw)
    assert decision.outcome is REJECT
    assert pairs(decision) == {("ssc_already_applied", "social_security_card.applied_elsewhere")}
    assert "社会保障卡" in decision.reasons[0].message


def test_card_applied_elsewhere_rejects_even_without_choosing_the_card() -> None:
    """The condition is on the newborn (受理条件), not on the chosen items."""
    raw = qinbei()
    raw["items"].remove(SSC)
    raw["social_security_card"]["applied_elsewhere"] = True
    assert codes(check(raw)) == ["ssc_already_applied"]


# --- 四、申请材料 --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("material", "cite"),
    [
        ("mother_id_card", "新生儿父母双方有效居民身份证"),
        ("father_id_card", "新生儿父母双方有效居民身份证"),
        ("household_register", "新生儿父母双方的居民户口簿"),
        ("marriage_certificate", "新生儿父母双方结婚证首页、主页"),
        ("delivery_record_page", "《广西母子健康手册》“产时记录”页"),
    ],
)
def test_each_required_material(material: str, cite: str) -> None:
    """Seed 四、申请材料 (cited per case)."""
    raw = qinbei()
    raw["materials"].remove(material)
    decision = check(raw)
    assert decision.outcome is SUPPLEMENT, cite
    assert pairs(decision) == {("missing_material", material)}


def test_birth_registration_without_the_bmc_item_needs_the_issued_bmc() -> None:
    """Seed: "前置事项办理结果同步生成电子证照，作为下一事项办理的证明材料"."""
    raw = qinbei()
    raw["items"] = [REG, MIE, SSC]
    decision = check(raw)
    assert pairs(decision) == {("missing_material", "birth_certificate")}
    raw["materials"].append("birth_certificate")
    assert check(raw).outcome is ACCEPT


def test_missing_materials_example_lists_everything_at_once() -> None:
    """Seed: "对符合受理条件但材料不齐全的，一次性告知申请人补正材料"."""
    raw = qinbei()
    raw["materials"] = ["mother_id_card", "father_id_card"]
    raw["ethnicity_confirmation"]["signed_by_mother"] = False  # the applicant's own signature
    decision = check(raw)
    assert decision.outcome is SUPPLEMENT
    assert pairs(decision) == {
        ("ethnicity_confirmation_missing", "ethnicity_confirmation"),
        ("missing_material", "household_register"),
        ("missing_material", "marriage_certificate"),
        ("missing_material", "delivery_record_page"),
    }


# --- 七、结果送达 -----------------------------------------------------------------------------


def _father_picks_up_bmc(raw: Case) -> Case:
    raw["delivery"]["birth_certificate"] = {"method": "pickup", "by": "father"}
    return raw


def test_father_picking_up_the_bmc_needs_the_mother_s_authorization() -> None:
    """Seed: "如新生儿母亲无法到现场领取,可在申请表中授权委托父亲现场领取"."""
    decision = check(_father_picks_up_bmc(qinbei()))
    assert decision.outcome is SUPPLEMENT
    reason = only(decision, "authorization_missing")
    assert reason.detail == "delivery.birth_certificate.by"
    assert "授权委托书" in reason.message


def test_father_picking_up_the_bmc_with_authorization_is_accepted() -> None:
    """Seed: "可在申请表中授权委托父亲现场领取"."""
    raw = _father_picks_up_bmc(qinbei())
    raw["authorization"] = {
        "trustee": {"name": "覃军", "id_number": raw["father"]["id_number"], "relation": "father"},
        "items": [BMC],
        "valid_from": "2026-11-10",
        "valid_to": "2026-12-31",
        "signed_by_mother": True,
    }
    assert check(raw).outcome is ACCEPT


def test_social_security_card_is_picked_up_not_mailed() -> None:
    """Seed: "社会保障卡可携带代领人本人的身份证原件和新生儿户口簿到指定领卡地点领取"."""
    raw = qinbei()
    raw["delivery"]["social_security_card"] = {"method": "mail"}
    decision = check(raw)
    assert pairs(decision) == {("field_invalid", "delivery.social_security_card.method")}


def test_household_register_may_be_mailed() -> None:
    """Seed 附件1: 户口簿 "邮寄送达(自费)"."""
    raw = qinbei()
    assert raw["delivery"]["household_register"] == {"method": "mail"}
    assert check(raw).outcome is ACCEPT


def test_unnamed_newborn_is_a_field_to_fill_in_qinbei() -> None:
    """The form (附件1) asks "新生儿姓名"; Qinbei does not exclude unnamed newborns."""
    raw = qinbei()
    raw["newborns"][0]["name"] = ""
    decision = check(raw)
    assert decision.outcome is SUPPLEMENT
    assert pairs(decision) == {("field_invalid", "newborns[0].name")}
    assert "newborn_unnamed" not in code_set(decision)
