"""The guided eligibility check (智能导引), answered from each region's pack."""

from __future__ import annotations

from datetime import date

import pytest
from django.test import Client

from onestop.policy.loader import default_packs
from onestop.portal.guide import guide_result, questions
from onestop.portal.tests.support import freeze

TODAY = date(2026, 11, 20)


def ask(region: str, items: str = "", **answers: str) -> str:
    query = [("region", region), ("check", "1"), *((f"q_{k}", v) for k, v in answers.items())]
    query += [("items", item) for item in items.split(",") if item]
    response = Client().get("/my/guide/", query)
    assert response.status_code == 200
    return response.content.decode()


QINBEI_OK = {
    "items": "birth_certificate,birth_registration,social_security_card",
    "applicant_role": "mother",
    "born_on": "2026-11-10",
    "hospital_in_scope": "yes",
    "in_hospital": "yes",
    "mother_known": "yes",
    "marital_status": "married",
    "foreign_parent": "no",
    "local_hukou": "yes",
    "ssc_applied": "no",
    "same_ethnicity": "no",
}


@pytest.mark.django_db
def test_qinbei_guide_says_eligible_and_lists_the_materials(monkeypatch):
    freeze(monkeypatch)
    page = ask("qinbei", **QINBEI_OK)
    assert "可以申请“出生一件事”" in page
    for name in ("母亲居民身份证", "结婚证（首页、主页）", "母子健康手册“产时记录”页"):
        assert name in page
    assert "确认民族成份" in page  # parents of different ethnic groups
    assert "/my/apply/qinbei/?items=birth_certificate" in page
    assert "智桂通" in page


@pytest.mark.django_db
def test_qinbei_guide_explains_why_not_and_the_ordinary_channels(monkeypatch):
    freeze(monkeypatch)
    page = ask(
        "qinbei",
        **{
            **QINBEI_OK,
            "applicant_role": "father",
            "born_on": "2026-10-01",
            "foreign_parent": "yes",
        },
    )
    assert "暂不能通过“出生一件事”办理" in page
    assert "须由新生儿母亲申请，当前申请人身份为新生儿父亲" in page
    assert "已超过“出生1个月内”的办理期限" in page
    assert "港澳台" not in page and "香港居民、澳门居民、台湾居民、华侨、外国人" in page
    assert "到分娩的助产机构申领《出生医学证明》" in page  # 原渠道


@pytest.mark.django_db
def test_yuanling_guide_for_a_grandmother_with_authorization(monkeypatch):
    freeze(monkeypatch)
    page = ask(
        "yuanling",
        items="birth_certificate,birth_registration",
        applicant_role="grandparent",
        hospital_in_scope="yes",
        mother_known="yes",
        marital_status="married",
        foreign_parent="no",
        newborn_named="yes",
        local_hukou="yes",
        same_ethnicity="yes",
    )
    assert "可以申请“出生一件事”" in page
    assert "授权委托书" in page and "受托人居民身份证" in page
    assert "受托人限：祖父母、外祖父母" in page
    assert "分娩所在助产机构“一件事一次办”综合窗口" in page
    assert "/my/apply/yuanling/" not in page  # counter only


@pytest.mark.django_db
def test_yuanling_guide_turns_away_divorced_parents_and_unnamed_newborns(monkeypatch):
    freeze(monkeypatch)
    page = ask(
        "yuanling",
        items="birth_certificate",
        applicant_role="mother",
        hospital_in_scope="yes",
        mother_known="yes",
        marital_status="divorced",
        foreign_parent="no",
        newborn_named="no",
        local_hukou="yes",
        same_ethnicity="yes",
    )
    assert "父母离异或单亲的情形" in page and "新生儿尚未取名" in page


@pytest.mark.django_db
def test_unanswered_questions_are_asked_again(monkeypatch):
    freeze(monkeypatch)
    page = ask("qinbei", items="birth_certificate", applicant_role="mother")
    assert "请回答此问题" in page and "可以申请" not in page


@pytest.mark.django_db
def test_the_guide_starts_with_the_regions():
    page = Client().get("/my/guide/").content.decode()
    for region in ("qinbei", "lanzhou", "yuanling", "fuzhou", "jilin"):
        assert f'value="{region}"' in page


def test_questions_come_from_the_rules_of_every_pack():
    registry = default_packs()
    for region in registry.regions:
        pack = registry.current(region)
        assert pack is not None
        keys = [q.key for q in questions(pack)]
        assert len(keys) == len(set(keys)) and keys, region
    jilin = registry.current("jilin")
    assert jilin is not None
    jilin_keys = [q.key for q in questions(jilin)]
    assert "bmc_issued" in jilin_keys and "hukou_type" in jilin_keys
    assert "in_hospital" not in jilin_keys  # jilin has no in-hospital rule


def test_lanzhou_registration_window_is_judged_only_when_registration_is_chosen():
    pack = default_packs().current("lanzhou")
    assert pack is not None
    answers = {"born_on": date(2026, 10, 5), "applicant_role": "father"}
    with_registration = guide_result(pack, ["birth_registration"], answers, today=TODAY)
    assert [f.code for f in with_registration.findings] == ["outside_age_window"]
    assert "出生后一个月以内申报出生登记" in with_registration.findings[0].message
    without = guide_result(pack, ["vaccination_certificate"], answers, today=TODAY)
    assert without.eligible


def test_materials_follow_the_answers():
    pack = default_packs().current("jilin")
    assert pack is not None
    result = guide_result(
        pack,
        ["birth_registration", "social_security_card"],
        {"applicant_role": "grandparent", "bmc_issued": "yes", "hukou_type": "family"},
        today=TODAY,
    )
    codes = {m.code: m.conditional for m in result.materials}
    assert codes["authorization_letter"] is False and codes["trustee_id_card"] is False
    assert "mother_id_card" in codes and codes["mother_id_card"] is True  # depends on 落户方
    assert any("免申即享" in note for note in result.notes)
    refused = guide_result(
        pack,
        ["birth_registration"],
        {"applicant_role": "mother", "bmc_issued": "no", "hukou_type": "unit_collective"},
        today=TODAY,
    )
    assert {f.code for f in refused.findings} == {"bmc_missing", "collective_hukou_not_supported"}


def test_lanzhou_student_collective_hukou_is_routed_not_refused():
    """Seed 000 (二) 2 (issue 11, promise 9; ADR 0034): a student collective hukou does not
    make the bundle ineligible; the guide says the registration goes to the spouse's hukou."""
    pack = default_packs().current("lanzhou")
    assert pack is not None
    result = guide_result(
        pack,
        ["birth_certificate", "birth_registration"],
        {"applicant_role": "mother", "hukou_type": "student_collective"},
        today=TODAY,
    )
    assert result.eligible and not result.findings
    assert any("配偶" in note and "派出所" in note for note in result.notes)
