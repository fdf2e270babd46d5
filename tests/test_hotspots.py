"""Hotspots (每月一题, 未诉先办) counted from a real PostgreSQL read model against figures worked out by hand.

Forty cases filed over 2025 (May to December) through the real decider are stored through the ``store`` activity in a
database of their own, so the read model is exactly what a worker would have written; one of them is merged into
another (counted once), one is filed half an hour into November in Beijing (still October in UTC).
"""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import AsyncIterator
from datetime import date, datetime

import pytest
from openpyxl import load_workbook
from pydantic import ValidationError

from activities.event_store import Pool, apply_migrations, create_pool
from activities.hotspots import COUNTS, build_hotspots
from schemas.calendar import CHINA_TIME
from schemas.hotspots import HotspotQuery, HotspotReport, months_back, months_from
from schemas.policy import HotspotRule, SlaPolicy
from tests.domain_fixtures import directory
from tests.hotspot_cases import filed, store_all
from tests.pg import TestDatabase
from whistle.devstack import ensure_database
from whistle.hotspot_exports import hotspot_sheets
from whistle.spreadsheet import to_csv, to_xlsx
from workflows.ports import StoreInput

NOW = datetime(2025, 12, 15, 10, 0, tzinfo=CHINA_TIME)
"""When the figures are asked for: the window of six months is July to December 2025."""
RULE = HotspotRule(min_complaints_per_month=3, min_months=2, window_months=6)


def on(month: int, day: int, hour: int = 10, minute: int = 0) -> datetime:
    return datetime(2025, month, day, hour, minute, tzinfo=CHINA_TIME)


def scenario() -> list[StoreInput]:
    """The cases the hand counts below are for, by grid and category:

    - hongqi_1 cooking fumes: May 2 (before the window), Sep 3, Oct 4, Dec 3: over the threshold in 3 months, 2 of
      them running (Sep, Oct), 10 in the window: flagged.
    - anju_1 streetlight: Nov 3 (one filed at 00:30 on 1 November, Beijing; a fourth merged into another), Dec 3:
      2 months, both running, 6: flagged.
    - hongqi_2 cooking fumes: Oct 5: 1 month, 5: recurring, not flagged.
    - gangyuan_1 noise: Oct 2, Nov 2, Dec 2: no month over the threshold, 6.
    """
    cases: list[StoreInput] = []

    def add(grid: str, category: str, *moments: datetime) -> None:
        for moment in moments:
            cases.append(filed(f"H-{len(cases) + 1:03d}", grid, category, moment))

    add("hongqi_1", "cooking_fumes", on(5, 6), on(5, 20))
    add("hongqi_1", "cooking_fumes", on(9, 1), on(9, 15), on(9, 30, 23, 50))
    add("hongqi_1", "cooking_fumes", on(10, 9), on(10, 10), on(10, 20), on(10, 31))
    add("hongqi_1", "cooking_fumes", on(12, 1), on(12, 2), on(12, 14))
    add("anju_1", "streetlight", on(11, 1, 0, 30), on(11, 12), on(11, 28))
    cases.append(filed("H-MERGED", "anju_1", "streetlight", on(11, 29), merged_into=cases[-1].complaint_id))
    add("anju_1", "streetlight", on(12, 3), on(12, 4), on(12, 5))
    add("hongqi_2", "cooking_fumes", on(10, 1), on(10, 2), on(10, 3), on(10, 4), on(10, 5))
    add("gangyuan_1", "noise", on(10, 1), on(10, 2), on(11, 1), on(11, 2), on(12, 1), on(12, 2))
    return cases


@pytest.fixture(scope="module")
async def hotspot_pool(database: TestDatabase) -> AsyncIterator[Pool]:
    """A database of its own holding exactly the scenario."""
    url = await ensure_database(database.url, f"whistle_hotspots_{uuid.uuid4().hex[:8]}")
    created = await create_pool(url)
    try:
        await apply_migrations(created)
        await store_all(created, scenario())
        yield created
    finally:
        await created.close()


async def hotspots(pool: Pool, **asked: object) -> HotspotReport:
    query = HotspotQuery.model_validate(asked, context={"today": NOW.date()})
    return await build_hotspots(pool, query, rule=RULE, directory=directory(), now=NOW)


def rows(report: HotspotReport) -> list[tuple[object, ...]]:
    """(rank, place, category, complaints per month, total, months over, longest run, flagged)."""
    return [
        (h.rank, h.place, h.category, [m.complaints for m in h.months], h.complaints, h.months_over, h.longest_run,
         h.flagged)
        for h in report.hotspots
    ]  # fmt: skip


