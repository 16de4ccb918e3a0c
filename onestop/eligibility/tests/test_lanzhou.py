"""Lanzhou (兰州市, seed 000): 三、受理条件.

The accepted example: submitted 2026-11-18 15:00, born 2026-11-05 22:10 at 兰州市妇幼保健院,
the father applies, the birth is registered with the mother (hukou 620102).
"""

from __future__ import annotations

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
    check,
    code_set,
    codes,
    only,
    pairs,
)


def lanzhou() -> Case:
    return accepted("lanzhou")


def test_accepted_example() -> None:
    assert check(lanzhou()).outcome is ACCEPT


# --- two windows: 1 month for birth registration, under 1 year for the bundle ---------------


@pytest.mark.parametrize(
    ("when", "outcome"),
    [
        ("2026-12-04T12:00:00+08:00", ACCEPT),
        ("2026-12-05T23:59:00+08:00", ACCEPT),  # one month to the day: "一个月以内" includes it
        ("2026-12-06T00:00:00+08:00", REJECT),
        ("2026-12-20T10:00:00+08:00", REJECT),
    ],
)
def test_birth_registration_within_one_month(when: str, outcome: object) -> None:
    """Seed: "婴儿出生后一个月以内,由婴儿的监护人或者户主向…公安派出所申报出生登记"."""
    raw = lanzhou()
    raw["submitted_at"] = when
    decision = check(raw)
    assert decision.outcome is outcome
    if outcome is REJECT:
        reason = only(decision, "outside_age_window")
        assert reason.detail == "newborns[0]"
        assert "一个月以内" in reason.message
        assert codes(decision) == ["outside_age_window"]


@pytest.mark.parametrize(
    ("when", "outcome"),
    [
        ("2026-12-20T10:00:00+08:00", ACCEPT),  # past one month: fine without registration
        ("2027-11-04T10:00:00+08:00", ACCEPT),
        ("2027-11-05T23:00:00+08:00", ACCEPT),  # the first birthday: "1岁以下" includes it
        ("2027-11-06T00:00:00+08:00", REJECT),
        ("2028-03-01T10:00:00+08:00", REJECT),
    ],
)
def test_bundle_for_children_under_one_year(when: str, outcome: object) -> None:
    """Seed: "1岁以下婚内本市生育新生儿申报出生登记"; the 1-month limit binds registration only."""
    raw = lanzhou()
    raw["items"].remove(REG)
    raw["submitted_at"] = when
    decision = check(raw)
    assert decision.outcome is outcome
    if outcome is REJECT:
        reason = only(decision, "outside_age_window")
        assert "1岁以下" in reason.message


def test_older_than_one_year_with_registration_gives_one_reason_naming_the_year() -> None:
    """One outside_age_window per newborn: the wider window already failed."""
    raw = lanzhou()
    raw["submitted_at"] = "2027-12-01T10:00:00+08:00"
    decision = check(raw)
    reason = only(decision, "outside_age_window")
    assert "1岁以下" in reason.message


# --- 在甘肃省内助产机构出生的新生儿 ---------------------------------------------------------------


@pytest.mark.parametrize("hospital", ["lanzhou-mch", "lanzhou-qilihe", "tianshui-demo"])
def test_any_gansu_midwifery_hospital_is_in_scope(hospital: str) -> None:
    """Seed: "在甘肃省内助产机构出生的新生儿" — 天水 is in Gansu, outside Lanzhou city: fine."""
    raw = lanzhou()
    raw["newborns"][0]["hospital"] = hospital
    assert check(raw).outcome is ACCEPT


@pytest.mark.parametrize(
    ("hospital", "name"), [("xian-demo", "西安市示范妇产医院"), ("qinbei-mch", "钦北区妇幼保健院")]
)
def test_hospital_outside_gansu_is_born_outside_region(hospital: str, name: str) -> None:
    """Seed: "在甘肃省内助产机构出生的新生儿"."""
    raw = lanzhou()
    raw["newborns"][0]["hospital"] = hospital
    decision = check(raw)
    assert decision.outcome is REJECT
    reason = only(decision, "born_outside_region")
    assert reason.detail == "newborns[0].hospital"
    assert name in reason.message and "甘肃" in reason.message


# --- registering parent's hukou in Lanzhou city --------------------------------------------


