"""Rules common to every region, evaluation time, reason reporting and message quality.

Sources: spec/decisions.md, spec/regions.md ("Common to all: resident ID numbers must be
valid; the newborn's birth date cannot be in the future; the registering parent must have
a household register in the region"), spec/reference-data.md, spec/application.md.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta

import pytest

from onestop.core.clock import BEIJING
from onestop.core.errors import UnreadableDocument
from onestop.eligibility.prereview import Decision
from onestop.eligibility.reasons import MATERIAL_NAMES, REASON_KINDS

from .support import (
    ACCEPT,
    BMC,
    REGIONS,
    REJECT,
    SUPPLEMENT,
    Case,
    accepted,
    at,
    check,
    code_set,
    codes,
    example,
    has_cjk,
    only,
    pairs,
)

# --- the accepted examples are clean -----------------------------------------------


@pytest.mark.parametrize("region", REGIONS)
def test_accepted_example_of_each_region_is_accepted_without_reasons(region: str) -> None:
    decision = check(accepted(region))
    assert decision.outcome is ACCEPT
    assert decision.reasons == ()
    assert decision.region == region
    body = decision.as_json()
    assert body["decision"] == "accept"
    assert body["reasons"] == []
    assert "ordinary_channels" not in body


# --- invalid_id_number ---------------------------------------------------------------
# decisions.md: "a parent's resident ID number fails GB 11643 (length, date, check digit)";
# yuanling seed: "身份证无效等情况，暂不纳入".


def _wrong_check_digit(number: str) -> str:
    last = "0" if number[-1] != "0" else "1"
    return number[:-1] + last


BAD_NUMBERS: dict[str, Callable[[str], str]] = {
    "check_digit": _wrong_check_digit,
    "too_short": lambda n: n[:-1],
    "too_long": lambda n: n + "1",
    "impossible_birth_date": lambda n: n[:10] + "0230" + n[14:],  # 30 February
    "letters": lambda n: n[:6] + "ABCDEFGH" + n[14:],
    "born_before_1900": lambda n: n[:6] + "1899" + n[10:],
}


@pytest.mark.parametrize("region", REGIONS)
@pytest.mark.parametrize("side", ["mother", "father"])
@pytest.mark.parametrize("kind", sorted(BAD_NUMBERS))
def test_invalid_parent_id_number_is_rejected_in_every_region(
    region: str, side: str, kind: str
) -> None:
    raw = accepted(region)
    raw[side]["id_number"] = BAD_NUMBERS[kind](raw[side]["id_number"])
    decision = check(raw)
    assert decision.outcome is REJECT
    reason = only(decision, "invalid_id_number")
    assert reason.detail == side
    assert ("母亲" if side == "mother" else "父亲") in reason.message
    assert "身份证号码" in reason.message
    # The same wrong number is not reported twice (e.g. when the parent is the applicant).
    assert codes(decision).count("invalid_id_number") == 1


def test_valid_id_with_lowercase_x_and_spaces_is_accepted() -> None:
    # make_resident_id gives a number; find one ending in X to exercise the lowercase form.
    from datetime import date

    from onestop.reference.idnumber import make_resident_id

    number = next(
        n
        for seq in range(500)
        if (n := make_resident_id("450703", date(1992, 3, 15), seq, "2")).endswith("X")
    )
    raw = accepted("qinbei")
    raw["mother"]["id_number"] = f" {number.lower()} "
    raw["applicant"]["id_number"] = number
    assert check(raw).outcome is ACCEPT


def test_invalid_applicant_id_number_is_reported_for_the_applicant() -> None:
    raw = accepted("qinbei")  # the applicant is the mother; her own record stays valid
    raw["applicant"]["id_number"] = _wrong_check_digit(raw["applicant"]["id_number"])
    decision = check(raw)
    assert decision.outcome is REJECT
    assert only(decision, "invalid_id_number").detail == "applicant"


def test_missing_parent_id_number_is_a_field_to_fill_not_a_reject() -> None:
    raw = accepted("qinbei")
    raw["mother"]["id_number"] = None
    decision = check(raw)
    assert decision.outcome is SUPPLEMENT
    assert pairs(decision) == {("field_invalid", "mother.id_number")}


def test_passport_of_a_non_mainland_parent_is_not_judged_by_gb_11643() -> None:
    """Lanzhou has no residency rule; a foreign father's passport number is not an ID error."""
    raw = accepted("lanzhou")  # the birth is registered with the mother
    raw["applicant"]["role"] = "mother"
    raw["applicant"]["id_number"] = raw["mother"]["id_number"]
    raw["father"]["residency"] = "foreign"
    raw["father"]["id_number"] = "E12345678"
    decision = check(raw)
    assert "invalid_id_number" not in code_set(decision)
    assert decision.outcome is ACCEPT