async def test_recurring_places_rank_by_months_over_the_threshold_then_by_complaints(hotspot_pool: Pool) -> None:
    report = await hotspots(hotspot_pool)
    assert report.months == ["2025-07", "2025-08", "2025-09", "2025-10", "2025-11", "2025-12"]
    assert report.since == date(2025, 7, 1) and report.by == "grid" and report.show == "recurring"
    assert rows(report) == [
        (1, "hongqi_1", "cooking_fumes", [0, 0, 3, 4, 0, 3], 10, 3, 2, True),
        (2, "anju_1", "streetlight", [0, 0, 0, 0, 3, 3], 6, 2, 2, True),
        (3, "hongqi_2", "cooking_fumes", [0, 0, 0, 5, 0, 0], 5, 1, 1, False),
    ]
    assert report.flagged == 2
    first = report.hotspots[0]
    assert (first.place_name, first.community, first.community_name, first.category_name) == (
        "红旗社区第一网格", "hongqi", "红旗社区", "餐饮油烟扰民",
    )  # fmt: skip


async def test_every_place_and_category_with_a_complaint_shows_with_all(hotspot_pool: Pool) -> None:
    report = await hotspots(hotspot_pool, show="all")
    assert rows(report)[3] == (4, "gangyuan_1", "noise", [0, 0, 0, 2, 2, 2], 6, 0, 0, False)
    assert len(report.hotspots) == 4
    flagged = await hotspots(hotspot_pool, show="flagged")
    assert [(h.rank, h.place) for h in flagged.hotspots] == [(1, "hongqi_1"), (2, "anju_1")]
    assert flagged.flagged == 2


async def test_a_community_adds_up_its_grids(hotspot_pool: Pool) -> None:
    report = await hotspots(hotspot_pool, by="community")
    assert rows(report) == [
        (1, "hongqi", "cooking_fumes", [0, 0, 3, 9, 0, 3], 15, 3, 2, True),
        (2, "anju", "streetlight", [0, 0, 0, 0, 3, 3], 6, 2, 2, True),
    ]
    assert report.hotspots[0].place_name == "红旗社区"


async def test_since_widens_the_range_and_the_flags_count_its_months(hotspot_pool: Pool) -> None:
    report = await hotspots(hotspot_pool, since="2025-05-15")
    assert report.months[0] == "2025-05" and len(report.months) == 8
    hongqi = report.hotspots[0]
    assert (hongqi.place, [m.complaints for m in hongqi.months][:2], hongqi.complaints) == ("hongqi_1", [1, 0], 11)
    narrow = await hotspots(hotspot_pool, since="2025-12-01")
    assert rows(narrow) == [  # a tie: by category code, then place
        (1, "hongqi_1", "cooking_fumes", [3], 3, 1, 1, False),
        (2, "anju_1", "streetlight", [3], 3, 1, 1, False),
    ]
    assert narrow.flagged == 0


async def test_a_month_is_the_beijing_month_and_a_merged_report_counts_once(hotspot_pool: Pool) -> None:
    """00:30 on 1 November in Beijing is 31 October in UTC: it counts to November; the merged fourth report does not
    count (its problem is the case it joined)."""
    report = await hotspots(hotspot_pool, since="2025-11-01", show="all")
    anju = next(h for h in report.hotspots if h.place == "anju_1")
    assert [m.complaints for m in anju.months] == [3, 3]
    hongqi = await hotspots(hotspot_pool, since="2025-09-01", show="all")
    september = next(h for h in hongqi.hotspots if h.place == "hongqi_1").months[0]
    assert (september.month, september.complaints) == ("2025-09", 3)  # 23:50 on 30 September stays in September


async def test_a_stricter_rule_flags_fewer(hotspot_pool: Pool) -> None:
    query = HotspotQuery.model_validate({}, context={"today": NOW.date()})
    strict = HotspotRule(min_complaints_per_month=4, min_months=1, window_months=3)
    report = await build_hotspots(hotspot_pool, query, rule=strict, directory=directory(), now=NOW)
    assert report.months == ["2025-10", "2025-11", "2025-12"]
    assert [(h.place, h.months_over, h.flagged) for h in report.hotspots] == [
        ("hongqi_1", 1, True), ("hongqi_2", 1, True),  # one month each: hongqi_1 has 7 in October to December, 5
    ]  # fmt: skip