def test_registering_parent_with_hukou_outside_lanzhou_city_is_no_local_hukou() -> None:
    """Seed: "向婴儿父亲或母亲常住户口所在地的公安派出所申报出生登记"; reference-data: 6201xx."""
    raw = lanzhou()
    raw["mother"]["hukou_division"] = "620502"  # 天水: Gansu, not Lanzhou
    decision = check(raw)
    assert decision.outcome is REJECT
    reason = only(decision, "no_local_hukou")
    assert reason.detail == "mother"
    assert "兰州市" in reason.message


def test_registering_with_the_other_parent_whose_hukou_is_in_lanzhou_is_fine() -> None:
    """Seed: "婴儿父亲或母亲常住户口所在地" — either parent."""
    raw = lanzhou()
    raw["mother"]["hukou_division"] = "620502"
    raw["birth_registration"]["follows"] = "father"  # 620103 七里河区
    assert check(raw).outcome is ACCEPT


# --- 婚内 -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", ["unmarried", "divorced", "single"])
def test_birth_outside_marriage_is_non_marital_birth(status: str) -> None:
    """Seed: "1岁以下婚内本市生育"."""
    raw = lanzhou()
    raw["marital_status"] = status
    decision = check(raw)
    assert decision.outcome is REJECT
    assert only(decision, "non_marital_birth").detail == "marital_status"


def test_mother_unknown_is_rejected() -> None:
    """Seed: "符合出生医学证明首次申领条件" — the BMC records the mother."""
    raw = lanzhou()
    raw["mother"] = {"known": False}
    raw["birth_registration"]["follows"] = "father"
    decision = check(raw)
    assert decision.outcome is REJECT
    assert pairs(decision) == {("mother_unknown", "mother")}


# --- 依据新生儿父母一次申请 -----------------------------------------------------------------------


@pytest.mark.parametrize("role", ["mother", "father"])
def test_either_parent_may_apply(role: str) -> None:
    """Seed: "依据新生儿父母一次申请"."""
    raw = lanzhou()
    raw["applicant"]["role"] = role
    raw["applicant"]["id_number"] = raw[role]["id_number"]
    assert check(raw).outcome is ACCEPT


@pytest.mark.parametrize("role", ["grandparent", "trustee"])
def test_others_may_not_apply(role: str) -> None:
    """Seed: "依据新生儿父母一次申请"."""
    raw = lanzhou()
    raw["applicant"]["role"] = role
    decision = check(raw)
    assert decision.outcome is REJECT
    reason = only(decision, "wrong_applicant")
    assert reason.detail == role
    assert "新生儿父母" in reason.message


def test_only_online_channels() -> None:
    """Seed: "在甘肃政务服务网兰州站和“甘快办”兰州厅上线“高效办成一件事”专区"."""
    raw = lanzhou()
    raw["channel"] = "counter"
    assert pairs(check(raw)) == {("field_invalid", "channel")}


# --- special registration rules --------------------------------------------------------------


def test_student_collective_hukou_is_routed_to_the_spouses_family_hukou() -> None:
    """Seed 000 (二) 2: "大中专院校的已婚学生夫妻一方户口属学生集体户口,其配偶为家庭户口的,
    在学校期间所生子女的户口应当在其配偶家庭户口所在地的公安派出所申报出生登记" — accepted,
    the registration routed to the father's (the spouse's) hukou and its police station."""
    raw = lanzhou()  # registered with the mother (620102); the father's hukou is 620103
    raw["birth_registration"]["hukou_type"] = "student_collective"
    decision = check(raw)
    assert decision.outcome is ACCEPT, decision.as_json()
    route = decision.as_json()["registration_route"]
    assert route["follows"] == "father" and route["because"] == "student_collective"
    assert route["division"] == "620103" and route["police_station"] == "lanzhou-qilihe-ps"
    assert any("学生集体户口" in note and "七里河" in note for note in decision.notes)
    # the services route by the typed document: the father's family hukou, his station
    assert decision.document is not None and decision.document.birth_registration is not None
    section = decision.document.birth_registration
    assert (section.follows, section.hukou_type, section.police_station) == (
        "father",
        "family",
        "lanzhou-qilihe-ps",
    )


def test_student_collective_needs_the_spouses_hukou() -> None:
    """Without the spouse's hukou there is nowhere to route it: one field to fix."""
    raw = lanzhou()
    raw["birth_registration"]["hukou_type"] = "student_collective"
    raw["father"]["hukou_division"] = None
    decision = check(raw)
    assert decision.outcome is SUPPLEMENT
    assert pairs(decision) == {("field_invalid", "father.hukou_division")}


