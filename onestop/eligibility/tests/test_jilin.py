"""Jilin province (吉林省, seed 004): the counter bundle after the BMC.

The accepted example: the father applies at the service-center counter on 2026-11-17, the BMC
(W220112345) is issued, born 2026-11-01 at 长春市妇产医院, family hukou 220102 with the father.
"""

from __future__ import annotations

from datetime import date

import pytest

from onestop.reference.idnumber import make_resident_id

from .support import (
    ACCEPT,
    BMC,
    JILIN_MOTHER,
    REG,
    REJECT,
    SUPPLEMENT,
    Case,
    accepted,
    check,
    codes,
    only,
    pairs,
)

SPECIAL_CASES = (
    "无《出生医学证明》或信息有误、选择不在我省落户、选择在家庭户口或社区集体户口以外的户口"
    "为新生儿落户、证照丢失补办等特殊情况，无法进行线下联办"
)


# A valid number for the paternal grandfather (GB 11643 check digit correct).
GRANDPA = make_resident_id("220102", date(1962, 1, 1), 6, "1")


def jilin() -> Case:
    return accepted("jilin")


def by_grandparent(raw: Case, *, relation: str = "paternal_grandparent") -> Case:
    """A grandparent applies with the mother's signed authorization for every chosen item."""
    raw["applicant"] = {"role": "grandparent", "name": "王建国", "id_number": GRANDPA}
    raw["authorization"] = {
        "trustee": {"name": "王建国", "id_number": GRANDPA, "relation": relation},
        "items": list(raw["items"]),
        "valid_from": "2026-11-01",
        "valid_to": "2026-12-31",
        "signed_by_mother": True,
    }
    raw["materials"] += ["trustee_id_card", "authorization_letter"]
    return raw


def test_accepted_example() -> None:
    assert check(jilin()).outcome is ACCEPT


# --- 已在助产机构为新生儿办理《出生医学证明》 -----------------------------------------------------


def test_no_bmc_is_rejected() -> None:
    """Seed: "已在助产机构为新生儿办理《出生医学证明》"; "无《出生医学证明》…无法进行线下联办"."""
    raw = jilin()
    raw["birth_registration"]["bmc_number"] = None
    raw["materials"].remove("birth_certificate")
    decision = check(raw)
    assert decision.outcome is REJECT, SPECIAL_CASES
    reason = only(decision, "bmc_missing")
    assert reason.detail == "birth_registration.bmc_number"
    assert "出生医学证明" in reason.message
    # The missing BMC is a reject reason, not also a material to bring.
    assert codes(decision) == ["bmc_missing"]


def test_bmc_number_alone_is_enough() -> None:
    """Seed: "已在助产机构为新生儿办理《出生医学证明》" — the number shows it."""
    raw = jilin()
    raw["materials"].remove("birth_certificate")
    assert check(raw).outcome is ACCEPT


def test_bmc_upload_alone_is_enough() -> None:
    """Seed 所需材料: "《出生医学证明》"."""
    raw = jilin()
    raw["birth_registration"]["bmc_number"] = None
    assert check(raw).outcome is ACCEPT


def test_bmc_item_is_not_offered_in_jilin() -> None:
    """regions.md: "(BMC done beforehand)"; choosing it gives a note, not a plan entry."""
    raw = jilin()
    raw["items"].insert(0, BMC)
    decision = check(raw)
    assert decision.outcome is ACCEPT
    assert BMC not in [p.item for p in decision.plan]
    assert any("出生医学证明" in note for note in decision.notes)


# --- 选择在家庭户口或社区集体户口以外的户口为新生儿落户 -------------------------------------------


@pytest.mark.parametrize("hukou_type", ["family", "community_collective"])
def test_family_or_community_collective_hukou(hukou_type: str) -> None:
    """Seed: "选择在家庭户口或社区集体户口以外的户口为新生儿落户…无法进行线下联办"."""
    raw = jilin()
    raw["birth_registration"]["hukou_type"] = hukou_type
    assert check(raw).outcome is ACCEPT


