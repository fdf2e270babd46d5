"""Hotspots over real HTTP (``GET /api/v1/hotspots`` and its spreadsheet): each key's figures count only the cases it
may list, and a bad question is refused naming its field.

The gateway runs over a database of its own, so every figure is exact: cases from last month and this month stored
through the store's own path, and two filed through the gateway on the dev server (one by an app's integrator key,
one by a resident's key), counted once the worker has stored them.
"""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from openpyxl import load_workbook
from temporalio.testing import WorkflowEnvironment

from activities.event_store import Pool, apply_migrations, create_pool
from schemas.calendar import CHINA_TIME
from schemas.hotspots import months_back
from tests.gateway_helpers import Served, intake_json, post, resident_body, serving
from tests.helpers import wait_until
from tests.hotspot_cases import filed, store_all
from tests.pg import TestDatabase
from whistle.devstack import ensure_database
from whistle.spreadsheet import MEDIA_TYPES

APP = "app-hotspots"
"""The organisation whose integrator key files one case."""


@pytest.fixture(scope="module")
async def hotspot_pool(database: TestDatabase) -> AsyncIterator[Pool]:
    url = await ensure_database(database.url, f"whistle_gw_hotspots_{uuid.uuid4().hex[:8]}")
    created = await create_pool(url)
    try:
        await apply_migrations(created)
        yield created
    finally:
        await created.close()


@pytest.fixture(scope="module")
async def served(dev_env: WorkflowEnvironment, hotspot_pool: Pool) -> AsyncIterator[Served]:
    """The gateway over the hotspot database, with last month's and this month's cases in it."""
    async with serving(dev_env.client, hotspot_pool) as running:
        await store_all(hotspot_pool, seeded_cases(datetime.now(CHINA_TIME)))
        async with httpx.AsyncClient(base_url=running.url, timeout=30) as http:
            integrator = await running.key("integrator", "hotspot-app", organisation=APP)
            body = intake_json(community="hongqi", grid="hongqi_1", category="cooking_fumes")
            assert (await post(http, integrator, "/api/v1/complaints", body)).status_code == 201
            resident = await running.key("resident", "app-hot-1")
            body = resident_body(community="gangyuan", grid="gangyuan_1", category="noise")
            assert (await post(http, resident, "/api/v1/complaints", body)).status_code == 201

            supervisor = await running.key("supervisor", "dubanchu")

            async def all_stored() -> bool:
                answer = await http.get("/api/v1/hotspots?show=all", headers={"X-API-Key": supervisor})
                return bool(sum(h["complaints"] for h in answer.json()["hotspots"]) == 12)

            await wait_until(all_stored, within=60)
        yield running


def seeded_cases(now: datetime) -> list[Any]:
    """Last month: three in anju_1 (streetlight; one summoned urban management), three in hongqi_1 (cooking fumes).
    This month: two more in hongqi_1 and two in gangyuan_1 (noise); the gateway files the third of each."""
    today = now.date()
    last_month = datetime.combine(months_back(today, 1), datetime.min.time(), CHINA_TIME) + timedelta(days=9, hours=10)
    month_start = datetime.combine(months_back(today, 0), datetime.min.time(), CHINA_TIME)
    this_month = month_start + (now - month_start) / 2  # in this month, before now, whatever the day
    return [
        filed(f"HG-{uuid.uuid4().hex[:8]}", "anju_1", "streetlight", last_month, summoned="urban_management"),
        *cases("anju_1", "streetlight", last_month + timedelta(hours=1), last_month + timedelta(hours=2)),
        *cases("hongqi_1", "cooking_fumes", *(last_month + timedelta(days=n) for n in (1, 2, 3))),
        *cases("hongqi_1", "cooking_fumes", this_month, this_month - timedelta(seconds=1)),
        *cases("gangyuan_1", "noise", this_month, this_month - timedelta(seconds=1)),
    ]


def cases(grid: str, category: str, *moments: datetime) -> list[Any]:
    return [filed(f"HG-{uuid.uuid4().hex[:8]}", grid, category, moment) for moment in moments]


async def get(http: httpx.AsyncClient, key: str, path: str) -> httpx.Response:
    return await http.get(path, headers={"X-API-Key": key})


def places(answer: httpx.Response) -> list[tuple[Any, ...]]:
    """(rank, place, category, last month, this month, total, flagged) of each row."""
    assert answer.status_code == 200, answer.text
    return [
        (h["rank"], h["place"], h["category"], *(m["complaints"] for m in h["months"][-2:]), h["complaints"],
         h["flagged"])
        for h in answer.json()["hotspots"]
    ]  # fmt: skip


