"""The service guide generator (pure: no database): every region's guide from its pack."""

from __future__ import annotations

import json

import pytest

from onestop.eligibility.guide_book import guide_markdown, reason_codes, service_guide
from onestop.eligibility.reasons import REASON_KINDS
from onestop.policy.loader import default_packs

REGIONS = ("fuzhou", "jilin", "lanzhou", "qinbei", "yuanling")


def pack(region):
    found = default_packs().current(region)
    assert found is not None
    return found


@pytest.mark.parametrize("region", REGIONS)
def test_the_guide_covers_every_offered_item_in_dependency_order(region):
    p = pack(region)
    guide = service_guide(p)
    assert [i.code for i in guide.items] == list(p.offered)
    flat = [code for step in guide.flow for code in step]
    assert sorted(flat) == sorted(p.offered)  # each item once
    step_of = {code: n for n, step in enumerate(guide.flow) for code in step}
    for entry in p.items:
        for before in entry.after:
            assert step_of[before] < step_of[entry.item], (entry.item, before)
    for item in guide.items:
        assert item.step == step_of[item.code] + 1
        assert item.name and item.department_name  # names, not codes
        assert item.name != item.code
    assert guide.reasons and all(
        r.code in REASON_KINDS or r.code in p.reasons for r in guide.reasons
    )
    assert set(reason_codes(p)) == {r.code for r in guide.reasons}


@pytest.mark.parametrize("region", REGIONS)
def test_json_and_markdown_say_the_same_guide(region):
    guide = service_guide(pack(region))
    body = json.loads(json.dumps(guide.as_json(), ensure_ascii=False))
    assert body["region"] == region and body["format"] == 1
    for key in ("who_may_apply", "conditions", "items", "materials", "flow", "contacts", "fees"):
        assert key in body
    text = guide_markdown(guide)
    for heading in (
        "## 申请人",
        "## 受理条件",
        "## 办理事项",
        "## 办理流程",
        "## 申请材料",
        "## 结果送达",
        "## 收费",
        "## 咨询电话",
    ):
        assert heading in text
    for item in guide.items:
        assert item.name in text
    for contact in guide.contacts:
        for phone in contact.phones:
            assert phone in text
    # No placeholder is left for people to read.
    assert "{" not in text


def test_qinbei_phones_come_from_the_seed_table():
    # Seed 002, 新生儿出生“一件事”事项咨询电话: 出生登记 (公安部门) 钦北区: 0777-2819439
    guide = service_guide(pack("qinbei"))
    registration = next(i for i in guide.items if i.code == "birth_registration")
    assert [c.phones for c in registration.contacts] == [["0777-2819439"]]
    bmc = next(i for i in guide.items if i.code == "birth_certificate")
    assert len(bmc.contacts) == 14  # one number per midwifery institution
    reimbursement = next(i for i in guide.items if i.code == "maternity_reimbursement")
    assert {c.note for c in reimbursement.contacts} == {"职工生育", "居民生育"}
    assert guide.overall_time_limit is not None and guide.overall_time_limit.text == "33个工作日"
    limits = {i.code: i.time_limit.text for i in guide.items}
    assert limits["birth_registration"] == "2个工作日"


def test_jilin_12333_and_lanzhou_12345():
    jilin = service_guide(pack("jilin"))
    card = next(i for i in jilin.items if i.code == "social_security_card")
    assert ["12333"] in [c.phones for c in card.contacts]  # seed 004: 可拨打咨询电话 12333
    assert any("邮寄费用由申请人承担" in f.amount for f in card.fees)
    lanzhou = service_guide(pack("lanzhou"))
    whole = [c for c in lanzhou.contacts if not c.items]
    assert [c.phones for c in whole] == [["12345"]]  # the pack's, not added twice
    for region in REGIONS:  # every guide names the hotline it serves
        assert ["12345"] in [c.phones for c in service_guide(pack(region)).contacts]
    # The plan's liaison officers' mobile numbers are not published.
    assert "18193176060" not in guide_markdown(lanzhou)


def test_conditions_read_the_rules():
    lanzhou = service_guide(pack("lanzhou"))
    texts = [c.text for c in lanzhou.conditions]
    assert "在甘肃省内具备助产资质的医疗机构出生" in texts
    assert any("兰州市" in t for t in texts)
    assert lanzhou.who_may_apply == "新生儿父母（监护人）"
    first = lanzhou.flow[0]
    assert "birth_certificate" in first and "birth_registration" not in first


@pytest.mark.parametrize(
    ("region", "offered"),
    [
        ("lanzhou", "item"),
        ("qinbei", "item"),
        ("jilin", "item"),
        ("fuzhou", "content"),
        ("yuanling", "content"),
    ],
)
def test_every_guide_says_how_parenting_guidance_is_given(region, offered):
    """Issue 12 part 3: all five regions' parents get guidance. Lanzhou, Qinbei and Jilin
    by their registration item (seed 002 六); Fuzhou and Yuanling, whose seeds name no such
    item, as content and visit dates without one (ADR 0040 amendment)."""
    p = pack(region)
    guide = service_guide(p)
    assert guide.guidance is not None and guide.guidance["offered"] == offered
    text = guide.guidance["text"]
    assert "育儿指导" in text and "体检" in text
    markdown = guide_markdown(guide)
    assert "## 科学育儿指导" in markdown and text in markdown
    assert json.loads(json.dumps(guide.as_json()))["guidance"]["offered"] == offered
    if offered == "item":
        assert guide.guidance["item"] == "parenting_guidance"
        assert "parenting_guidance" in [i.code for i in guide.items]
    else:
        assert guide.guidance["item"] is None and "无需另行登记" in text
        # No department step the seed does not list.
        assert "parenting_guidance" not in [i.code for i in guide.items]
    if region == "jilin":
        assert "免申即享" in text