@pytest.mark.parametrize(
    ("hukou_type", "words"),
    [("unit_collective", "单位集体户"), ("student_collective", "学生集体户")],
)
def test_other_collective_hukou_is_rejected(hukou_type: str, words: str) -> None:
    """Seed: "选择在家庭户口或社区集体户口以外的户口为新生儿落户…无法进行线下联办"."""
    raw = jilin()
    raw["birth_registration"]["hukou_type"] = hukou_type
    decision = check(raw)
    assert decision.outcome is REJECT
    reason = only(decision, "collective_hukou_not_supported")
    assert reason.detail == "birth_registration.hukou_type"
    assert words in reason.message


def test_no_bmc_and_unit_collective_example_reports_both() -> None:
    """decisions.md: every reason that applies."""
    raw = jilin()
    raw["birth_registration"]["bmc_number"] = None
    raw["birth_registration"]["hukou_type"] = "unit_collective"
    raw["materials"].remove("birth_certificate")
    assert pairs(check(raw)) == {
        ("bmc_missing", "birth_registration.bmc_number"),
        ("collective_hukou_not_supported", "birth_registration.hukou_type"),
    }


# --- 选择不在我省落户 -----------------------------------------------------------------------------


@pytest.mark.parametrize("division", ["220102", "220202", "222401"])
def test_any_jilin_hukou_is_local(division: str) -> None:
    """regions.md: "whole province"; reference-data: Jilin province (22xxxx)."""
    raw = jilin()
    raw["father"]["hukou_division"] = division
    assert check(raw).outcome is ACCEPT


def test_registering_outside_jilin_is_no_local_hukou() -> None:
    """Seed: "选择不在我省落户…无法进行线下联办"."""
    raw = jilin()
    raw["father"]["hukou_division"] = "210102"
    decision = check(raw)
    assert decision.outcome is REJECT
    reason = only(decision, "no_local_hukou")
    assert reason.detail == "father"
    assert "吉林省" in reason.message


def test_hospital_outside_jilin_is_fine_because_the_bmc_is_already_issued() -> None:
    """reference-data.md: jilin "any (the BMC is already issued)" — no hospital scope."""
    raw = jilin()
    raw["newborns"][0]["hospital"] = "shenyang-demo"
    assert check(raw).outcome is ACCEPT


def test_unknown_hospital_is_still_a_field_to_fix() -> None:
    """reference-data.md: "An unknown hospital code in a case document is `field_invalid`"."""
    raw = jilin()
    raw["newborns"][0]["hospital"] = "no-such-hospital"
    assert pairs(check(raw)) == {("field_invalid", "newborns[0].hospital")}


def test_jilin_has_no_age_window() -> None:
    """regions.md age window for jilin: "(none stated)"."""
    raw = jilin()
    raw["newborns"][0]["born_at"] = "2025-03-01T09:00:00+08:00"
    assert check(raw).outcome is ACCEPT


# --- 新生儿父亲或母亲一方可申请办理；可委托新生儿祖父母或外祖父母，经签字授权后办理 ---------------


def test_mother_may_apply() -> None:
    """Seed: "新生儿父亲或母亲一方可申请办理"."""
    raw = jilin()
    raw["applicant"] = {"role": "mother", "name": "赵娜", "id_number": JILIN_MOTHER}
    assert check(raw).outcome is ACCEPT


@pytest.mark.parametrize("relation", ["paternal_grandparent", "maternal_grandparent"])
@pytest.mark.parametrize("role", ["grandparent", "trustee"])
def test_grandparents_with_signed_authorization(relation: str, role: str) -> None:
    """Seed: "可委托新生儿祖父母或外祖父母，经签字授权后办理"."""
    raw = by_grandparent(jilin(), relation=relation)
    raw["applicant"]["role"] = role
    assert check(raw).outcome is ACCEPT


def test_grandparent_without_authorization_is_supplement() -> None:
    """Seed: "经签字授权后办理"."""
    raw = by_grandparent(jilin())
    raw["authorization"] = None
    decision = check(raw)
    assert decision.outcome is SUPPLEMENT
    assert pairs(decision) == {("authorization_missing", "authorization")}


