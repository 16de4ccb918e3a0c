"""Parenting guidance (科学育儿指导), pure: the baby's age, the visit calendar of the first
year and which articles fit an age. No Django (ADR 0040).

The visit calendar is the one of 国家基本公共卫生服务规范（第三版）0～6岁儿童健康管理服务规范,
which seed 002 六 names as where the guidance is given: "实施儿童健康管理新生儿访视和体检时，
对0-1岁婴儿的养育者提供喂养、辅食添加、心理行为发育、意外伤害预防、常见疾病防治等科学育儿指导":

- 新生儿家庭访视: within 7 days after the baby leaves hospital (出院后1周内);
- 新生儿满月健康管理: at 28–30 days after birth;
- 婴儿期健康管理: at 3, 6, 8 and 12 months of age.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

AgeUnit = Literal["day", "month"]

# The sections of the 0–1-year content, in the order parents read them (seed 002 六:
# 喂养、辅食添加、心理行为发育、意外伤害预防、常见疾病防治; plus the visits themselves, and
# a region's own services).
SECTIONS: dict[str, str] = {
    "feeding": "喂养",
    "complementary_food": "辅食",
    "development": "生长发育",
    "injury_prevention": "伤害预防",
    "common_illness": "常见病",
    "visits": "家庭访视与体检",
    "local": "本地服务",  # a region's own arrangements (ADR 0040 amendment)
}

FIRST_YEAR_DAYS = 366  # the content covers 0–1 year (出生至满1周岁)
HOME_VISIT_DAYS = 7  # 新生儿出院后1周内
FULL_MONTH_DAYS = (28, 30)  # 新生儿出生后28～30天
CHECKUP_MONTHS = (3, 6, 8, 12)  # 婴儿期 3、6、8、12月龄
CHECKUP_GRACE_DAYS = 14  # the platform's: a check-up shows as the next one until then


def add_months(day: date, months: int) -> date:
    """The same day ``months`` calendar months later; a day the month lacks is its last
    day (born on 31 January: one month old on 28/29 February)."""
    total = day.year * 12 + (day.month - 1) + months
    year, month = divmod(total, 12)
    month += 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


@dataclass(frozen=True)
class Age:
    """Age after birth: whole calendar months, the days beyond them, and days in all."""

    months: int
    days: int
    total_days: int

    @property
    def born(self) -> bool:
        return self.total_days >= 0

    def words(self) -> str:
        """As parents say it: 出生第5天, 2个月3天, 满1周岁."""
        if self.total_days < 0:
            return "尚未出生"
        if self.months == 0:
            return f"出生第{self.total_days + 1}天"
        if self.months >= 12:
            years, months = divmod(self.months, 12)
            return f"{years}岁{months}个月" if months else f"满{years}周岁"
        return f"{self.months}个月{self.days}天" if self.days else f"满{self.months}个月"


def age_on(born_on: date, today: date) -> Age:
    """The baby's age on ``today`` (the day of birth is day 0, age 0 months)."""
    total = (today - born_on).days
    if total < 0:
        return Age(months=-1, days=0, total_days=total)
    months = (today.year - born_on.year) * 12 + (today.month - born_on.month)
    if add_months(born_on, months) > today:
        months -= 1
    return Age(months=months, days=(today - add_months(born_on, months)).days, total_days=total)


@dataclass(frozen=True)
class AgeRange:
    """The ages an article is for: ``start`` ≤ age < ``end`` in days or in whole months."""

    unit: AgeUnit
    start: int
    end: int

    def __post_init__(self) -> None:
        if self.unit not in ("day", "month"):
            raise ValueError(f"age unit must be day or month, not {self.unit!r}")
        if not 0 <= self.start < self.end:
            raise ValueError(f"age range {self.start}–{self.end} is empty or negative")
        limit = 12 if self.unit == "month" else FIRST_YEAR_DAYS
        if self.end > limit:
            raise ValueError(f"the content covers the first year (end ≤ {limit} {self.unit}s)")

    def holds(self, age: Age) -> bool:
        if not age.born:
            return False
        value = age.months if self.unit == "month" else age.total_days
        return self.start <= value < self.end

    def words(self) -> str:
        """出生0～28天, 3～6月龄."""
        if self.unit == "day":
            return f"出生{self.start}～{self.end}天"
        return f"{self.start}～{self.end}月龄"

    def sort_key(self) -> tuple[int, int]:
        """Earliest first, in days (a month counted as 30 days for ordering only)."""
        scale = 30 if self.unit == "month" else 1
        return (self.start * scale, self.end * scale)


@dataclass(frozen=True)
class Visit:
    """One visit of the first year: what it is, from when and by when."""

    code: str
    name: str
    earliest: date
    due: date
    where: str
    # A check-up is shown as its day (满3月龄 on …); it counts as past two weeks later.
    single_day: bool = False

    def state_on(self, today: date) -> Literal["past", "now", "coming"]:
        if today > self.due:
            return "past"
        return "now" if today >= self.earliest else "coming"


def visit_schedule(born_on: date, *, discharged_on: date | None = None) -> list[Visit]:
    """The visits of the first year, in time order (国家基本公共卫生服务规范 0～6岁儿童健康管理).
    Without a discharge date the home visit is counted from the day of birth (the latest
    it can be due for a baby still in hospital is later; the visit doctor arranges it)."""
    home_from = discharged_on if discharged_on is not None and discharged_on >= born_on else born_on
    visits = [
        Visit(
            code="home_visit",
            name="新生儿家庭访视",
            earliest=home_from,
            due=home_from + timedelta(days=HOME_VISIT_DAYS),
            where="社区卫生服务中心或乡镇卫生院医生上门",
        ),
        Visit(
            code="full_month",
            name="满月健康管理",
            earliest=born_on + timedelta(days=FULL_MONTH_DAYS[0]),
            due=born_on + timedelta(days=FULL_MONTH_DAYS[1]),
            where="社区卫生服务中心或乡镇卫生院",
        ),
    ]
    for months in CHECKUP_MONTHS:
        on = add_months(born_on, months)
        visits.append(
            Visit(
                code=f"checkup_{months}m",
                name=f"{months}月龄健康检查",
                earliest=on,
                due=on + timedelta(days=CHECKUP_GRACE_DAYS),
                where="社区卫生服务中心或乡镇卫生院",
                single_day=True,
            )
        )
    return visits


def next_visit(visits: Sequence[Visit], today: date) -> Visit | None:
    """The first visit not yet past on ``today`` (None after the 12-month check-up)."""
    return next((v for v in visits if v.state_on(today) != "past"), None)


@dataclass(frozen=True)
class Piece:
    """What the selection needs of an article (the models carry the rest)."""

    key: object
    section: str
    ages: AgeRange


def for_age(pieces: Iterable[Piece], age: Age) -> list[Piece]:
    """The pieces for ``age``, by section (in ``SECTIONS`` order), then earliest first."""
    order = {code: n for n, code in enumerate(SECTIONS)}
    chosen = [p for p in pieces if p.ages.holds(age)]
    return sorted(chosen, key=lambda p: (order.get(p.section, 99), p.ages.sort_key()))
