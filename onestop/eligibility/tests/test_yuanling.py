"""Yuanling (沅陵县, seed 001): 三、范围条件 and the authorization letter (附件3).

The accepted example: submitted 2026-11-16 10:20 at the hospital counter, born 2026-11-12
at 沅陵县人民医院; the maternal grandmother applies as trustee with the mother's letter valid
2026-11-13 to 2026-12-31 for all four items; registered with the father (hukou 431222).
"""

from __future__ import annotations

import pytest

from .support import (
    ACCEPT,
    BMC,
    REG,
    REJECT,
    SUPPLEMENT,
    YUANLING_FATHER,
    YUANLING_MOTHER,
    Case,
    accepted,
    at,
    check,
    code_set,
    codes,
    example,
    only,
    pairs,
)

# The seed's exclusion sentence, cited by most tests below.
NOT_SERVED = (
    "新生儿未取名、父母离异或单亲、非婚（或婚外）生育、母亲身份不明、"
    "父母一方为外国人或港澳台居民、身份证无效等情况，暂不纳入"
)


def yuanling() -> Case:
    return accepted("yuanling")


def as_mother(raw: Case) -> Case:
    """The mother applies herself: no authorization, no trustee materials."""
    raw["applicant"] = {"role": "mother", "name": "向晴", "id_number": YUANLING_MOTHER}
    raw["authorization"] = None
    raw["materials"] = [
        m for m in raw["materials"] if m not in ("authorization_letter", "trustee_id_card")
    ]
    return raw


def test_accepted_example_with_a_trustee() -> None:
    """Seed: "委托申报的须提供《授权委托书 》和受委托人身份证原件"."""
    assert check(yuanling()).outcome is ACCEPT


def test_mother_applying_herself_needs_no_authorization() -> None:
    """Seed: "新生儿父母（委托申报的须提供《授权委托书 》…）"."""
    assert check(as_mother(yuanling())).outcome is ACCEPT


# --- exclusions (暂不纳入) --------------------------------------------------------------------


@pytest.mark.parametrize("name", ["", "   ", None])
def test_unnamed_newborn_is_rejected(name: str | None) -> None:
    """Seed: "新生儿未取名…暂不纳入"."""
    raw = yuanling()
    raw["newborns"][0]["name"] = name
    decision = check(raw)
    assert decision.outcome is REJECT, NOT_SERVED
    reason = only(decision, "newborn_unnamed")
    assert reason.detail == "newborns[0].name"
    assert "取名" in reason.message
    assert codes(decision) == ["newborn_unnamed"]


def test_name_key_absent_is_unnamed_too() -> None:
    """Seed: "新生儿未取名"."""
    raw = yuanling()
    del raw["newborns"][0]["name"]
    assert codes(check(raw)) == ["newborn_unnamed"]


@pytest.mark.parametrize("status", ["divorced", "single"])
def test_divorced_or_single_parent_is_rejected(status: str) -> None:
    """Seed: "父母离异或单亲…暂不纳入"."""
    raw = yuanling()
    raw["marital_status"] = status
    raw["materials"].remove("marriage_certificate")
    decision = check(raw)
    assert decision.outcome is REJECT
    assert pairs(decision) == {("single_or_divorced_parent", "marital_status")}
    assert "离异或单亲" in decision.reasons[0].message


def test_non_marital_birth_is_rejected() -> None:
    """Seed: "非婚（或婚外）生育…暂不纳入"."""
    raw = yuanling()
    raw["marital_status"] = "unmarried"
    raw["materials"].remove("marriage_certificate")
    assert pairs(check(raw)) == {("non_marital_birth", "marital_status")}


def test_mother_unknown_is_rejected() -> None:
    """Seed: "母亲身份不明…暂不纳入"."""
    raw = as_mother(yuanling())
    raw["applicant"] = {"role": "father", "name": "张伟", "id_number": YUANLING_FATHER}
    raw["mother"] = {"known": False, "name": None}
    decision = check(raw)
    assert decision.outcome is REJECT
    assert pairs(decision) == {("mother_unknown", "mother")}
    assert "母亲身份不明" in decision.reasons[0].message


