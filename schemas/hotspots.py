"""Hotspots (每月一题, 未诉先办): complaints counted per place, category and month, the places and categories that
recur ranked, and those the policy's ``hotspot`` rule flags for proactive governance (主动治理). Pure: the counts
are read from the read model by ``activities.hotspots``.

A month is *over the threshold* when the place and category drew ``min_complaints_per_month`` complaints or more in
it; a place and category is *flagged* when at least ``min_months`` of the report's months are. The ranking puts the
most months over the threshold first, then the most complaints. Because both orders agree on what comes first, the
flagged ones are a prefix of the recurring ones, which are a prefix of all: a rank means the same in each list.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Literal

from pydantic import AwareDatetime, Field, ValidationInfo, field_validator

from schemas.common import Code, Model
from schemas.org import OrgDirectory
from schemas.policy import HotspotRule

HotspotBy = Literal["grid", "community"]
HotspotShow = Literal["recurring", "flagged", "all"]
"""``recurring``: at least one month over the threshold; ``flagged``: flagged for proactive governance; ``all``:
every place and category with a complaint in the range."""

MOST_MONTHS = 120
"""The longest range a report spans: ten years of months keeps every answer small."""


def month_of(day: date) -> str:
    """``YYYY-MM``, the month as the read model's query names it."""
    return f"{day.year:04d}-{day.month:02d}"


def months_back(day: date, count: int) -> date:
    """The first day of the month ``count`` months before ``day``'s (0: ``day``'s own month)."""
    index = day.year * 12 + day.month - 1 - count
    return date(index // 12, index % 12 + 1, 1)


def months_from(start: date, end: date) -> list[str]:
    """Every month from ``start``'s to ``end``'s, both included, oldest first."""
    months: list[str] = []
    index, last = start.year * 12 + start.month - 1, end.year * 12 + end.month - 1
    while index <= last:
        months.append(f"{index // 12:04d}-{index % 12 + 1:02d}")
        index += 1
    return months


class HotspotQuery(Model):
    """What a caller asks: the place to group by, the first day of the range (Beijing date; absent: the first day
    of the policy's window) and which groups to show. Validated with ``context={"today": <Beijing date>}`` so a
    ``since`` in the future, or further back than ``MOST_MONTHS``, is refused naming ``since``."""

    by: HotspotBy = "grid"
    since: date | None = None
    show: HotspotShow = "recurring"

    @field_validator("since")
    @classmethod
    def _since_within_reach(cls, value: date | None, info: ValidationInfo) -> date | None:
        today = (info.context or {}).get("today")
        if value is None or not isinstance(today, date):
            return value
        if value > today:
            raise ValueError(f"the range cannot start in the future (today is {today} in Beijing)")
        earliest = months_back(today, MOST_MONTHS - 1)
        if value < earliest:
            raise ValueError(f"the range spans at most {MOST_MONTHS} months: start on {earliest} or later")
        return value

    def first_day(self, rule: HotspotRule, today: date) -> date:
        """Where the range starts: ``since``, else the first day of the rule's window (this month included)."""
        return self.since or months_back(today, rule.window_months - 1)


class PlaceMonthCount(Model):
    """Complaints filed in one grid, of one category, in one month (Beijing time): a row of the read model's count."""

    community: Code
    grid: Code
    category: Code
    month: str
    complaints: int = Field(ge=1)


class MonthCount(Model):
    """One month of a place and category: ``YYYY-MM`` and the complaints filed in it (0 included)."""

    month: str
    complaints: int


class Hotspot(Model):
    """One place and category over the report's months, ranked."""

    rank: int
    """1: the most months over the threshold, then the most complaints."""
    place: Code
    """The grid's code, or the community's (``by``)."""
    place_name: str
    community: Code
    community_name: str
    category: Code
    category_name: str
    months: list[MonthCount]
    """Every month of the report, oldest first, with its complaints (0 included)."""
    complaints: int
    """All of them in the range."""
    months_over: int
    """Months with ``min_complaints_per_month`` complaints or more."""
    longest_run: int
    """The most consecutive months over the threshold (连续月数)."""
    flagged: bool
    """``months_over`` reaches the rule's ``min_months``: proactive governance (主动治理)."""


class HotspotReport(Model):
    """The hotspots of one grouping from ``since`` until ``generated_at``, under ``rule``."""

    by: HotspotBy
    since: date
    generated_at: AwareDatetime
    rule: HotspotRule
    show: HotspotShow
    months: list[str]
    """The report's months, oldest first (the first and the last may be partial)."""
    flagged: int
    """How many places and categories are flagged, whatever ``show`` lists."""
    hotspots: list[Hotspot]


def _longest_run(over: list[bool]) -> int:
    longest = run = 0
    for hot in over:
        run = run + 1 if hot else 0
        longest = max(longest, run)
    return longest


def rank_hotspots(
    counts: list[PlaceMonthCount],
    *,
    by: HotspotBy,
    months: list[str],
    rule: HotspotRule,
    directory: OrgDirectory,
) -> list[Hotspot]:
    """Every place and category of ``counts`` over ``months``, ranked. Codes the directory no longer knows are shown
    by their code."""
    communities = {c.code: c.name for c in directory.communities}
    grids = {g.code: g.name for c in directory.communities for g in c.grids}
    categories = {c.code: c.name for c in directory.categories}
    per_month: dict[tuple[str, str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for row in counts:
        place = row.grid if by == "grid" else row.community
        per_month[row.community, place, row.category][row.month] += row.complaints
    found: list[Hotspot] = []
    for (community, place, category), tally in per_month.items():
        series = [MonthCount(month=month, complaints=tally.get(month, 0)) for month in months]
        over = [month.complaints >= rule.min_complaints_per_month for month in series]
        found.append(
            Hotspot(
                rank=0, place=place, place_name=(grids if by == "grid" else communities).get(place, place),
                community=community, community_name=communities.get(community, community),
                category=category, category_name=categories.get(category, category), months=series,
                complaints=sum(month.complaints for month in series), months_over=sum(over),
                longest_run=_longest_run(over), flagged=sum(over) >= rule.min_months,
            )
        )  # fmt: skip
    found.sort(key=lambda h: (-h.months_over, -h.complaints, -h.longest_run, h.category, h.community, h.place))
    return [h.model_copy(update={"rank": rank}) for rank, h in enumerate(found, 1)]


def shown(ranked: list[Hotspot], show: HotspotShow) -> list[Hotspot]:
    """The part of the ranking ``show`` asks for (a prefix of it: see the module's docstring)."""
    if show == "flagged":
        return [h for h in ranked if h.flagged]
    if show == "recurring":
        return [h for h in ranked if h.months_over > 0]
    return [h for h in ranked if h.complaints > 0]