def test_invalid_householder_or_trustee_id_is_a_field_to_fix() -> None:
    raw = accepted("yuanling")
    raw["birth_registration"]["householder_id_number"] = "431222199507070131"
    decision = check(raw)
    assert decision.outcome is SUPPLEMENT
    assert pairs(decision) == {("field_invalid", "birth_registration.householder_id_number")}


# --- birth_in_future -----------------------------------------------------------------
# decisions.md: "the birth time is after the submission time".


@pytest.mark.parametrize("region", REGIONS)
def test_birth_after_submission_is_rejected(region: str) -> None:
    raw = accepted(region)
    submitted = at(raw["submitted_at"])
    raw["newborns"][0]["born_at"] = (submitted + timedelta(minutes=1)).isoformat()
    decision = check(raw)
    assert decision.outcome is REJECT
    reason = only(decision, "birth_in_future")
    assert reason.detail == "newborns[0].born_at"
    assert "出生时间" in reason.message
    # A future birth is not also "too old" for the age window.
    assert "outside_age_window" not in code_set(decision)


@pytest.mark.parametrize("region", REGIONS)
def test_birth_at_the_very_submission_time_is_not_in_the_future(region: str) -> None:
    raw = accepted(region)
    raw["newborns"][0]["born_at"] = raw["submitted_at"]
    if region == "yuanling":  # the mother signed the authorization before the birth is fine
        raw["authorization"]["valid_from"] = raw["submitted_at"][:10]
    assert "birth_in_future" not in code_set(check(raw))


def test_birth_in_future_is_judged_in_beijing_time_across_offsets() -> None:
    raw = accepted("qinbei")
    raw["submitted_at"] = "2026-11-20T01:30:00Z"  # 09:30 Beijing
    raw["newborns"][0]["born_at"] = "2026-11-20T09:31:00+08:00"
    assert only(check(raw), "birth_in_future").detail == "newborns[0].born_at"
    raw["newborns"][0]["born_at"] = "2026-11-20T09:29:00+08:00"
    assert check(raw).outcome is ACCEPT


# --- unknown vs out-of-scope hospital ------------------------------------------------
# reference-data.md: "An unknown hospital code in a case document is `field_invalid`
# (supplement); a known hospital outside the pack's scope is `born_outside_region` (reject)."


@pytest.mark.parametrize("region", REGIONS)
def test_unknown_hospital_code_is_field_invalid_not_born_outside_region(region: str) -> None:
    raw = accepted(region)
    raw["newborns"][0]["hospital"] = "no-such-hospital"
    decision = check(raw)
    assert decision.outcome is SUPPLEMENT
    assert pairs(decision) == {("field_invalid", "newborns[0].hospital")}
    assert "no-such-hospital" in decision.reasons[0].message


@pytest.mark.parametrize("region", ["qinbei", "lanzhou", "yuanling", "fuzhou"])
def test_missing_hospital_is_a_field_to_fill(region: str) -> None:
    raw = accepted(region)
    del raw["newborns"][0]["hospital"]
    decision = check(raw)
    assert decision.outcome is SUPPLEMENT
    assert pairs(decision) == {("field_invalid", "newborns[0].hospital")}


# --- field_invalid: phones, impossible dates, wrong types ----------------------------
# decisions.md: "field_invalid | supplement | a field is malformed (detail: which one and
# why), e.g. a phone number".


@pytest.mark.parametrize(
    "phone", ["1380000", "23800000000", "138000000000", "phone", "138-0000-000a", "+1 2025550123"]
)
@pytest.mark.parametrize(
    "where", [("applicant", "phone"), ("mother", "phone"), ("father", "phone")]
)
def test_malformed_phone_is_field_invalid(phone: str, where: tuple[str, str]) -> None:
    section, key = where
    raw = accepted("qinbei")
    raw[section][key] = phone
    decision = check(raw)
    assert decision.outcome is SUPPLEMENT
    reason = only(decision, "field_invalid")
    assert reason.detail == f"{section}.{key}"
    assert "手机号码" in reason.message


