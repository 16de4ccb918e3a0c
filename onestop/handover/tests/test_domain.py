"""The hand-over calendar without a database: periods, due days from the packs, reminders."""

from __future__ import annotations

from datetime import date

import pytest

from onestop.calendar.domain import load_default_calendar
from onestop.handover import domain
from onestop.policy.loader import default_packs


def _rule(region: str):
    pack = default_packs().current(region)
    assert pack is not None and pack.archive_handover is not None
    return pack.archive_handover


def test_qinbei_q4_2026_is_due_on_the_30th_of_december() -> None:
    rule = _rule("qinbei")
    assert rule.period == "quarterly" and rule.method == "in_person"
    period = domain.period_of(date(2026, 11, 20), rule.period)
    assert (period.code, period.label()) == ("2026Q4", "2026年第四季度")
    assert domain.due_on(period, rule.due.day) == date(2026, 12, 30)
    assert domain.due_on(domain.period_of(date(2027, 2, 1), "quarterly"), rule.due.day) == date(
        2027, 3, 30
    )


def test_yuanling_is_monthly_by_post_on_the_months_last_day() -> None:
    rule = _rule("yuanling")
    assert rule.period == "monthly" and rule.method == "post"
    assert rule.documents == ["bmc_household_copy", "ethnicity_confirmation_form"]
    november = domain.period_of(date(2026, 11, 20), rule.period)
    assert november.code == "2026-11"
    assert domain.due_on(november, rule.due.day) == date(2026, 11, 30)
    assert domain.due_on(domain.period_of(date(2027, 2, 3), "monthly"), rule.due.day) == date(
        2027, 2, 28
    )


def test_regions_without_a_handover_have_none() -> None:
    for region in ("lanzhou", "fuzhou", "jilin"):
        pack = default_packs().current(region)
        assert pack is not None and pack.archive_handover is None


def test_reminder_counts_working_days_back_from_the_due_day() -> None:
    calendar = load_default_calendar()
    # 2026-12-30 is a Wednesday: 5 working days before is Wednesday 23 December.
    assert domain.remind_on(date(2026, 12, 30), 5, calendar) == date(2026, 12, 23)
    assert domain.remind_on(date(2026, 12, 30), 1, calendar) == date(2026, 12, 29)


@pytest.mark.parametrize("code", ["2026Q4", "2027Q1"])
def test_quarter_codes_round_trip(code: str) -> None:
    assert domain.parse_period(code, "quarterly").code == code
    assert domain.parse_period("2026-12", "monthly").next().code == "2027-01"


def test_count_words() -> None:
    assert domain.Count(3, 3).words() == "清点无误，共3份"
    assert domain.Count(3, 2).words() == "移交3份，实收2份，相差1份"