@pytest.mark.parametrize(
    ("residency", "words"),
    [
        ("foreign", "外国人"),
        ("hong_kong", "香港居民"),
        ("macao", "澳门居民"),
        ("taiwan", "台湾居民"),
    ],
)
def test_foreign_or_hk_macao_taiwan_parent_is_rejected(residency: str, words: str) -> None:
    """Seed: "父母一方为外国人或港澳台居民…暂不纳入"."""
    raw = yuanling()
    raw["mother"]["residency"] = residency
    raw["mother"]["id_number"] = None
    decision = check(raw)
    assert decision.outcome is REJECT
    reason = only(decision, "foreign_parent")
    assert reason.detail == "mother"
    assert words in reason.message


def test_overseas_chinese_parent_is_not_excluded_in_yuanling() -> None:
    """Seed names only "外国人或港澳台居民"; 华侨 are Chinese citizens (Qinbei alone adds 侨胞)."""
    raw = yuanling()
    raw["mother"]["residency"] = "overseas_chinese"
    raw["mother"]["id_number"] = None
    assert check(raw).outcome is ACCEPT


@pytest.mark.parametrize("side", ["mother", "father"])
def test_invalid_id_card_is_rejected(side: str) -> None:
    """Seed: "身份证无效等情况，暂不纳入"."""
    raw = yuanling()
    number = raw[side]["id_number"]
    raw[side]["id_number"] = number[:-1] + ("1" if number[-1] != "1" else "2")
    decision = check(raw)
    assert decision.outcome is REJECT
    assert pairs(decision) == {("invalid_id_number", side)}


def test_unnamed_and_divorced_example_reports_both() -> None:
    """decisions.md: "lists every reason that applies (not only the first)"."""
    decision = check(example("yuanling-reject-unnamed-divorced"))
    assert decision.outcome is REJECT
    assert pairs(decision) == {
        ("single_or_divorced_parent", "marital_status"),
        ("newborn_unnamed", "newborns[0].name"),
    }


# --- 在全县各级设有产科的医院出生；符合县内落户政策并要求在本县落户 -------------------------------


@pytest.mark.parametrize("hospital", ["yuanling-people", "yuanling-mch"])
def test_county_hospitals_are_in_scope(hospital: str) -> None:
    """Seed: "在全县各级设有产科的医院（以下简称“助产机构” ) 出生的婚生新生儿"."""
    raw = yuanling()
    raw["newborns"][0]["hospital"] = hospital
    assert check(raw).outcome is ACCEPT


def test_hospital_outside_the_county_is_born_outside_region() -> None:
    """Seed: "在全县各级设有产科的医院…出生"; 怀化市示范医院 is outside the county."""
    raw = yuanling()
    raw["newborns"][0]["hospital"] = "huaihua-demo"
    decision = check(raw)
    assert decision.outcome is REJECT
    reason = only(decision, "born_outside_region")
    assert "怀化市示范医院" in reason.message and "沅陵县" in reason.message


def test_registering_parent_outside_the_county_is_no_local_hukou() -> None:
    """Seed: "符合县内落户政策并要求在本县落户"."""
    raw = yuanling()
    raw["father"]["hukou_division"] = "431202"
    decision = check(raw)
    assert decision.outcome is REJECT
    assert pairs(decision) == {("no_local_hukou", "father")}


def test_yuanling_has_no_age_window() -> None:
    """regions.md: "(none stated beyond the bundle)"."""
    raw = yuanling()
    raw["submitted_at"] = "2027-06-01T10:00:00+08:00"
    raw["authorization"]["valid_to"] = "2027-12-31"
    assert check(raw).outcome is ACCEPT


# --- the trustee and the authorization letter (附件3 授权委托书) --------------------------------