def test_grandparent_with_unsigned_authorization_is_supplement() -> None:
    """Seed: "经签字授权后办理"."""
    raw = by_grandparent(jilin())
    raw["authorization"]["signed_by_mother"] = False
    assert codes(check(raw)) == ["authorization_missing"]


def test_grandparent_with_authorization_for_fewer_items_is_supplement() -> None:
    """Seed: "经签字授权后办理" — for the items applied for."""
    raw = by_grandparent(jilin())
    raw["authorization"]["items"] = [REG]
    message = only(check(raw), "authorization_missing").message
    assert "社会保障卡申领" in message


def test_other_trustee_is_a_wrong_applicant() -> None:
    """Seed: "可委托新生儿祖父母或外祖父母" — no one else."""
    raw = by_grandparent(jilin(), relation="uncle")
    raw["applicant"]["role"] = "trustee"
    decision = check(raw)
    assert decision.outcome is REJECT
    reason = only(decision, "wrong_applicant")
    assert reason.detail == "trustee:uncle"
    assert "祖父母" in reason.message


@pytest.mark.parametrize(
    ("follows", "material"), [("father", "father_id_card"), ("mother", "mother_id_card")]
)
def test_grandparent_brings_the_registering_parent_s_id(follows: str, material: str) -> None:
    """Seed: "如由祖父母或外祖父母代办，需提供新生儿跟随落户方（父亲或母亲）的有效身份证件"."""
    raw = by_grandparent(jilin())
    raw["birth_registration"]["follows"] = follows
    raw["materials"] = [
        m for m in raw["materials"] if m not in ("father_id_card", "mother_id_card")
    ]
    decision = check(raw)
    assert decision.outcome is SUPPLEMENT
    assert pairs(decision) == {("missing_material", material)}


@pytest.mark.parametrize("material", ["trustee_id_card", "authorization_letter"])
def test_grandparent_brings_own_id_and_the_letter(material: str) -> None:
    """Seed: "办理人有效身份证件"; "可提供单独授权委托书替代"."""
    raw = by_grandparent(jilin())
    raw["materials"].remove(material)
    assert pairs(check(raw)) == {("missing_material", material)}


def test_applicant_s_id_and_household_register() -> None:
    """Seed: "《出生医学证明》、落户方的户口簿、办理人有效身份证件"."""
    raw = jilin()  # the father applies
    raw["materials"] = ["birth_certificate"]
    assert pairs(check(raw)) == {
        ("missing_material", "household_register"),
        ("missing_material", "father_id_card"),
    }


def test_marriage_certificate_is_not_asked_for() -> None:
    """Seed 所需材料 lists no marriage certificate."""
    raw = jilin()
    raw["materials"].remove("marriage_certificate")
    assert check(raw).outcome is ACCEPT


def test_counter_only() -> None:
    """Seed: "前往县（市、区）政务服务中心一站式办理"."""
    raw = jilin()
    raw["channel"] = "online"
    assert pairs(check(raw)) == {("field_invalid", "channel")}


def test_unnamed_newborn_is_a_field_to_fill() -> None:
    """application.md: "`name` may be empty only where the pack allows it"; hukou needs a name."""
    raw = jilin()
    raw["newborns"][0]["name"] = ""
    decision = check(raw)
    assert decision.outcome is SUPPLEMENT
    assert pairs(decision) == {("field_invalid", "newborns[0].name")}


def test_household_register_is_printed_on_the_spot_not_mailed() -> None:
    """Seed: "户口簿可在政务服务中心当场打印领取"."""
    raw = jilin()
    raw["delivery"]["household_register"] = {"method": "mail"}
    assert pairs(check(raw)) == {("field_invalid", "delivery.household_register.method")}


def test_card_by_mail_or_pickup() -> None:
    """Seed: "社保卡可选择邮寄或自取"."""
    raw = jilin()
    raw["delivery"]["social_security_card"] = {"method": "pickup"}
    assert check(raw).outcome is ACCEPT