def test_malformed_phone_in_mail_address_is_field_invalid() -> None:
    raw = accepted("qinbei")
    raw["delivery"]["address"]["phone"] = "12345"
    decision = check(raw)
    assert pairs(decision) == {("field_invalid", "delivery.address.phone")}


@pytest.mark.parametrize(
    "phone", ["+86 138-0000-0000", "86 13800000000", 13800000000, " 138 0000 0000 "]
)
def test_phone_written_with_country_code_spaces_or_as_number_is_accepted(phone: object) -> None:
    raw = accepted("qinbei")
    raw["mother"]["phone"] = phone
    assert check(raw).outcome is ACCEPT


@pytest.mark.parametrize(
    ("mutate", "path"),
    [
        (
            lambda r: r["newborns"][0].update(born_at="2026-02-30T08:20:00+08:00"),
            "newborns[0].born_at",
        ),
        (
            lambda r: r["newborns"][0].update(born_at="2026-11-31T08:20:00+08:00"),
            "newborns[0].born_at",
        ),
        (
            lambda r: r["newborns"][0].update(born_at="2026-11-10T25:20:00+08:00"),
            "newborns[0].born_at",
        ),
        (lambda r: r["newborns"][0].update(born_at="10/11/2026"), "newborns[0].born_at"),
        (lambda r: r["newborns"][0].update(born_at=20261110), "newborns[0].born_at"),
        # Far dates that overflow when moved to Beijing time must not crash the parser.
        (
            lambda r: r["newborns"][0].update(born_at="0001-01-01T00:00:00+14:00"),
            "newborns[0].born_at",
        ),
        (
            lambda r: r["newborns"][0].update(born_at="9999-12-31T23:59:59-12:00"),
            "newborns[0].born_at",
        ),
    ],
)
def test_impossible_or_malformed_birth_time_is_one_field_invalid(
    mutate: Callable[[Case], object], path: str
) -> None:
    raw = accepted("qinbei")
    mutate(raw)
    decision = check(raw)
    assert decision.outcome is SUPPLEMENT
    # Exactly one notice for the field: how it is wrong, not also "必须填写".
    assert pairs(decision) == {("field_invalid", path)}
    assert "必须填写" not in decision.reasons[0].message


@pytest.mark.parametrize("value", ["2026-02-30", "2026-12-32", "31/12/2026", 20261231])
def test_impossible_authorization_date_is_field_invalid(value: object) -> None:
    raw = accepted("yuanling")
    raw["authorization"]["valid_to"] = value
    decision = check(raw)
    assert decision.outcome is SUPPLEMENT
    assert ("field_invalid", "authorization.valid_to") in pairs(decision)
    # Without an end date the letter does not show its validity period.
    assert only(decision, "authorization_missing").detail == "authorization"


def test_impossible_submission_time_is_field_invalid_and_now_is_used() -> None:
    raw = accepted("qinbei")
    raw["submitted_at"] = "2026-11-31T09:30:00+08:00"
    decision = check(raw, now=datetime(2026, 11, 21, 10, 0, tzinfo=BEIJING))
    assert decision.outcome is SUPPLEMENT
    assert pairs(decision) == {("field_invalid", "submitted_at")}
    assert decision.evaluated_at == datetime(2026, 11, 21, 10, 0, tzinfo=BEIJING)