def test_student_collective_spouse_outside_lanzhou_is_no_local_hukou() -> None:
    """The registration goes to the spouse's hukou, so that hukou must be in the city."""
    raw = lanzhou()
    raw["birth_registration"]["hukou_type"] = "student_collective"
    raw["father"]["hukou_division"] = "610113"
    decision = check(raw)
    assert decision.outcome is REJECT
    assert pairs(decision) == {("no_local_hukou", "father")}


def test_a_spouses_division_without_a_known_station_routes_to_the_division() -> None:
    raw = lanzhou()
    raw["birth_registration"]["hukou_type"] = "student_collective"
    raw["father"]["hukou_division"] = "620104"
    decision = check(raw)
    assert decision.outcome is ACCEPT
    route = decision.as_json()["registration_route"]
    assert route["division"] == "620104" and route["police_station"] is None


@pytest.mark.parametrize("hukou_type", ["family", "community_collective", "unit_collective"])
def test_other_hukou_types_are_fine(hukou_type: str) -> None:
    """Only the student collective hukou has a special rule in seed 000."""
    raw = lanzhou()
    raw["birth_registration"]["hukou_type"] = hukou_type
    assert check(raw).outcome is ACCEPT


def test_serviceman_parent_registers_with_the_civilian_parent() -> None:
    """Seed 000 (二) 3: "夫妻一方为现役军人、一方为地方居民的,所生子女应当在地方居民一方常住户口
    所在地的公安派出所申报出生登记" — accepted, routed to the civilian father's station."""
    raw = lanzhou()  # registered with the mother
    raw["mother"]["active_serviceman"] = True
    decision = check(raw)
    assert decision.outcome is ACCEPT, decision.as_json()
    route = decision.as_json()["registration_route"]
    assert route["follows"] == "father" and route["because"] == "serviceman_parent"
    assert route["police_station"] == "lanzhou-qilihe-ps"
    assert any("现役军人" in note for note in decision.notes)
    raw["birth_registration"]["follows"] = "father"
    decision = check(raw)
    assert decision.outcome is ACCEPT and decision.registration_route is None


def test_both_parents_servicemen_is_not_the_serviceman_rule() -> None:
    """Seed: "夫妻一方为现役军人、一方为地方居民的" — not both servicemen."""
    raw = lanzhou()
    raw["mother"]["active_serviceman"] = True
    raw["father"]["active_serviceman"] = True
    assert check(raw).outcome is ACCEPT


# --- materials ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "material", ["mother_id_card", "father_id_card", "household_register", "marriage_certificate"]
)
def test_each_required_material(material: str) -> None:
    """Seed: "新生儿父母身份证、户口簿、结婚证等证件必须真实有效"."""
    raw = lanzhou()
    raw["materials"].remove(material)
    decision = check(raw)
    assert decision.outcome is SUPPLEMENT
    assert pairs(decision) == {("missing_material", material)}


def test_registration_without_the_bmc_item_needs_the_issued_bmc() -> None:
    """Seed: "需先办理出生医学证明,才可办理出生登记"."""
    raw = lanzhou()
    raw["items"] = [REG, MIE, SSC]
    assert pairs(check(raw)) == {("missing_material", "birth_certificate")}
    raw["materials"].append("birth_certificate")
    assert check(raw).outcome is ACCEPT
    raw["items"] = [BMC, REG]
    raw["materials"].remove("birth_certificate")
    assert check(raw).outcome is ACCEPT


def test_lanzhou_has_no_residency_rule() -> None:
    """decisions.md lists foreign_parent for yuanling and qinbei; seed 000 has no such rule."""
    raw = lanzhou()
    raw["father"]["residency"] = "hong_kong"
    raw["father"]["id_number"] = "H12345678"
    raw["applicant"]["role"] = "mother"
    raw["applicant"]["id_number"] = raw["mother"]["id_number"]
    assert "foreign_parent" not in code_set(check(raw))


def test_unnamed_newborn_is_a_field_to_fill() -> None:
    """application.md: "`name` may be empty only where the pack allows it"."""
    raw = lanzhou()
    raw["newborns"][0]["name"] = None
    decision = check(raw)
    assert decision.outcome is SUPPLEMENT
    assert pairs(decision) == {("field_invalid", "newborns[0].name")}
