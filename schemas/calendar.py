"""Working-day arithmetic over China's statutory calendar, as data a case carries with it.

The calendar's exceptions (weekday holidays, weekend make-up workdays) are looked up once when a case is
filed and travel in its input, like the SLA policy: a deadline computed on replay is the deadline computed
the first time, whatever calendar package is installed by then. Years the data does not cover fall back
to plain Monday-to-Friday, and ``missing_years`` says which ones did, so the caller can raise the alarm.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from schemas.common import Duration, Model

CHINA_TIME = timezone(timedelta(hours=8), "Asia/Shanghai")
"""Working days are counted on the local calendar; China keeps UTC+8 all year."""


class WorkCalendar(Model):
    """Which days are working days, for the years in ``years``; other years count Monday to Friday."""

    years: tuple[int, ...] = ()
    holidays: tuple[date, ...] = ()
    """Weekdays that are statutory holidays (e.g. National Day week)."""
    workdays: tuple[date, ...] = ()
    """Weekend days that are working days (调休, swapped to lengthen a holiday)."""

    def is_workday(self, day: date) -> bool:
        if day.year in self.years:
            if day in self.workdays:
                return True
            if day in self.holidays:
                return False
        return day.weekday() < 5

    def add(self, start: datetime, duration: Duration) -> datetime:
        """``start`` plus ``duration``; ``Nwd`` lands at the same local time on the Nth working day after."""
        fixed = duration.fixed()
        if fixed is not None:
            return start + fixed
        local = start.astimezone(CHINA_TIME)
        day = local.date()
        counted = 0
        while counted < duration.amount:
            day += timedelta(days=1)
            if self.is_workday(day):
                counted += 1
        return datetime.combine(day, local.timetz()).astimezone(start.tzinfo)

    def missing_years(self, start: datetime, end: datetime) -> list[int]:
        """Years between ``start`` and ``end`` for which only the weekday fallback was available."""
        first = start.astimezone(CHINA_TIME).year
        last = end.astimezone(CHINA_TIME).year
        return [year for year in range(first, last + 1) if year not in self.years]