WRONG_TYPES: list[tuple[str, Callable[[Case], object], set[tuple[str, str | None]]]] = [
    (
        "weight as text",
        lambda r: r["newborns"][0].update(weight_g="heavy"),
        {("field_invalid", "newborns[0].weight_g")},
    ),
    (
        "in_hospital not a yes/no",
        lambda r: r["newborns"][0].update(in_hospital="maybe"),
        {("field_invalid", "newborns[0].in_hospital")},
    ),
    (
        "sex outside GB/T 2261.1",
        lambda r: r["newborns"][0].update(sex="3"),
        {("field_invalid", "newborns[0].sex")},
    ),
    ("mother as text", lambda r: r.update(mother="黄丽"), {("field_invalid", "mother")}),
    ("father as a list", lambda r: r.update(father=["覃军"]), {("field_invalid", "father")}),
    ("items as text", lambda r: r.update(items=BMC), {("field_invalid", "items")}),
    (
        "marital status as bool",
        lambda r: r.update(marital_status=True),
        {("field_invalid", "marital_status")},
    ),
    ("delivery as text", lambda r: r.update(delivery="mail"), {("field_invalid", "delivery")}),
    (
        "applied_elsewhere not a yes/no",
        lambda r: r["social_security_card"].update(applied_elsewhere="dunno"),
        {("field_invalid", "social_security_card.applied_elsewhere")},
    ),
    (
        "plurality zero",
        lambda r: r["maternity"].update(plurality=0),
        {("field_invalid", "maternity.plurality")},
    ),
    (
        "account number with letters",
        lambda r: r["maternity"].update(account_number="12ab"),
        {("field_invalid", "maternity.account_number")},
    ),
    (
        "hukou division too short",
        lambda r: r["mother"].update(hukou_division=4507),
        {("field_invalid", "mother.hukou_division")},
    ),
    (
        "insurance division of no province",
        lambda r: r["medical_insurance"].update(division="990000"),
        {("field_invalid", "medical_insurance.division")},
    ),
    ("unknown channel", lambda r: r.update(channel="fax"), {("field_invalid", "channel")}),
    (
        "unknown applicant role",
        lambda r: r["applicant"].update(role="aunt"),
        {("field_invalid", "applicant.role")},
    ),
    (
        "unknown ethnic group",
        lambda r: r["mother"].update(ethnicity="99"),
        {("field_invalid", "mother.ethnicity")},
    ),
    (
        "unknown bank",
        lambda r: r["social_security_card"].update(bank="bank-of-mars"),
        {("field_invalid", "social_security_card.bank")},
    ),
    (
        "unknown item code",
        lambda r: r["items"].append("free_pony"),
        {("field_invalid", "items[7]")},
    ),
]


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [pytest.param(m, e, id=name) for name, m, e in WRONG_TYPES],
)
def test_wrong_type_or_value_is_field_invalid_naming_the_field(
    mutate: Callable[[Case], object], expected: set[tuple[str, str | None]]
) -> None:
    raw = accepted("qinbei")
    mutate(raw)
    decision = check(raw)
    assert decision.outcome is SUPPLEMENT
    assert pairs(decision) == expected
    for reason in decision.reasons:
        assert has_cjk(reason.message)


def test_bank_payout_without_bank_and_account_lists_both_fields() -> None:
    raw = accepted("qinbei")
    raw["maternity"]["payout"] = "bank"
    decision = check(raw)
    assert pairs(decision) == {
        ("field_invalid", "maternity.bank"),
        ("field_invalid", "maternity.account_number"),
    }


def test_mail_delivery_needs_a_full_address() -> None:
    raw = accepted("qinbei")  # the household register goes by mail
    raw["delivery"]["address"] = None
    decision = check(raw)
    assert decision.outcome is SUPPLEMENT
    assert pairs(decision) == {
        ("field_invalid", "delivery.address.recipient"),
        ("field_invalid", "delivery.address.phone"),
        ("field_invalid", "delivery.address.address"),
    }


def test_married_parents_need_the_father_s_details() -> None:
    raw = accepted("qinbei")
    raw["father"] = None
    raw["birth_registration"]["follows"] = "mother"
    raw["materials"].remove("father_id_card")
    decision = check(raw)
    assert decision.outcome is SUPPLEMENT
    assert pairs(decision) == {("field_invalid", "father")}


def test_registering_parent_must_be_described() -> None:
    raw = accepted("qinbei")  # the birth is registered with the father
    raw["father"] = {"known": True}
    decision = check(raw)
    assert decision.outcome is SUPPLEMENT
    assert ("field_invalid", "father") in pairs(decision)


# --- items -----------------------------------------------------------------------------


def test_no_item_chosen_is_field_invalid() -> None:
    raw = accepted("qinbei")
    raw["items"] = []
    decision = check(raw)
    assert decision.outcome is SUPPLEMENT
    assert pairs(decision) == {("field_invalid", "items")}
    assert decision.plan == ()