async def test_a_supervisor_sees_every_hotspot_ranked_and_flagged(served: Served, http: httpx.AsyncClient) -> None:
    supervisor = await served.key("supervisor", "dubanchu")
    answer = await get(http, supervisor, "/api/v1/hotspots")
    assert places(answer) == [
        (1, "hongqi_1", "cooking_fumes", 3, 3, 6, True),
        (2, "gangyuan_1", "noise", 0, 3, 3, False),  # a tie with anju_1 (one month, three): by category code
        (3, "anju_1", "streetlight", 3, 0, 3, False),
    ]
    report = answer.json()
    assert report["flagged"] == 1 and len(report["months"]) == 6
    assert report["rule"] == {"min_complaints_per_month": 3, "min_months": 2, "window_months": 6}
    flagged = await get(http, supervisor, "/api/v1/hotspots?show=flagged&by=community")
    assert places(flagged) == [(1, "hongqi", "cooking_fumes", 3, 3, 6, True)]
    assert flagged.json()["hotspots"][0]["place_name"] == "红旗社区"


async def test_each_key_counts_only_the_cases_it_may_list(served: Served, http: httpx.AsyncClient) -> None:
    secretary = await served.key("community-secretary", "sec-hongqi")
    assert places(await get(http, secretary, "/api/v1/hotspots?show=all")) == [
        (1, "hongqi_1", "cooking_fumes", 3, 3, 6, True),
    ]
    department = await served.key("department", "urban_management")
    assert places(await get(http, department, "/api/v1/hotspots?show=all")) == [
        (1, "anju_1", "streetlight", 1, 0, 1, False),
    ]
    assert places(await get(http, department, "/api/v1/hotspots")) == []  # one case makes no month over the threshold
    integrator = await served.key("integrator", "hotspot-app", organisation=APP)
    assert places(await get(http, integrator, "/api/v1/hotspots?show=all")) == [
        (1, "hongqi_1", "cooking_fumes", 0, 1, 1, False),
    ]
    other_app = await served.key("integrator", "other-app")
    assert places(await get(http, other_app, "/api/v1/hotspots?show=all")) == []
    resident = await served.key("resident", "app-hot-1")
    own = [(1, "gangyuan_1", "noise", 0, 1, 1, False)]
    assert places(await get(http, resident, "/api/v1/hotspots?show=all")) == own


@pytest.mark.parametrize(
    ("query", "field"),
    [("by=street", "by"), ("show=hot", "show"), ("since=2026-13-01", "since"), ("since=2099-01-01", "since"),
     ("since=1990-01-01", "since")],
    ids=["by a street", "show hot", "no such month", "since in the future", "more than 120 months"],
)  # fmt: skip
async def test_a_bad_question_is_refused_naming_its_field(
    served: Served, http: httpx.AsyncClient, query: str, field: str
) -> None:
    supervisor = await served.key("supervisor", "dubanchu")
    for path in ("/api/v1/hotspots", "/api/v1/exports/hotspots"):
        answer = await get(http, supervisor, f"{path}?format=csv&{query}")
        assert answer.status_code == 422 and answer.json()["field"] == field, answer.text


async def test_hotspots_export_as_xlsx_and_csv_for_the_same_cases(served: Served, http: httpx.AsyncClient) -> None:
    supervisor = await served.key("supervisor", "dubanchu")
    workbook = await get(http, supervisor, "/api/v1/exports/hotspots?format=xlsx")
    assert workbook.status_code == 200, workbook.text
    assert workbook.headers["content-type"] == MEDIA_TYPES["xlsx"]
    assert 'filename="hotspots-grid-' in workbook.headers["content-disposition"]
    book = load_workbook(io.BytesIO(workbook.content))
    ranking = book.worksheets[0]
    headers = [cell.value for cell in ranking[1]]
    assert headers[:4] == ["排名", "类别", "社区", "网格"]
    assert headers[-4:] == ["件数", "超阈月数", "连续月数", "主动治理"]
    this_month = datetime.now(UTC).astimezone(CHINA_TIME).strftime("%Y-%m")
    assert headers[-5] == this_month
    rows = list(ranking.iter_rows(min_row=2, values_only=True))
    assert [(row[0], row[2], row[-4], row[-1]) for row in rows] == [
        (1, "红旗社区", 6, "是"), (2, "钢苑社区", 3, None), (3, "安居社区", 3, None),
    ]  # fmt: skip
    assert book.sheetnames[1] == "说明"

    secretary = await served.key("community-secretary", "sec-hongqi")
    sheet = await get(http, secretary, "/api/v1/exports/hotspots?format=csv&by=community&show=all")
    assert sheet.status_code == 200 and sheet.content.startswith(b"\xef\xbb\xbf")
    lines = list(csv.reader(io.StringIO(sheet.content.decode("utf-8-sig"))))
    assert lines[1][:3] == ["排名", "类别", "社区"]
    table = lines[2 : lines.index([])]
    assert [(row[1], row[2], row[-4], row[-1]) for row in table] == [("餐饮油烟扰民", "红旗社区", "6", "是")]
    resident = await served.key("resident", "app-hot-1")
    own = await get(http, resident, "/api/v1/exports/hotspots?format=csv&show=all")
    assert own.status_code == 200 and "钢苑社区" in own.content.decode("utf-8-sig")
    assert "红旗社区" not in own.content.decode("utf-8-sig")