async def test_the_count_reads_the_hotspot_index_alone(hotspot_pool: Pool) -> None:
    """With sequential scans priced out (the table is small), the planner answers a supervisor's count from the
    partial index without visiting the cases (an index-only scan); a narrower key's reach reads the cases as well."""
    await hotspot_pool.execute("vacuum analyze complaints")  # the visibility map an index-only scan relies on
    async with hotspot_pool.acquire() as connection, connection.transaction():
        await connection.execute("set local enable_seqscan = off")
        plan = await connection.fetch("explain " + COUNTS.format(reach="true", joins=""), on(7, 1), NOW)
    text = "\n".join(row[0] for row in plan)
    assert "Index Only Scan using complaints_hotspots" in text, text


@pytest.mark.parametrize(
    ("asked", "field", "words"),
    [
        ({"by": "street"}, "by", "'grid' or 'community'"),
        ({"show": "hot"}, "show", "'recurring', 'flagged' or 'all'"),
        ({"since": "2025-13-01"}, "since", "month"),
        ({"since": "2025-12-16"}, "since", "future"),
        ({"since": "2015-12-01"}, "since", "120 months"),
    ],
    ids=["by a street", "show hot", "no such month", "since tomorrow", "since ten years ago"],
)
def test_bad_questions_name_the_field(asked: dict[str, str], field: str, words: str) -> None:
    with pytest.raises(ValidationError) as caught:
        HotspotQuery.model_validate(asked, context={"today": NOW.date()})
    problem = caught.value.errors()[0]
    assert problem["loc"] == (field,) and words in problem["msg"]


def test_months_are_counted_across_a_new_year() -> None:
    assert months_back(date(2026, 2, 10), 5) == date(2025, 9, 1)
    assert months_from(date(2025, 11, 20), date(2026, 2, 1)) == ["2025-11", "2025-12", "2026-01", "2026-02"]


def test_the_policy_rule_is_checked_and_has_defaults() -> None:
    assert SlaPolicy.model_validate({"default": _complete_default()}).hotspot == RULE
    with pytest.raises(ValidationError) as caught:
        SlaPolicy.model_validate(
            {"default": _complete_default(), "hotspot": {"min_months": 7, "window_months": 6}}
        )
    assert caught.value.errors()[0]["loc"] == ("hotspot",)
    assert "min_months (7) cannot exceed window_months (6)" in str(caught.value)
    with pytest.raises(ValidationError) as zero:
        SlaPolicy.model_validate({"default": _complete_default(), "hotspot": {"min_complaints_per_month": 0}})
    assert zero.value.errors()[0]["loc"] == ("hotspot", "min_complaints_per_month")


def _complete_default() -> dict[str, object]:
    return {"verify": "2h", "report_in": "24h", "handling": "5wd", "evaluation": "3d", "first_secretary": "24h",
            "street_secretary": "48h", "max_reopens": 2}  # fmt: skip


async def test_the_spreadsheet_has_a_column_per_month_and_chinese_headers(hotspot_pool: Pool) -> None:
    report = await hotspots(hotspot_pool)
    book = load_workbook(io.BytesIO(to_xlsx(hotspot_sheets(report))))
    assert book.sheetnames == ["网格热点2025-07-01起", "说明"]
    ranking = book.worksheets[0]
    assert [cell.value for cell in ranking[1]] == [
        "排名", "类别", "社区", "网格", "2025-07", "2025-08", "2025-09", "2025-10", "2025-11", "2025-12", "件数",
        "超阈月数", "连续月数", "主动治理",
    ]  # fmt: skip
    assert [cell.value for cell in ranking[2]] == [
        1, "餐饮油烟扰民", "红旗社区", "红旗社区第一网格", 0, 0, 3, 4, 0, 3, 10, 3, 2, "是",
    ]  # fmt: skip
    assert [row[3] for row in ranking.iter_rows(min_row=2, values_only=True)] == [
        "红旗社区第一网格", "安居社区第一网格", "红旗社区第二网格",
    ]  # fmt: skip
    about = [cell.value for cell in book["说明"][2]]
    assert about[:2] == ["网格", "2025-07-01"] and about[3:] == [3, 2, 6, 2]
    by_community = await hotspots(hotspot_pool, by="community", show="flagged")
    text = to_csv(hotspot_sheets(by_community)).decode("utf-8-sig")
    lines = list(csv.reader(io.StringIO(text)))
    assert lines[:2] == [["社区热点2025-07-01起"], ["排名", "类别", "社区", *report.months, "件数", "超阈月数",
                                                  "连续月数", "主动治理"]]  # fmt: skip
    assert lines[2] == ["1", "餐饮油烟扰民", "红旗社区", "0", "0", "3", "9", "0", "3", "15", "3", "2", "是"]