def test_trustee_without_authorization_is_supplement() -> None:
    """Seed: "委托申报的须提供《授权委托书 》和受委托人身份证原件"."""
    raw = yuanling()
    raw["authorization"] = None
    decision = check(raw)
    assert decision.outcome is SUPPLEMENT
    reason = only(decision, "authorization_missing")
    assert reason.detail == "authorization"
    assert "授权委托书" in reason.message
    # One notice for the letter, not also the letter as a missing material.
    assert codes(decision) == ["authorization_missing"]


def test_authorization_not_covering_every_chosen_item() -> None:
    """Seed: "现授权委托…办理新生儿“一件事”有关事项（在相应事项的内打√）"."""
    raw = yuanling()
    raw["authorization"]["items"] = [BMC, REG]
    decision = check(raw)
    assert decision.outcome is SUPPLEMENT
    message = only(decision, "authorization_missing").message
    assert "城乡居民基本医疗保险参保登记" in message and "城乡居民医保缴费" in message
    assert "出生登记" not in message


def test_authorization_covering_only_what_is_chosen_is_enough() -> None:
    """Seed: "办理新生儿“一件事”有关事项（在相应事项的内打√）"."""
    raw = yuanling()
    raw["items"] = [BMC, REG]
    raw["authorization"]["items"] = [BMC, REG]
    assert check(raw).outcome is ACCEPT


@pytest.mark.parametrize(
    ("when", "outcome", "words"),
    [
        ("2026-11-12T23:00:00+08:00", SUPPLEMENT, "起才生效"),
        ("2026-11-13T08:00:00+08:00", ACCEPT, ""),  # first day of the period
        ("2026-12-31T20:00:00+08:00", ACCEPT, ""),  # last day of the period
        ("2027-01-01T08:00:00+08:00", SUPPLEMENT, "到期"),
    ],
)
def test_authorization_period(when: str, outcome: object, words: str) -> None:
    """Seed: "委托期限从   年  月  日起至   年   月  日止" — both days included."""
    decision = check(yuanling(), at=at(when))
    assert decision.outcome is outcome
    if outcome is SUPPLEMENT:
        assert words in only(decision, "authorization_missing").message


def test_authorization_without_period_is_not_valid() -> None:
    """Seed: "委托期限从   年  月  日起至   年   月  日止"."""
    raw = yuanling()
    raw["authorization"]["valid_from"] = None
    assert "期限" in only(check(raw), "authorization_missing").message


def test_authorization_not_signed_by_the_mother() -> None:
    """Seed: "委托人签名" — the mother (委托人) signs."""
    raw = yuanling()
    raw["authorization"]["signed_by_mother"] = False
    assert "签字" in only(check(raw), "authorization_missing").message


def test_authorization_naming_someone_else() -> None:
    """Seed: "现授权委托        （姓名）" — the named person is the one who applies."""
    raw = yuanling()
    raw["authorization"]["trustee"]["id_number"] = YUANLING_FATHER
    assert "不一致" in only(check(raw), "authorization_missing").message


def test_authorization_without_the_trustee_s_relation() -> None:
    """Seed: "受托人与婴儿关系（限父亲、祖父母、外祖父母）" must be filled in on the letter."""
    raw = yuanling()
    raw["authorization"]["trustee"]["relation"] = None
    decision = check(raw)
    assert decision.outcome is SUPPLEMENT
    assert "关系" in only(decision, "authorization_missing").message


@pytest.mark.parametrize("relation", ["father", "paternal_grandparent", "maternal_grandparent"])
def test_admitted_trustee_relations(relation: str) -> None:
    """Seed: "受托人与婴儿关系（限父亲、祖父母、外祖父母）"."""
    raw = yuanling()
    raw["authorization"]["trustee"]["relation"] = relation
    assert check(raw).outcome is ACCEPT


@pytest.mark.parametrize("relation", ["uncle", "neighbour", "aunt"])
def test_other_trustees_are_wrong_applicants(relation: str) -> None:
    """Seed: "受托人与婴儿关系（限父亲、祖父母、外祖父母）"."""
    raw = yuanling()
    raw["authorization"]["trustee"]["relation"] = relation
    decision = check(raw)
    assert decision.outcome is REJECT
    reason = only(decision, "wrong_applicant")
    assert reason.detail == f"trustee:{relation}"
    assert "受托人" in reason.message