def test_only_items_the_region_does_not_offer_is_field_invalid_with_a_note() -> None:
    raw = accepted("jilin")  # jilin's BMC is issued before the bundle
    raw["items"] = [BMC]
    decision = check(raw)
    assert decision.outcome is SUPPLEMENT
    assert pairs(decision) == {("field_invalid", "items")}
    assert any("出生医学证明" in note for note in decision.notes)


# --- missing_material ------------------------------------------------------------------
# decisions.md: "missing_material | supplement | a required material is absent (detail:
# which one)".


@pytest.mark.parametrize("region", REGIONS)
def test_missing_household_register_is_named_in_detail_and_message(region: str) -> None:
    raw = accepted(region)
    raw["materials"].remove("household_register")
    decision = check(raw)
    assert decision.outcome is SUPPLEMENT
    reason = only(decision, "missing_material")
    assert reason.detail == "household_register"
    assert MATERIAL_NAMES["household_register"] in reason.message
    assert codes(decision) == ["missing_material"]


@pytest.mark.parametrize("region", REGIONS)
def test_no_materials_lists_every_missing_material_in_one_notice(region: str) -> None:
    raw = accepted(region)
    raw["materials"] = []
    decision = check(raw)
    missing = [r.detail for r in decision.reasons if r.code == "missing_material"]
    assert len(missing) >= 2
    assert len(set(missing)) == len(missing)  # each once
    assert "household_register" in missing


def test_unknown_material_code_is_ignored_with_a_note() -> None:
    raw = accepted("qinbei")
    raw["materials"].append("selfie")
    decision = check(raw)
    assert decision.outcome is ACCEPT
    assert any("selfie" in note for note in decision.notes)


# --- ethnicity_confirmation_missing ------------------------------------------------------
# decisions.md: "parents' ethnic groups differ and the confirmation is not signed by both";
# qinbei seed: "新生儿父母双方民族不一致的，需父母双方在申请表上签字确认新生儿的民族";
# yuanling seed: "新生儿父母民族成份不相同的还应提供《确认民族成份申请书》".


def _differing_ethnicities(region: str) -> Case:
    raw = accepted(region)
    raw["mother"]["ethnicity"] = "01"
    raw["father"]["ethnicity"] = "08"
    raw["ethnicity_confirmation"] = None
    raw["materials"] = [m for m in raw["materials"] if m != "ethnicity_confirmation_form"]
    return raw


@pytest.mark.parametrize("region", REGIONS)
def test_differing_ethnic_groups_without_confirmation_is_supplement(region: str) -> None:
    decision = check(_differing_ethnicities(region))
    assert decision.outcome is SUPPLEMENT
    reason = only(decision, "ethnicity_confirmation_missing")
    assert reason.detail == "ethnicity_confirmation"
    assert "民族" in reason.message
    assert codes(decision) == ["ethnicity_confirmation_missing"]


def _signed(region: str, *, own: bool, other: bool) -> tuple[Case, str]:
    raw = _differing_ethnicities(region)
    role = raw["applicant"]["role"]
    side = role if role in ("mother", "father") else "mother"
    other_side = "father" if side == "mother" else "mother"
    raw["ethnicity_confirmation"] = {
        "ethnicity": "08",
        f"signed_by_{side}": own,
        f"signed_by_{other_side}": other,
    }
    return raw, other_side


@pytest.mark.parametrize("region", REGIONS)
@pytest.mark.parametrize(("own", "other"), [(False, True), (False, False)])
def test_the_applicant_must_sign_for_themself(region: str, own: bool, other: bool) -> None:
    raw, _ = _signed(region, own=own, other=other)
    assert codes(check(raw)) == ["ethnicity_confirmation_missing"]


@pytest.mark.parametrize("region", REGIONS)
def test_the_other_parent_confirms_by_link_when_only_the_applicant_signed(region: str) -> None:
    """ADR 0029: the other parent's signature comes by SMS link; birth registration waits."""
    raw, other = _signed(region, own=True, other=False)
    decision = check(raw)
    if raw["applicant"]["role"] not in ("mother", "father"):
        assert codes(decision) == ["ethnicity_confirmation_missing"]  # a trustee: both on paper
        return
    assert decision.outcome is ACCEPT
    assert decision.confirmation is not None
    assert decision.confirmation.parent == other
    assert decision.confirmation.items == ("birth_registration",)
    assert "民族成份" in decision.confirmation.statements[0].text
    assert decision.as_json()["second_parent_confirmation"]["parent"] == other


