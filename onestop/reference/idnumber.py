"""Resident ID numbers (GB 11643) and masking of personal data for display."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Literal

from stdnum.cn import ric

IdProblem = Literal["length", "format", "division", "birth_date", "check_digit"]

ID_LENGTH = 18
EARLIEST_BIRTH_DATE = date(1900, 1, 1)

_FORMAT = re.compile(r"[0-9]{17}[0-9X]")

# GB 11643 § 5.2: the first six digits are the GB/T 2260 division of the permanent
# residence, whose first two are a province-level code. 81/82/83 are the Hong Kong, Macao
# and Taiwan residents' residence permits (810000…, 820000…, 830000…); a leading 9 is the
# foreigners' permanent residence ID card of 2023, which uses the same check digit.
PROVINCE_CODES = frozenset(
    {
        "11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35",
        "36", "37", "41", "42", "43", "44", "45", "46", "50", "51", "52", "53", "54",
        "61", "62", "63", "64", "65", "71", "81", "82", "83",
    }
)  # fmt: skip

# Two-character surnames kept whole by ``mask_name`` (欧阳娜娜 → 欧阳**).
_COMPOUND_SURNAMES = frozenset(
    {
        "欧阳", "司马", "上官", "诸葛", "东方", "皇甫", "尉迟", "公孙", "慕容", "令狐",
        "长孙", "宇文", "司徒", "夏侯", "轩辕", "端木", "独孤", "南宫", "西门", "百里",
        "呼延", "澹台", "万俟", "闻人", "东郭", "申屠", "太史", "钟离", "赫连", "濮阳",
        "公冶", "宗政", "单于", "淳于", "拓跋", "司空", "鲜于", "闾丘", "仲孙", "亓官",
        "乐正", "梁丘", "左丘", "第五", "公羊", "谷梁", "段干", "巫马", "漆雕", "壤驷",
    }
)  # fmt: skip


class InvalidIdNumber(ValueError):
    """A resident ID number that fails GB 11643; ``message`` is Chinese for the applicant."""

    code = "invalid_id_number"

    def __init__(self, problem: IdProblem, message: str) -> None:
        super().__init__(message)
        self.problem: IdProblem = problem
        self.message = message


@dataclass(frozen=True)
class ResidentId:
    """A parsed resident ID number; ``sex`` is the GB/T 2261.1 code (1 male, 2 female)."""

    number: str
    division: str
    birth_date: date
    sex: str


def _normalize(value: str) -> str:
    return value.strip().upper()


def _birth_date(number: str) -> date | None:
    try:
        return date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return None


def _plausible_division(division: str) -> bool:
    """Six digits starting with a province-level code (or 9: a foreigner's permanent ID)."""
    return (
        len(division) == 6
        and division.isdigit()
        and (division[:2] in PROVINCE_CODES or division[0] == "9")
    )


def _check_digit(first17: str) -> str:
    """The GB 11643 check digit of the first 17 digits."""
    return str(ric.calc_check_digit(first17 + "0"))


def parse_resident_id(value: str, *, today: date | None = None) -> ResidentId:
    """Parse and check an 18-character resident ID number.

    Surrounding whitespace is ignored and a lowercase x is accepted. The embedded
    division must start with a province-level code (its county is not looked up). With
    ``today``, a birth date after it is rejected.
    Raises ``InvalidIdNumber``.
    """
    if not isinstance(value, str):
        raise InvalidIdNumber("format", "身份证号码格式不正确")
    number = _normalize(value)
    if not number:
        raise InvalidIdNumber("length", "请填写身份证号码")
    if len(number) != ID_LENGTH:
        raise InvalidIdNumber("length", f"身份证号码应为18位，当前为{len(number)}位，请核对")
    if not _FORMAT.fullmatch(number):
        raise InvalidIdNumber("format", "身份证号码只能包含数字，最后一位可以是X")
    if not _plausible_division(number[:6]):
        raise InvalidIdNumber(
            "division", "身份证号码前6位（行政区划代码）不是有效的省级代码开头，请核对"
        )
    birth = _birth_date(number)
    if birth is None:
        raise InvalidIdNumber("birth_date", "身份证号码中的出生日期不存在，请核对")
    if birth < EARLIEST_BIRTH_DATE:
        raise InvalidIdNumber("birth_date", "身份证号码中的出生日期早于1900年，请核对")
    if today is not None and birth > today:
        raise InvalidIdNumber("birth_date", "身份证号码中的出生日期晚于今天，请核对")
    if number[-1] != _check_digit(number[:17]):
        raise InvalidIdNumber("check_digit", "身份证号码校验位不正确，请核对")
    return ResidentId(
        number=number,
        division=number[:6],
        birth_date=birth,
        sex="1" if int(number[16]) % 2 == 1 else "2",
    )


def is_valid_resident_id(value: object, *, today: date | None = None) -> bool:
    """Whether ``value`` is a valid resident ID number (see ``parse_resident_id``)."""
    if not isinstance(value, str):
        return False
    try:
        parse_resident_id(value, today=today)
    except InvalidIdNumber:
        return False
    return True


def make_resident_id(division: str, birth: date, seq: int, sex: str) -> str:
    """Build a valid number: ``seq`` (0–499) is the person's index among those of ``sex``.

    The order code is ``2 * seq + 1`` for a man and ``2 * seq`` for a woman, so its
    last digit has the parity GB 11643 requires. Raises ``ValueError`` on bad input.
    """
    if not re.fullmatch(r"[0-9]{6}", division) or not _plausible_division(division):
        raise ValueError(f"division must be six digits of a province's code, got {division!r}")
    if not EARLIEST_BIRTH_DATE <= birth <= date(9999, 12, 31):
        raise ValueError(f"birth date out of range: {birth}")
    if sex not in ("1", "2"):
        raise ValueError(f"sex must be '1' or '2', got {sex!r}")
    if not 0 <= seq <= 499:
        raise ValueError(f"seq must be within 0..499, got {seq}")
    order = 2 * seq + (1 if sex == "1" else 0)
    first17 = f"{division}{birth:%Y%m%d}{order:03d}"
    return first17 + _check_digit(first17)


def _mask(value: str | None, head: int, tail: int) -> str:
    """Keep ``head`` and ``tail`` characters, star the rest; shorter input keeps less."""
    if not isinstance(value, str):
        return ""
    text = value.strip()
    length = len(text)
    if length - head - tail < 4:
        head = tail = length // 4
    return text[:head] + "*" * (length - head - tail) + text[length - tail :]


def mask_id_number(value: str | None) -> str:
    """450703199203150028 → 450703********0028. Never raises."""
    return _mask(value, 6, 4)


def mask_phone(value: str | None) -> str:
    """13800000000 → 138****0000. Never raises."""
    return _mask(value, 3, 4)


def mask_name(value: str | None) -> str:
    """Keep the surname: 黄丽 → 黄*, 欧阳娜娜 → 欧阳**. Never raises."""
    if not isinstance(value, str):
        return ""
    text = value.strip()
    if len(text) <= 1:
        return "*" * len(text)
    keep = 2 if len(text) > 2 and text[:2] in _COMPOUND_SURNAMES else 1
    return text[:keep] + "*" * (len(text) - keep)
