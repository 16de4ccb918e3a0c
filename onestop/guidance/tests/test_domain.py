"""The guidance core without a database: age, the visit calendar (国家基本公共卫生服务规范
0～6岁儿童健康管理; seed 002 六 "实施儿童健康管理新生儿访视和体检时…提供…科学育儿指导"), the
age ranges, and the shipped content file."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from onestop.core.written import written
from onestop.guidance import domain

DATA = Path(__file__).resolve().parent.parent / "data" / "articles.yaml"


def test_add_months_keeps_the_day_or_takes_the_month_end():
    assert domain.add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert domain.add_months(date(2028, 1, 31), 1) == date(2028, 2, 29)
    assert domain.add_months(date(2026, 11, 20), 3) == date(2027, 2, 20)
    assert domain.add_months(date(2026, 8, 31), 6) == date(2027, 2, 28)
    assert domain.add_months(date(2026, 12, 5), 12) == date(2027, 12, 5)


def test_age_in_months_and_days():
    born = date(2026, 1, 31)
    assert domain.age_on(born, born) == domain.Age(0, 0, 0)
    assert domain.age_on(born, born).words() == "出生第1天"
    assert domain.age_on(born, date(2026, 2, 27)).months == 0
    assert domain.age_on(born, date(2026, 2, 28)) == domain.Age(1, 0, 28)
    assert domain.age_on(born, date(2026, 2, 28)).words() == "满1个月"
    assert domain.age_on(date(2026, 9, 20), date(2026, 11, 25)).words() == "2个月5天"
    assert domain.age_on(date(2025, 11, 25), date(2026, 11, 25)).words() == "满1周岁"
    unborn = domain.age_on(date(2026, 12, 1), date(2026, 11, 25))
    assert not unborn.born and unborn.words() == "尚未出生"


@given(
    born=st.dates(min_value=date(2020, 1, 1), max_value=date(2030, 12, 31)),
    days=st.integers(min_value=0, max_value=800),
)
def test_age_is_consistent_with_the_calendar(born, days):
    today = born + timedelta(days=days)
    age = domain.age_on(born, today)
    assert age.total_days == days
    assert domain.add_months(born, age.months) <= today < domain.add_months(born, age.months + 1)
    assert domain.add_months(born, age.months) + timedelta(days=age.days) == today


def test_the_visit_calendar_of_the_first_year():
    born = date(2026, 9, 20)
    visits = {v.code: v for v in domain.visit_schedule(born)}
    assert list(visits) == [
        "home_visit",
        "full_month",
        "checkup_3m",
        "checkup_6m",
        "checkup_8m",
        "checkup_12m",
    ]
    # 新生儿家庭访视: within 7 days after discharge (counted from birth without a date).
    assert (visits["home_visit"].earliest, visits["home_visit"].due) == (
        date(2026, 9, 20),
        date(2026, 9, 27),
    )
    # 满月健康管理: 28–30 days after birth.
    assert (visits["full_month"].earliest, visits["full_month"].due) == (
        date(2026, 10, 18),
        date(2026, 10, 20),
    )
    # 3, 6, 8, 12 months of age.
    assert [visits[f"checkup_{m}m"].earliest for m in (3, 6, 8, 12)] == [
        date(2026, 12, 20),
        date(2027, 3, 20),
        date(2027, 5, 20),
        date(2027, 9, 20),
    ]
    assert all(visits[f"checkup_{m}m"].single_day for m in (3, 6, 8, 12))
    assert not visits["full_month"].single_day
    # As people write them.
    assert written(visits["checkup_3m"].earliest) == "2026年12月20日"


def test_the_home_visit_counts_from_discharge_when_known():
    born = date(2026, 9, 20)
    home = domain.visit_schedule(born, discharged_on=date(2026, 9, 23))[0]
    assert (home.earliest, home.due) == (date(2026, 9, 23), date(2026, 9, 30))
    # A discharge before birth is a typing error: counted from birth.
    home = domain.visit_schedule(born, discharged_on=date(2026, 9, 1))[0]
    assert home.earliest == born


def _next(visits: list[domain.Visit], today: date) -> domain.Visit:
    found = domain.next_visit(visits, today)
    assert found is not None
    return found


def test_the_next_visit_by_age():
    born = date(2026, 9, 20)
    visits = domain.visit_schedule(born)
    assert _next(visits, born).code == "home_visit"
    assert _next(visits, date(2026, 9, 28)).code == "full_month"
    assert _next(visits, date(2026, 10, 19)).code == "full_month"
    assert _next(visits, date(2026, 10, 19)).state_on(date(2026, 10, 19)) == "now"
    two_months = born + timedelta(days=65)
    assert _next(visits, two_months).code == "checkup_3m"
    assert _next(visits, two_months).state_on(two_months) == "coming"
    assert domain.next_visit(visits, date(2027, 10, 20)) is None


def test_age_ranges_in_days_and_months():
    newborn = domain.AgeRange("day", 0, 28)
    assert newborn.holds(domain.age_on(date(2026, 1, 1), date(2026, 1, 28)))
    assert not newborn.holds(domain.age_on(date(2026, 1, 1), date(2026, 1, 29)))
    months = domain.AgeRange("month", 1, 3)
    born = date(2026, 1, 31)
    assert not months.holds(domain.age_on(born, date(2026, 2, 27)))
    assert months.holds(domain.age_on(born, date(2026, 2, 28)))
    assert months.holds(domain.age_on(born, date(2026, 4, 29)))
    assert not months.holds(domain.age_on(born, date(2026, 4, 30)))
    assert not months.holds(domain.age_on(born, date(2026, 1, 1)))  # not born yet
    assert months.words() == "1～3月龄" and newborn.words() == "出生0～28天"
    for bad in (("week", 0, 1), ("month", 3, 3), ("month", 0, 13), ("day", 0, 400)):
        with pytest.raises(ValueError):
            domain.AgeRange(*bad)  # type: ignore[arg-type]


def test_pieces_for_an_age_by_section_then_earliest():
    pieces = [
        domain.Piece("visits", "visits", domain.AgeRange("month", 1, 12)),
        domain.Piece("late-feeding", "feeding", domain.AgeRange("month", 6, 12)),
        domain.Piece("feeding", "feeding", domain.AgeRange("month", 0, 6)),
        domain.Piece("newborn", "feeding", domain.AgeRange("day", 0, 30)),
        domain.Piece("sleep", "injury_prevention", domain.AgeRange("month", 0, 12)),
    ]
    age = domain.age_on(date(2026, 9, 20), date(2026, 11, 25))  # 2 months 5 days
    assert [p.key for p in domain.for_age(pieces, age)] == ["feeding", "sleep", "visits"]


def _shipped() -> list[dict[str, Any]]:
    articles: list[dict[str, Any]] = yaml.safe_load(DATA.read_text(encoding="utf-8"))["articles"]
    return articles


def test_the_shipped_content_is_valid_and_covers_every_month_of_the_first_year():
    articles = _shipped()
    codes = [a["code"] for a in articles]
    assert len(codes) == len(set(codes))
    # Every section but a region's own services (regional_articles.yaml).
    assert {a["section"] for a in articles} == set(domain.SECTIONS) - {"local"}
    pieces = []
    for a in articles:
        ages = domain.AgeRange(a["ages"]["unit"], a["ages"]["start"], a["ages"]["end"])
        assert a["title"].strip() and len(a["title"]) <= 80
        assert 50 <= len(a["body"]) <= 4000, a["code"]
        pieces.append(domain.Piece(a["code"], a["section"], ages))
    born = date(2026, 1, 15)
    for month in range(12):
        for extra in (0, 15):
            age = domain.age_on(born, domain.add_months(born, month) + timedelta(days=extra))
            chosen = domain.for_age(pieces, age)
            sections = {p.section for p in chosen}
            # Every age sees feeding, development, injury prevention, illness and visits.
            assert {
                "feeding",
                "development",
                "injury_prevention",
                "common_illness",
                "visits",
            } <= sections, (month, extra, sections)
    # Complementary food starts around 6 months (满6月龄开始添加辅食), not for a newborn.
    newborn = domain.age_on(born, born + timedelta(days=10))
    assert "complementary_food" not in {p.section for p in domain.for_age(pieces, newborn)}
    six = domain.age_on(born, domain.add_months(born, 6))
    assert "complementary_food" in {p.section for p in domain.for_age(pieces, six)}


def test_the_shipped_content_states_the_national_visit_calendar():
    text = "".join(a["body"] for a in _shipped() if a["section"] == "visits")
    for words in ("出院后1周内", "28～30天", "3、6、8、12月龄"):
        assert words in text


REGIONAL = DATA.parent / "regional_articles.yaml"
SEEDS = Path(__file__).resolve().parents[3] / "docs" / "seeds"
REGION_SEEDS = {
    "lanzhou": "000",
    "yuanling": "001",
    "qinbei": "002",
    "fuzhou": "003",
    "jilin": "004",
}


def _plain(text: str) -> str:
    import re
    import unicodedata

    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


def test_every_region_has_its_own_articles_quoting_its_seed_and_no_phone_number():
    """ADR 0040 amendment: each region's own items, only facts of its seed (each quote is a
    quotation of the region's seed), no invented phone numbers (the pack's contacts are
    shown beside them, one definition)."""
    import re

    articles = yaml.safe_load(REGIONAL.read_text(encoding="utf-8"))["articles"]
    national = {a["code"] for a in _shipped()}
    assert {a["region"] for a in articles} == set(REGION_SEEDS)
    for a in articles:
        assert a["code"] not in national
        assert a["section"] in domain.SECTIONS
        domain.AgeRange(a["ages"]["unit"], a["ages"]["start"], a["ages"]["end"])
        assert a["seed"] == REGION_SEEDS[a["region"]], a["code"]
        seed = next(SEEDS.glob(f"{a['seed']}_*.txt"))
        text = _plain(seed.read_text(encoding="utf-8"))
        assert a["quotes"], a["code"]
        for quote in a["quotes"]:
            assert _plain(quote) in text, (a["code"], quote)
        assert not re.search(r"\d{3,4}-\d{7,8}|1\d{10}", a["body"]), a["code"]
        assert len(a["title"]) <= 80 and 30 <= len(a["body"]) <= 4000
