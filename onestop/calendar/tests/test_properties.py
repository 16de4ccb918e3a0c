"""Properties of the calendar and the clock rules over the whole table (2004–2026)."""

from datetime import date, datetime, time, timedelta, timezone, tzinfo

from hypothesis import given, settings
from hypothesis import strategies as st

from onestop.calendar.clock_rules import ClockRule, due_time, extend_for_pause
from onestop.calendar.domain import load_default_calendar
from onestop.core.clock import BEIJING, to_beijing

CAL = load_default_calendar()
EXAMPLES = settings(max_examples=200, deadline=None)

# Early enough in 2026 that 90 working days (test_add_then_count, the longest walk) still
# end inside the table (2026): from 31 August they could reach January 2027.
LAST_START = date(2026, 7, 31)
days = st.dates(min_value=date(2004, 1, 1), max_value=LAST_START)
limits = st.integers(min_value=0, max_value=40)
rules = st.sampled_from(list(ClockRule))
# Any fixed offset to the minute (odd ones included), or none (read as Beijing time).
offsets: st.SearchStrategy[tzinfo] = st.integers(min_value=-14 * 60, max_value=14 * 60).map(
    lambda minutes: timezone(timedelta(minutes=minutes))
)
FIRST_RECEIVED, LAST_RECEIVED = datetime(2004, 1, 2), datetime(2026, 8, 30)
received_times = st.one_of(
    st.datetimes(min_value=FIRST_RECEIVED, max_value=LAST_RECEIVED, timezones=offsets),
    st.datetimes(min_value=FIRST_RECEIVED, max_value=LAST_RECEIVED),
)
gaps = st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=5))


def is_due_shape(due: datetime) -> bool:
    return due.utcoffset() == timedelta(hours=8) and due.time() in (
        time(23, 59, 59),
        time(12, 0, 0),
    )


@EXAMPLES
@given(rules, received_times, limits)
def test_due_falls_on_a_working_day(rule, received, n):
    due = due_time(CAL, rule, received, n)
    assert is_due_shape(due)
    assert CAL.is_working_day(due.date())
    if n >= 1:
        assert due > to_beijing(received)
    else:
        assert due.date() >= to_beijing(received).date()


@EXAMPLES
@given(rules, received_times, limits)
def test_due_is_monotonic_in_the_limit(rule, received, n):
    assert due_time(CAL, rule, received, n) <= due_time(CAL, rule, received, n + 1)


@EXAMPLES
@given(rules, received_times, gaps, limits)
def test_due_is_monotonic_in_the_receipt_time(rule, received, gap, n):
    assert due_time(CAL, rule, received, n) <= due_time(CAL, rule, received + gap, n)


@EXAMPLES
@given(rules, st.dates(min_value=date(2004, 1, 1), max_value=LAST_START), limits)
def test_due_is_monotonic_across_the_day(rule, day, n):
    # Walk the boundaries of one day: 07:59:59, 08:00, 12:00, 12:00:01, 23:59:59 Beijing.
    moments = [
        datetime.combine(day, time(h, m, s), BEIJING)
        for h, m, s in [(0, 0, 0), (7, 59, 59), (8, 0, 0), (12, 0, 0), (12, 0, 1), (23, 59, 59)]
    ]
    moments.append(moments[0] + timedelta(days=1))
    dues = [due_time(CAL, rule, moment, n) for moment in moments]
    assert dues == sorted(dues)


@EXAMPLES
@given(days, st.integers(min_value=1, max_value=90))
def test_add_then_count(day, n):
    later = CAL.add_working_days(day, n)
    assert later > day
    assert CAL.is_working_day(later)
    assert CAL.working_days_between(day, later) == n
    assert CAL.working_days_between(day, later - timedelta(days=1)) == n - 1


@EXAMPLES
@given(days, st.integers(min_value=-5, max_value=120))
def test_count_matches_brute_force(start, span):
    end = start + timedelta(days=span)
    expected = sum(
        CAL.is_working_day(start + timedelta(days=i)) for i in range(1, max(span, 0) + 1)
    )
    assert CAL.working_days_between(start, end) == expected


@EXAMPLES
@given(rules, received_times, limits, gaps, gaps)
def test_pause_never_makes_the_due_earlier(rule, received, n, lead, length):
    due = due_time(CAL, rule, received, n)
    paused_at = received + lead
    resumed_at = paused_at + length
    extended = extend_for_pause(CAL, due, paused_at, resumed_at)
    assert extended >= due
    assert is_due_shape(extended)
    assert CAL.is_working_day(extended.date())
    lost = CAL.working_days_between(to_beijing(paused_at).date(), to_beijing(resumed_at).date())
    assert CAL.working_days_between(due.date(), extended.date()) == lost
