"""China's statutory working-day calendar, looked up when a case is filed and frozen into its input.

The data comes from the ``chinese-calendar`` package, which knows only the years the State Council has
published (2004 to 2026 in the installed release). A year it does not know is left out of the calendar,
so deadlines in it count Monday to Friday; the case whose working-day deadline lands in such a year raises
the "calendar data missing for YEAR" alarm (``ComplaintWorkflow``), so the alarm names real cases rather
than firing on every filing.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from functools import lru_cache

import chinese_calendar

from schemas.calendar import CHINA_TIME, WorkCalendar


def work_calendar(first_year: int, last_year: int) -> WorkCalendar:
    """The statutory exceptions for ``first_year``..``last_year``; years the package lacks are left out."""
    return _statutory_calendar(first_year, last_year)


def calendar_for_filing(reported_at: datetime, horizon_years: int = 2) -> WorkCalendar:
    """The calendar a case filed at ``reported_at`` runs under: its (Beijing) year and ``horizon_years`` more.

    The horizon covers the deadlines a case can reach, reopens and extensions included.
    """
    year = reported_at.astimezone(CHINA_TIME).year
    return work_calendar(year, year + horizon_years)


@lru_cache(maxsize=64)
def _statutory_calendar(first_year: int, last_year: int) -> WorkCalendar:
    """Pure and a few thousand look-ups per call, so cached."""
    years: list[int] = []
    holidays: list[date] = []
    workdays: list[date] = []
    for year in range(first_year, last_year + 1):
        try:
            chinese_calendar.is_workday(date(year, 1, 1))
        except NotImplementedError:
            continue
        years.append(year)
        day = date(year, 1, 1)
        while day.year == year:
            is_weekday = day.weekday() < 5
            if chinese_calendar.is_workday(day) != is_weekday:
                (holidays if is_weekday else workdays).append(day)
            day += timedelta(days=1)
    return WorkCalendar(years=tuple(years), holidays=tuple(holidays), workdays=tuple(workdays))
