"""Composing pickup and mailing notices (pure, no database)."""

from __future__ import annotations

import datetime as dt

import pytest

from onestop.workflow.domain.delivery import (
    DEFAULT_OFFICE_HOURS,
    Place,
    format_day,
    mail_notice,
    mask_address,
    method_of,
    pickup_notice,
    result_of,
)


def test_items_with_a_physical_result_and_their_result_keys() -> None:
    assert result_of("birth_certificate") == "birth_certificate"
    assert result_of("vaccination_certificate") == "vaccination_certificate"
    assert result_of("birth_registration") == "household_register"
    assert result_of("social_security_card") == "social_security_card"
    assert result_of("medical_insurance_enrolment") is None
    assert result_of("parenting_guidance") is None


@pytest.mark.parametrize(
    ("choice", "method"),
    [
        ({"method": "mail"}, "mail"),
        ({"method": "pickup", "by": "mother"}, "pickup"),
        ({}, "pickup"),
        (None, "pickup"),
        ("mail", "pickup"),  # not a section: the default
    ],
)
def test_pickup_is_the_default_method(choice: object, method: str) -> None:
    assert method_of(choice) == method


def test_pickup_notice_says_what_where_from_when_and_opening_hours() -> None:
    notice = pickup_notice(
        case_number="QINBEI-20261120-0001",
        item_name="《出生医学证明》办理（首签）",
        result="birth_certificate",
        place=Place("钦北区妇幼保健院", "钦州市钦北区永福西大街28号", "工作日 8:00–17:30"),
        from_day=dt.date(2026, 11, 23),
        by="mother",
    )
    assert notice.method == "pickup"
    assert notice.sms.startswith("【出生一件事】您的办件QINBEI-20261120-0001")
    for part in (
        "新生儿母亲",
        "2026年11月23日（星期一）",
        "钦北区妇幼保健院（钦州市钦北区永福西大街28号）",
        "工作日 8:00–17:30",
        "《出生医学证明》",
        "身份证",
    ):
        assert part in notice.sms
    assert "钦北区妇幼保健院" in notice.timeline and "2026年11月23日" in notice.timeline


def test_father_collecting_the_bmc_brings_the_mothers_authorization() -> None:
    notice = pickup_notice(
        case_number="N",
        item_name="BMC",
        result="birth_certificate",
        place=Place("医院"),
        from_day=None,
        by="father",
    )
    assert "新生儿父亲" in notice.sms and "授权委托书" in notice.sms
    # No calendar for the day: the notice still says when, without a wrong date.
    assert "自下一个工作日起" in notice.sms
    assert DEFAULT_OFFICE_HOURS in notice.sms


def test_mail_notice_masks_the_address_and_recipient() -> None:
    notice = mail_notice(
        case_number="QINBEI-20261120-0001",
        item_name="出生登记（户口登记）",
        result="household_register",
        address={
            "recipient": "黄丽",
            "phone": "13800000000",
            "address": "钦州市钦北区新棠镇新棠街12号",
        },
    )
    assert notice.method == "mail"
    assert "已交寄" in notice.sms and "新生儿户口登记页" in notice.sms
    assert "钦州市钦北区新棠镇****" in notice.sms
    assert "黄*" in notice.sms and "138****0000" in notice.sms
    for secret in ("新棠街12号", "13800000000", "黄丽"):
        assert secret not in notice.sms
        assert secret not in notice.timeline


def test_mail_notice_without_an_address_still_reads() -> None:
    notice = mail_notice(
        case_number="N", item_name="X", result="social_security_card", address=None
    )
    assert "已交寄" in notice.sms and "申请表填写的邮寄地址" in notice.sms


@pytest.mark.parametrize(
    ("address", "masked"),
    [
        ("钦州市钦北区新棠镇新棠街12号", "钦州市钦北区新棠镇****"),
        ("长春市南关区人民大街500号", "长春市南关区****"),
        ("福州市鼓楼区五四路1号", "福州市鼓楼区****"),
        ("某某路1号", "某某****"),
        ("", ""),
        (None, ""),
    ],
)
def test_mask_address(address: str | None, masked: str) -> None:
    assert mask_address(address) == masked


def test_format_day_names_the_weekday() -> None:
    assert format_day(dt.date(2026, 10, 8)) == "2026年10月8日（星期四）"
    assert format_day(dt.date(2026, 11, 29)) == "2026年11月29日（星期日）"