@pytest.mark.parametrize("region", REGIONS)
def test_online_the_other_parents_tick_is_not_their_signature(region: str) -> None:
    raw, other = _signed(region, own=True, other=True)
    decision = check(raw)
    assert decision.outcome is ACCEPT
    if raw["channel"] == "counter":
        assert decision.confirmation is None  # the clerk saw both parents sign
    else:
        assert decision.confirmation is not None and decision.confirmation.parent == other


@pytest.mark.parametrize("region", ["qinbei", "lanzhou"])
def test_the_other_parent_needs_their_own_phone(region: str) -> None:
    raw, other = _signed(region, own=True, other=False)
    raw[other]["phone"] = raw["applicant"]["phone"]
    decision = check(raw)
    assert decision.outcome is SUPPLEMENT
    assert pairs(decision) == {("field_invalid", f"{other}.phone")}
    raw[other]["phone"] = None
    assert pairs(check(raw)) == {("field_invalid", f"{other}.phone")}


@pytest.mark.parametrize("region", REGIONS)
def test_confirmation_signed_by_both_or_uploaded_form_is_enough(region: str) -> None:
    raw = _differing_ethnicities(region)
    raw["ethnicity_confirmation"] = {
        "ethnicity": "08",
        "signed_by_mother": True,
        "signed_by_father": True,
    }
    assert check(raw).outcome is ACCEPT
    raw = _differing_ethnicities(region)
    raw["materials"].append("ethnicity_confirmation_form")
    assert check(raw).outcome is ACCEPT


def test_confirmed_ethnicity_must_be_one_of_the_parents() -> None:
    raw = _differing_ethnicities("qinbei")
    raw["ethnicity_confirmation"] = {
        "ethnicity": "05",
        "signed_by_mother": True,
        "signed_by_father": True,
    }
    decision = check(raw)
    assert pairs(decision) == {("field_invalid", "ethnicity_confirmation.ethnicity")}


# --- all reasons reported, reject outranks supplement ------------------------------------
# decisions.md: "When several reasons apply, all are reported. Reject outranks supplement."


def test_reject_and_missing_material_are_both_reported_and_reject_wins() -> None:
    raw = accepted("qinbei")
    raw["social_security_card"]["applied_elsewhere"] = True
    raw["materials"].remove("delivery_record_page")
    decision = check(raw)
    assert decision.outcome is REJECT
    assert pairs(decision) == {
        ("ssc_already_applied", "social_security_card.applied_elsewhere"),
        ("missing_material", "delivery_record_page"),
    }


def test_reject_field_invalid_and_supplement_reasons_all_listed_rejects_first() -> None:
    raw = accepted("qinbei")
    raw["applicant"]["role"] = "father"  # qinbei: the mother applies
    raw["father"]["residency"] = "taiwan"
    raw["father"]["id_number"] = None
    raw["mother"]["phone"] = "123"
    raw["materials"].remove("marriage_certificate")
    raw["materials"].remove("ethnicity_confirmation_form")
    raw["ethnicity_confirmation"] = None
    decision = check(raw)
    assert decision.outcome is REJECT
    assert pairs(decision) == {
        ("wrong_applicant", "father"),
        ("foreign_parent", "father"),
        ("field_invalid", "mother.phone"),
        ("missing_material", "marriage_certificate"),
        ("ethnicity_confirmation_missing", "ethnicity_confirmation"),
    }
    kinds = [r.decision for r in decision.reasons]
    assert kinds == sorted(kinds, key=lambda k: 0 if k == "reject" else 1)


def test_several_supplement_reasons_only_give_supplement() -> None:
    raw = accepted("qinbei")
    raw["mother"]["phone"] = "123"
    raw["materials"] = ["mother_id_card", "father_id_card"]
    decision = check(raw)
    assert decision.outcome is SUPPLEMENT
    assert set(codes(decision)) == {"field_invalid", "missing_material"}
    assert len(decision.reasons) == 4


def test_each_reason_is_reported_once() -> None:
    raw = example("qinbei-reject-hk-father-late-applicant")
    raw["newborns"].append(dict(raw["newborns"][0], name="覃二"))  # twins, both too old
    decision = check(raw)
    keys = [(r.code, r.detail, r.message) for r in decision.reasons]
    assert len(keys) == len(set(keys))
    assert pairs(decision) >= {
        ("outside_age_window", "newborns[0]"),
        ("outside_age_window", "newborns[1]"),
    }


