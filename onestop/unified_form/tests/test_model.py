"""The unified form's model, without Django: the same sections for every channel, driven by
the pack and the reference data; names and dates as people read them."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest

from onestop.core.written import written
from onestop.eligibility.check import check_case
from onestop.policy.loader import default_packs
from onestop.reference.domain import default_reference
from onestop.unified_form.model import (
    FormContext,
    Spec,
    build_document,
    choices,
    display,
    section_title,
    sections,
    summary,
    value_name,
)

NOW = datetime(2026, 11, 20, 10, 0, tzinfo=timezone(timedelta(hours=8)))


def context(region: str, document: dict[str, Any], channel: str = "online") -> FormContext:
    pack = default_packs().current(region)
    assert pack is not None
    return FormContext(pack, default_reference(), document, channel=channel)


def keys(ctx: FormContext) -> list[str]:
    return [section.key for section in sections(ctx)]


@pytest.mark.parametrize(
    ("value", "language", "date_only", "expected"),
    [
        ("2026-11-22T08:20:00+08:00", "zh-hans", False, "2026年11月22日 08:20"),
        ("2026-11-22T00:20:00Z", "zh-hans", False, "2026年11月22日 08:20"),  # Beijing time
        ("2026-11-22T08:20:00+08:00", "zh-hans", True, "2026年11月22日"),
        ("2026-01-05", "zh-hans", False, "2026年1月5日"),
        (date(2026, 11, 22), "en", False, "22 Nov 2026"),
        (datetime(2026, 11, 22, 8, 20, tzinfo=UTC), "en", False, "22 Nov 2026 16:20"),
        ("", "zh-hans", False, ""),
        (None, "zh-hans", False, ""),
        ("not a time", "zh-hans", False, "not a time"),
    ],
)
def test_dates_are_written_as_people_write_them(value, language, date_only, expected):
    assert written(value, language=language, date_only=date_only) == expected


def test_one_block_per_newborn_for_twins():
    single = context("qinbei", {"items": ["birth_certificate"], "newborns": [{}]})
    twins = context("qinbei", {"items": ["birth_certificate"], "newborns": [{}, {}]})
    assert "newborn_2" not in keys(single)
    assert "newborn_2" in keys(twins) and "newborn_3" not in keys(twins)
    block = next(s for s in sections(twins) if s.key == "newborn_2")
    assert section_title(block) == "第2名新生儿"
    paths = [spec.path for spec in block.specs]
    assert "newborns[1].born_at" in paths and "newborns[1].hospital" in paths
    assert "newborns[1].gestational_weeks" in paths  # the BMC's fields, per newborn


def test_twins_make_one_case_that_pre_review_accepts(example):
    raw = example("qinbei-accept")
    raw.pop("submitted_at")
    second = dict(raw["newborns"][0], name="覃沐晨", sex="2", record_number="ZY2026-11-0043")
    second.pop("hospital")  # the same hospital as the first: not entered twice
    raw["newborns"].append(second)
    ctx = context("qinbei", raw)
    document = build_document(ctx, phone="13800000000", materials=raw["materials"], now=NOW)
    assert len(document["newborns"]) == 2
    assert document["newborns"][1]["hospital"] == "qinbei-mch"
    decision = check_case(document, packs=default_packs(), reference=default_reference(), now=NOW)
    assert decision.outcome.value == "accept", decision.as_json()["reasons"]


def test_the_counter_asks_for_the_applicant_first_and_online_does_not():
    doc = {"items": ["birth_registration"], "applicant": {"role": "grandparent"}}
    counter = context("jilin", doc, channel="counter")
    online = context("yuanling", doc)
    assert keys(counter)[0] == "applicant"
    applicant = sections(counter)[0]
    assert [s.path for s in applicant.specs] == [
        "applicant.name",
        "applicant.id_number",
        "applicant.phone",
    ]
    assert "authorization" in keys(counter)  # 经签字授权后办理
    assert "applicant.phone" not in [s.path for x in sections(online) for s in x.specs]


def test_only_the_regions_items_make_sections():
    # 吉林 offers no BMC at all (已在助产机构为新生儿办理《出生医学证明》): no BMC fields.
    ctx = context(
        "jilin", {"items": ["birth_certificate", "birth_registration"]}, channel="counter"
    )
    assert ctx.chosen == ("birth_registration",)
    paths = [s.path for x in sections(ctx) for s in x.specs]
    assert "newborns[0].gestational_weeks" not in paths
    assert "birth_registration.bmc_number" in paths  # the BMC issued before


def test_pickers_put_the_regions_places_first_and_the_counter_offers_only_those():
    hospital = Spec("newborns[0].hospital", "choice", "hospitals")
    online = context("lanzhou", {"items": ["birth_certificate"]})
    (local, inside), (_other, outside) = choices(hospital, online)
    assert local == "本地助产机构"  # 在甘肃省内助产机构出生的新生儿
    assert ("lanzhou-mch", "兰州市妇幼保健院") in inside and "tianshui-demo" in dict(inside)
    assert "qinbei-mch" not in dict(inside) and "qinbei-mch" in dict(outside)
    ctx = context("jilin", {"items": ["birth_registration"]}, channel="counter")
    assert dict(choices(hospital, ctx)) == {
        "changchun-mch": "长春市妇产医院",
        "jilin-city-mch": "吉林市妇幼保健院",
    }
    stations = choices(Spec("birth_registration.police_station", "choice", "police_stations"), ctx)
    assert dict(stations) == {"jilin-ps": "长春市公安局南关分局示范派出所"}
    places = choices(Spec("mother.hukou_division", "division"), ctx)
    local_places = dict(places[0][1])
    assert local_places["220102"] == "吉林省长春市南关区"
    assert all(code.startswith("22") for code in local_places)


def test_values_read_as_names_and_dates():
    ref = default_reference()
    assert value_name(ref, "newborns.hospital", "changchun-mch") == "长春市妇产医院"
    assert value_name(ref, "birth_registration.police_station", "jilin-ps") == (
        "长春市公安局南关分局示范派出所"
    )
    assert value_name(ref, "mother.ethnicity", "15") == "土家族"
    assert value_name(ref, "mother.ethnicity", "15", language="en") == "Tujia"
    assert value_name(ref, "father.hukou_division", "220102") == "吉林省长春市南关区"
    assert value_name(ref, "newborns.born_at", "2026-11-01T09:00:00+08:00") == (
        "2026年11月1日 09:00"
    )
    assert value_name(ref, "authorization.valid_to", "2026-12-31") == "2026年12月31日"
    assert value_name(ref, "mother.name", "赵娜") is None


def test_the_summary_is_in_form_order_with_names_and_unmasked_only_for_print(example):
    raw = example("jilin-accept-counter")
    ctx = context("jilin", raw, channel="counter")
    printed = summary(ctx, raw, masked=False)
    titles = [title for title, _rows in printed]
    assert titles.index("申请人联系方式") < titles.index("新生儿") < titles.index("父亲信息")
    rows = {row.label: row.value for _title, group in printed for row in group}
    assert rows["出生医疗机构"] == "长春市妇产医院"
    assert rows["新生儿出生时间"] == "2026年11月1日 09:00"
    assert rows["母亲身份证号码"] == raw["mother"]["id_number"]
    screen = {row.label: row.value for _t, group in summary(ctx, raw) for row in group}
    assert screen["母亲身份证号码"] != raw["mother"]["id_number"]  # masked on screen
    spec = Spec("newborns[0].born_at", "datetime")
    assert "T" not in display(spec, ctx, "2026-11-01T09:00:00+08:00")