def test_grandparent_role_with_authorization_is_accepted() -> None:
    """Seed: "受托人与婴儿关系（限父亲、祖父母、外祖父母）"."""
    raw = yuanling()
    raw["applicant"]["role"] = "grandparent"
    assert check(raw).outcome is ACCEPT


@pytest.mark.parametrize("material", ["authorization_letter", "trustee_id_card"])
def test_trustee_materials(material: str) -> None:
    """Seed: "委托申报的须提供《授权委托书 》和受委托人身份证原件"."""
    raw = yuanling()
    raw["materials"].remove(material)
    assert pairs(check(raw)) == {("missing_material", material)}


# --- materials (四、申请材料) -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("material", "cite"),
    [
        ("mother_id_card", "父母双方身份证原件"),
        ("father_id_card", "父母双方身份证原件"),
        ("household_register", "《居民户口薄 》原件"),
        ("marriage_certificate", "《结婚证 》原件"),
    ],
)
def test_each_required_material(material: str, cite: str) -> None:
    """Seed 四、申请材料 (cited per case)."""
    raw = yuanling()
    raw["materials"].remove(material)
    decision = check(raw)
    assert decision.outcome is SUPPLEMENT, cite
    assert pairs(decision) == {("missing_material", material)}


def test_marriage_certificate_only_for_birth_registration() -> None:
    """Seed: 户口登记申请材料 "（3）《结婚证 》原件"; not among the BMC materials."""
    raw = yuanling()
    raw["items"] = [BMC]
    raw["authorization"]["items"] = [BMC]
    raw["materials"].remove("marriage_certificate")
    assert check(raw).outcome is ACCEPT


def test_registration_without_the_bmc_item_needs_the_bmc() -> None:
    """Seed: 户口登记申请材料 "（2）《出生医学证明 》原件"."""
    raw = yuanling()
    raw["items"] = [REG]
    raw["authorization"]["items"] = [REG]
    assert pairs(check(raw)) == {("missing_material", "birth_certificate")}


def test_hospital_birth_record_comes_from_the_hospital() -> None:
    """regions.md: the hospital birth record is "pulled automatically" (Yuanling, Fuzhou)."""
    raw = yuanling()
    raw["materials"].remove("hospital_birth_record")
    assert check(raw).outcome is ACCEPT


def test_differing_ethnic_groups_need_the_confirmation() -> None:
    """Seed: "新生儿父母民族成份不相同的还应提供《确认民族成份申请书》"."""
    raw = yuanling()
    raw["father"]["ethnicity"] = "01"  # mother 09 (苗族)
    decision = check(raw)
    assert pairs(decision) == {("ethnicity_confirmation_missing", "ethnicity_confirmation")}
    raw["materials"].append("ethnicity_confirmation_form")
    assert check(raw).outcome is ACCEPT


def test_counter_only() -> None:
    """Seed: "在分娩所在助产机构“一件事一次办”综合窗口进行申报登记"."""
    raw = yuanling()
    raw["channel"] = "online"
    assert pairs(check(raw)) == {("field_invalid", "channel")}


def test_mother_applicant_is_not_asked_for_trustee_papers() -> None:
    """Seed: "委托申报的须提供《授权委托书 》" — only when a trustee applies."""
    decision = check(as_mother(yuanling()))
    assert "missing_material" not in code_set(decision)


def test_wrong_applicant_message_names_the_relation_in_chinese() -> None:
    """A grandparent's letter naming the father as trustee: the message must not show codes."""
    raw = yuanling()
    raw["applicant"]["role"] = "grandparent"
    raw["authorization"]["trustee"]["relation"] = "father"
    reason = only(check(raw), "wrong_applicant")
    assert "新生儿父亲" in reason.message
    assert "father" not in reason.message