# --- messages ------------------------------------------------------------------------------
# decisions.md: "explained by stable reason codes (English, snake_case) with a Chinese
# message for people".


def _refusals() -> list[Decision]:
    """A spread of decisions covering most reason codes."""
    names = [
        "fuzhou-reject-outside-city-invalid-id",
        "jilin-reject-no-bmc-unit-collective",
        "lanzhou-reject-registration-after-one-month",
        "lanzhou-supplement-unknown-hospital-bad-phone",
        "qinbei-reject-hk-father-late-applicant",
        "qinbei-supplement-missing-materials",
        "yuanling-reject-unnamed-divorced",
    ]
    decisions = [check(example(name)) for name in names]
    raw = accepted("qinbei")
    raw["newborns"][0]["hospital"] = "qinnan-demo"
    raw["newborns"][0]["in_hospital"] = False
    raw["marital_status"] = "unmarried"
    raw["social_security_card"]["applied_elsewhere"] = True
    raw["birth_registration"]["follows"] = "mother"
    raw["mother"]["hukou_division"] = "440103"
    raw["father"]["hukou_division"] = "440103"
    decisions.append(check(raw))
    raw = accepted("yuanling")
    raw["mother"] = {"known": False}
    raw["authorization"]["items"] = [BMC]
    raw["newborns"][0]["born_at"] = "2027-01-01T00:00:00+08:00"
    decisions.append(check(raw))
    raw = accepted("jilin")
    raw["applicant"]["role"] = "trustee"
    raw["authorization"] = {"trustee": {"name": "王某", "relation": "uncle"}}
    decisions.append(check(raw))
    return decisions


def test_refusal_spread_covers_the_minimum_reason_set() -> None:
    seen = {code for decision in _refusals() for code in codes(decision)}
    assert seen == set(REASON_KINDS)


@pytest.mark.parametrize("index", range(len(_refusals())))
def test_every_reason_has_code_chinese_message_and_detail(index: int) -> None:
    decision = _refusals()[index]
    assert decision.reasons
    for reason in decision.reasons:
        assert reason.code in REASON_KINDS
        assert reason.decision == REASON_KINDS[reason.code].decision
        assert has_cjk(reason.message), reason.message
        assert "{" not in reason.message and "}" not in reason.message
        assert "—" not in reason.message  # no unfilled placeholder
        assert isinstance(reason.detail, str) and reason.detail
        if reason.code != "field_invalid":
            # No English code leaks into what the parent reads (hong_kong, unit_collective).
            assert re.search(r"[a-z]+_[a-z]+", reason.message) is None, reason.message
        assert reason.as_json() == {
            "code": reason.code,
            "message": reason.message,
            "detail": reason.detail,
        }


def test_messages_say_what_happened_in_words_a_parent_understands() -> None:
    qinbei = check(example("qinbei-reject-hk-father-late-applicant"))
    assert "新生儿母亲" in only(qinbei, "wrong_applicant").message
    assert "香港居民" in only(qinbei, "foreign_parent").message
    window = only(qinbei, "outside_age_window").message
    assert "2026年11月10日" in window and "出生1个月内" in window
    fuzhou = check(example("fuzhou-reject-outside-city-invalid-id"))
    outside = only(fuzhou, "born_outside_region").message
    assert "闽侯县示范医院" in outside and "福州市城区" in outside
    assert "校验位" in only(fuzhou, "invalid_id_number").message
    jilin = check(example("jilin-reject-no-bmc-unit-collective"))
    assert "单位集体户" in only(jilin, "collective_hukou_not_supported").message
    assert "出生医学证明" in only(jilin, "bmc_missing").message
    lanzhou = accepted("lanzhou")
    lanzhou["mother"]["hukou_division"] = "620502"
    assert "兰州市" in only(check(lanzhou), "no_local_hukou").message


