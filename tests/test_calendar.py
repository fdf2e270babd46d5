"""Working days follow China's statutory calendar where the package knows it, and alarm where it does not."""

from __future__ import annotations

from datetime import date, datetime

from activities.calendar import calendar_for_filing, work_calendar
from schemas.calendar import CHINA_TIME
from schemas.common import parse_duration


def test_a_national_day_weekday_is_a_holiday_and_the_make_up_saturday_a_working_day() -> None:
    calendar = work_calendar(2026, 2026)

    assert calendar.years == (2026,)
    assert not calendar.is_workday(date(2026, 10, 5))  # Monday inside the National Day week
    assert calendar.is_workday(date(2026, 10, 10))  # Saturday worked to lengthen it
    assert calendar.is_workday(date(2026, 10, 9))
    assert not calendar.is_workday(date(2026, 10, 11))


def test_five_working_days_from_the_friday_before_spring_festival_land_after_the_holiday() -> None:
    friday = datetime(2026, 2, 13, 17, 30, tzinfo=CHINA_TIME)

    due = calendar_for_filing(friday).add(friday, parse_duration("5wd"))

    # Sat 14 Feb is worked (1); 16-23 Feb are the Spring Festival holiday; then 24, 25, 26, 27 Feb.
    assert due == datetime(2026, 2, 27, 17, 30, tzinfo=CHINA_TIME)


def test_a_deadline_into_2027_counts_weekdays_for_want_of_data() -> None:
    filed = datetime(2026, 12, 30, 10, 0, tzinfo=CHINA_TIME)
    calendar = calendar_for_filing(filed, horizon_years=1)
    due = calendar.add(filed, parse_duration("5wd"))

    # Thu 31 Dec, then Mon-Fri only: Fri 1 Jan 2027 counts, as the statutory data for it is not known.
    assert due == datetime(2027, 1, 6, 10, 0, tzinfo=CHINA_TIME)
    assert calendar.years == (2026,)
    assert calendar.missing_years(filed, due) == [2027]
    # The alarm is raised by the case whose deadline lands there (tests/test_deadlines.py), not at filing.


def test_a_calendar_for_unknown_years_is_plain_weekdays() -> None:
    calendar = work_calendar(2027, 2028)
    assert calendar.years == ()
    assert calendar.is_workday(date(2027, 1, 1))  # a Friday; New Year's Day once the data exists