def test_reject_lists_the_ordinary_channels_that_still_serve() -> None:
    """decisions.md: a non-acceptance notice "says which ordinary channels still serve them"."""
    decision = check(example("qinbei-reject-hk-father-late-applicant"))
    body = decision.as_json()
    channels = body["ordinary_channels"]
    assert len(channels) == 7  # one per chosen item
    assert all(has_cjk(text) for text in channels)
    assert any("派出所" in text for text in channels)
    supplement = check(example("qinbei-supplement-missing-materials")).as_json()
    assert "ordinary_channels" not in supplement


# --- evaluation time -------------------------------------------------------------------------
# interfaces.md: "`--at` is the evaluation time (default: `submitted_at`, else now)".


def test_at_beats_submitted_at() -> None:
    raw = accepted("qinbei")  # submitted 2026-11-20, born 2026-11-10
    late = at("2026-12-15T10:00:00+08:00")
    decision = check(raw, at=late)
    assert decision.evaluated_at == late
    assert pairs(decision) == {("outside_age_window", "newborns[0]")}


def test_at_before_the_birth_makes_the_birth_future() -> None:
    raw = accepted("qinbei")
    decision = check(raw, at=at("2026-11-09T10:00:00+08:00"))
    assert codes(decision) == ["birth_in_future"]


def test_submitted_at_beats_now() -> None:
    raw = accepted("qinbei")
    decision = check(raw, now=datetime(2027, 6, 1, tzinfo=BEIJING))
    assert decision.outcome is ACCEPT
    assert decision.evaluated_at == at("2026-11-20T09:30:00+08:00")


@pytest.mark.parametrize(
    ("now", "outcome"),
    [
        (datetime(2026, 12, 10, 23, 0, tzinfo=BEIJING), ACCEPT),
        (datetime(2026, 12, 11, 0, 30, tzinfo=BEIJING), REJECT),
    ],
)
def test_now_is_used_without_submitted_at(now: datetime, outcome: object) -> None:
    raw = accepted("qinbei")
    del raw["submitted_at"]
    decision = check(raw, now=now)
    assert decision.evaluated_at == now
    assert decision.outcome is outcome


def test_blank_submitted_at_falls_back_to_now() -> None:
    raw = accepted("qinbei")
    raw["submitted_at"] = "  "
    decision = check(raw, now=datetime(2026, 11, 25, tzinfo=BEIJING))
    assert decision.outcome is ACCEPT
    assert decision.evaluated_at == datetime(2026, 11, 25, tzinfo=BEIJING)


def test_evaluation_time_is_beijing_time() -> None:
    raw = accepted("qinbei")  # born 2026-11-10 (Beijing): one month ends 2026-12-10
    raw["submitted_at"] = "2026-12-10T15:59:00Z"  # 23:59 Beijing, still 2026-12-10
    assert check(raw).outcome is ACCEPT
    raw["submitted_at"] = "2026-12-10T16:30:00Z"  # 00:30 Beijing on 2026-12-11
    decision = check(raw)
    assert decision.outcome is REJECT
    assert decision.evaluated_at.utcoffset() == timedelta(hours=8)


def test_naive_at_is_beijing_time() -> None:
    raw = accepted("qinbei")
    decision = check(raw, at=datetime(2026, 12, 10, 23, 59))
    assert decision.outcome is ACCEPT
    assert decision.evaluated_at == datetime(2026, 12, 10, 23, 59, tzinfo=BEIJING)


# --- unreadable documents --------------------------------------------------------------------


@pytest.mark.parametrize("raw", [None, 5, "qinbei", [], [{"region": "qinbei"}], True])
def test_not_an_object_is_unreadable(raw: object) -> None:
    with pytest.raises(UnreadableDocument):
        check(raw)


@pytest.mark.parametrize("region", [None, "", "   ", 7, ["qinbei"], {"code": "qinbei"}])
def test_missing_or_malformed_region_is_unreadable(region: object) -> None:
    raw = accepted("qinbei")
    raw["region"] = region
    with pytest.raises(UnreadableDocument):
        check(raw)


def test_unknown_region_is_unreadable_and_names_the_known_ones() -> None:
    raw = accepted("qinbei")
    raw["region"] = "shanghai"
    with pytest.raises(UnreadableDocument) as info:
        check(raw)
    assert "shanghai" in info.value.message
    assert "qinbei" in info.value.message


def test_region_code_with_spaces_is_read() -> None:
    raw = accepted("qinbei")
    raw["region"] = " qinbei "
    assert check(raw).outcome is ACCEPT
