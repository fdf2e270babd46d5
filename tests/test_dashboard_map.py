"""The dashboard's map (网格地图): open, overdue and escalated cases per grid, over HTTP and in a real browser.

A district of its own (a database of the module's own on the session's PostgreSQL, cases on the dev server) holds six
cases whose standing is known: two open in 红旗社区第一网格 (one escalated and late on a department that never
reported in, while the first secretary's window is still ahead), one whistled and one closed in 钢苑第一网格, one at
the top of the escalation ladder past the street secretary's window in 安居第一网格, and one an app filed in
安居第二网格. The counts are checked against those numbers and against each case's own fold (the workflow's
``state`` query); ``GET /api/v1/map`` against who may read what; the case list's ``grid`` filter over HTTP and in
``whistle list``; and the page in Debian's Chromium (as ``tests/test_dashboard.py`` drives it): one shape per grid,
its counts, its tooltip, and a click that lists that grid's cases. ``WHISTLE_DASHBOARD_MAP_SCREENSHOT=
docs/dashboard-map.png`` refreshes the README's picture of it.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import async_playwright
from temporalio.testing import WorkflowEnvironment

from activities.event_store import Pool, apply_migrations, create_pool
from schemas.policy import SlaPolicy
from schemas.state import CaseState
from tests.domain_fixtures import blow, evaluate, verify
from tests.gateway_helpers import Served, intake_json, post, serving
from tests.helpers import TestClient, case_handle, new_intake, wait_until
from tests.pg import TestDatabase, database_beside
from tests.test_cli import Cli, cli
from tests.test_dashboard import CHROMIUM, CHROMIUM_ARGS
from workflows.complaint import ComplaintWorkflow

__all__ = ["cli"]  # the fixture, shared with tests/test_cli.py

SCREENSHOT_TO = os.environ.get("WHISTLE_DASHBOARD_MAP_SCREENSHOT")
"""Where to keep the map's screenshot: ``docs/dashboard-map.png`` to refresh the README's; a temporary file else."""

HOURS = {"verify": "2h", "report_in": "24h", "handling": "24h", "evaluation": "3d",
         "first_secretary": "24h", "street_secretary": "48h", "max_reopens": 2}  # fmt: skip
ESCALATING = SlaPolicy.model_validate({"default": {**HOURS, "report_in": "1s"}})
"""A department has one second to report in; the first secretary then has a day."""
TOP_OF_THE_LADDER = SlaPolicy.model_validate(
    {"default": {**HOURS, "report_in": "1s", "first_secretary": "1s", "street_secretary": "1s"}}
)
"""Every window on the ladder is one second: the case ends up with the street secretary, past their deadline."""

APP = "map-app"
"""The organisation whose integrator files one case through the gateway."""

EXPECTED = {
    "hongqi_1": {"open": 2, "overdue": 1, "escalated": 1},
    "gangyuan_1": {"open": 1, "overdue": 0, "escalated": 0},
    "anju_1": {"open": 1, "overdue": 1, "escalated": 1},
    "anju_2": {"open": 1, "overdue": 0, "escalated": 0},
}
"""The district's open cases per grid once every case has settled; every other grid has none."""


@dataclass
class District:
    served: Served
    ids: dict[str, str]
    """The cases by role: ``discovered``, ``late`` (hongqi_1), ``whistled``, ``closed`` (gangyuan_1), ``top``
    (anju_1), ``filed_by_app`` (anju_2)."""


@pytest.fixture(scope="module")
async def district_database(database: TestDatabase) -> AsyncIterator[TestDatabase]:
    """A database of the module's own, so the read model holds this module's cases and no other test's."""
    async with database_beside(database, "whistle_map") as own:
        yield own


@pytest.fixture(scope="module")
async def district(dev_env: WorkflowEnvironment, district_database: TestDatabase) -> AsyncIterator[District]:
    pool = await create_pool(district_database.url)
    try:
        await apply_migrations(pool)
        async with serving(dev_env.client, pool) as served:
            client = served.client
            escalating, laddering = client.with_policy(ESCALATING), client.with_policy(TOP_OF_THE_LADDER)
            try:
                ids = await file_the_district(served, client, escalating, laddering)
                await settled(client, pool, ids)
                yield District(served, ids)
            finally:
                await escalating.end_open_cases()
                await laddering.end_open_cases()
    finally:
        await pool.close()


async def file_the_district(
    served: Served, client: TestClient, escalating: TestClient, laddering: TestClient
) -> dict[str, str]:
    async def file(filer: TestClient, community: str, grid: str, category: str) -> str:
        intake = new_intake(community=community, grid=grid, category=category)
        return (await filer.submit(intake)).complaint_id

    ids = {"discovered": await file(client, "hongqi", "hongqi_1", "cooking_fumes")}
    ids["late"] = await file(escalating, "hongqi", "hongqi_1", "cooking_fumes")
    await escalating.execute(ids["late"], verify())
    await escalating.execute(ids["late"], blow("justice_office"))
    ids["whistled"] = await file(client, "gangyuan", "gangyuan_1", "streetlight")
    await client.execute(ids["whistled"], verify("gw-gangyuan-1"))
    await client.execute(ids["whistled"], blow("urban_management", "power_supply", by="sec-gangyuan"))
    ids["closed"] = await file(client, "gangyuan", "gangyuan_1", "streetlight")
    await client.execute(ids["closed"], verify("gw-gangyuan-1", resolved=True))
    await client.execute(ids["closed"], evaluate("satisfied"))
    ids["top"] = await file(laddering, "anju", "anju_1", "garbage")
    await laddering.execute(ids["top"], verify("gw-anju-1"))
    await laddering.execute(ids["top"], blow("urban_management", by="sec-anju"))
    integrator = await served.key("integrator", "map-app-1", organisation=APP)
    async with httpx.AsyncClient(base_url=served.url, timeout=30) as http:
        filed = await post(http, integrator, "/api/v1/complaints", intake_json(community="anju", grid="anju_2"))
    assert filed.status_code == 201, filed.text
    ids["filed_by_app"] = filed.json()["complaint_id"]
    return ids


async def state_of(client: TestClient, complaint_id: str) -> CaseState:
    return await case_handle(client.temporal, complaint_id).query(ComplaintWorkflow.state)


async def settled(client: TestClient, pool: Pool, ids: dict[str, str]) -> None:
    """Until both escalations have happened and the read model holds every case's last event."""

    async def done() -> bool:
        late, top = await state_of(client, ids["late"]), await state_of(client, ids["top"])
        if late.escalation_level != 1 or top.escalation_level != 2:
            return False
        if top.next_deadline is None or top.next_deadline >= datetime.now(UTC):
            return False
        for complaint_id in ids.values():
            events = (await client.status(complaint_id)).event_count
            stored = await pool.fetchval("select last_seq from complaints where complaint_id = $1", complaint_id)
            if stored is None or stored < events:
                return False
        return True

    await wait_until(done, within=60)


async def read_map(served: Served, key: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=served.url, timeout=30) as http:
        return await http.get("/api/v1/map", headers={"X-API-Key": key})


def counts_of(answer: dict[str, Any]) -> dict[str, dict[str, int]]:
    """The grids with open cases, as ``EXPECTED`` writes them."""
    return {
        grid["grid"]: {name: grid[name] for name in ("open", "overdue", "escalated")}
        for grid in answer["grids"] if grid["open"]
    }  # fmt: skip


async def test_the_counts_per_grid_are_the_fold_s(district: District) -> None:
    client, ids = district.served.client, district.ids
    late = await state_of(client, ids["late"])
    now = datetime.now(UTC)
    # The late case's next deadline (the first secretary's) is ahead: it is late only on the lapsed report-in.
    assert late.next_deadline is not None and late.next_deadline > now and late.overdue_since is not None
    found = await client.grid_counts(now=now)
    assert {count.grid: count.model_dump(include={"open", "overdue", "escalated"}) for count in found} == EXPECTED

    folded: dict[str, dict[str, int]] = {}
    for complaint_id in ids.values():
        state = await state_of(client, complaint_id)
        if state.stage in ("closed", "merged"):
            continue
        counts = folded.setdefault(state.case.intake.grid, {"open": 0, "overdue": 0, "escalated": 0})
        watched = state.watched_deadline
        counts["open"] += 1
        counts["overdue"] += watched is not None and watched < now
        counts["escalated"] += state.escalation_level > 0
    assert folded == EXPECTED


async def test_the_map_shows_each_key_what_it_may_read(district: District) -> None:
    served = district.served
    supervisor = (await read_map(served, await served.key("supervisor", "dubanchu"))).json()
    every_grid = [grid.code for community in served.client.directory.communities for grid in community.grids]
    assert [grid["grid"] for grid in supervisor["grids"]] == every_grid
    assert counts_of(supervisor) == EXPECTED
    hongqi_1 = next(grid for grid in supervisor["grids"] if grid["grid"] == "hongqi_1")
    assert hongqi_1["name"] == "红旗社区第一网格" and hongqi_1["community_name"] == "红旗社区"
    assert hongqi_1["boundary"]["type"] == "Polygon" and hongqi_1["boundary"]["coordinates"][0][0] == [123.337, 41.796]

    hongqi = (await read_map(served, await served.key("community-secretary", "sec-hongqi"))).json()
    assert [grid["grid"] for grid in hongqi["grids"]] == ["hongqi_1", "hongqi_2", "hongqi_3"]
    assert counts_of(hongqi) == {"hongqi_1": EXPECTED["hongqi_1"]}
    gongren = (await read_map(served, await served.key("street-secretary", "ss-gongren"))).json()
    assert {grid["community"] for grid in gongren["grids"]} == {"hongqi", "gangyuan"}
    assert counts_of(gongren) == {grid: EXPECTED[grid] for grid in ("hongqi_1", "gangyuan_1")}

    justice = (await read_map(served, await served.key("department", "justice_office"))).json()
    assert len(justice["grids"]) == len(every_grid)  # the whole district, its own cases counted
    assert counts_of(justice) == {"hongqi_1": {"open": 1, "overdue": 1, "escalated": 1}}
    urban = (await read_map(served, await served.key("department", "urban_management"))).json()
    assert counts_of(urban) == {"gangyuan_1": EXPECTED["gangyuan_1"], "anju_1": EXPECTED["anju_1"]}
    app = (await read_map(served, await served.key("integrator", "map-app-1", organisation=APP))).json()
    assert counts_of(app) == {"anju_2": EXPECTED["anju_2"]}
    hotline = (await read_map(served, await served.key("operator", "op-12345-09"))).json()
    assert counts_of(hotline) == {}

    resident = await read_map(served, await served.key("resident", "app-40001"))
    assert resident.status_code == 403 and resident.json()["field"] == "actor"
    assert (await read_map(served, "")).status_code == 401


async def test_the_case_list_filters_by_grid(district: District) -> None:
    served, ids = district.served, district.ids
    supervisor = await served.key("supervisor", "dubanchu")
    secretary = await served.key("community-secretary", "sec-hongqi")
    app = await served.key("integrator", "map-app-1", organisation=APP)

    async with httpx.AsyncClient(base_url=served.url, timeout=30) as http:

        async def listed(key: str, query: str) -> list[dict[str, Any]]:
            answer = await http.get(f"/api/v1/complaints?{query}", headers={"X-API-Key": key})
            assert answer.status_code == 200, answer.text
            found: list[dict[str, Any]] = answer.json()
            return found

        async def visible() -> bool:  # visibility is the dev server's: other modules' cases may share the grid
            found = await listed(supervisor, "grid=hongqi_1")
            return {ids["discovered"], ids["late"]} <= {case["complaint_id"] for case in found}

        await wait_until(visible)
        for key in (supervisor, secretary):
            found = await listed(key, "grid=hongqi_1")
            assert {case["grid"] for case in found} == {"hongqi_1"}
            assert ids["whistled"] not in {case["complaint_id"] for case in found}
        assert {case["grid"] for case in await listed(supervisor, "grid=gangyuan_1&stage=whistled")} == {"gangyuan_1"}
        elsewhere = await http.get("/api/v1/complaints?grid=anju_1", headers={"X-API-Key": secretary})
        assert elsewhere.status_code == 403 and elsewhere.json()["field"] == "actor"
        assert "anju_1" in elsewhere.json()["reason"]
        assert [case["complaint_id"] for case in await listed(app, "grid=anju_2")] == [ids["filed_by_app"]]
        assert await listed(app, "grid=anju_1") == []
        bad = await http.get("/api/v1/complaints?grid=Not a code", headers={"X-API-Key": supervisor})
        assert bad.status_code == 422 and bad.json()["field"] == "grid"


async def test_whistle_list_filters_by_grid(cli: Cli) -> None:
    intake = new_intake(community="hongqi", grid="hongqi_2", category="streetlight")
    complaint_id = (await cli.client.submit(intake)).complaint_id

    async def listed() -> bool:
        run = await cli("list", "--grid", "hongqi_2", "--json")
        assert run.code == 0, run.stderr
        return complaint_id in {case["complaint_id"] for case in run.json()}

    await wait_until(listed)
    found = (await cli("list", "--grid", "hongqi_2", "--json")).json()
    assert {case["grid"] for case in found} == {"hongqi_2"}
    other = (await cli("list", "--grid", "hongqi_1", "--json")).json()
    assert complaint_id not in {case["complaint_id"] for case in other}
    table = await cli("list", "--grid", "hongqi_2")  # 80 columns: the grid's name folds over lines in its column
    header = next(line for line in table.stdout.splitlines() if "编号" in line)
    assert table.code == 0 and header.split()[:3] == ["编号", "社区", "网格"]


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed (.ci/run installs it)")
async def test_the_map_draws_every_grid_and_a_click_lists_its_cases(district: District, tmp_path: Path) -> None:
    served, ids = district.served, district.ids
    supervisor = await served.key("supervisor", "dubanchu")
    directory = served.client.directory
    drawn = [grid for community in directory.communities for grid in community.grids if grid.boundary]
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = await browser.new_page(viewport={"width": 1400, "height": 1000}, locale="zh-CN")
            page.set_default_timeout(60_000)  # a loaded CI machine, not a slow page
            await page.goto(f"{served.url}/dashboard#key={supervisor}")
            await page.wait_for_selector("#board:not([hidden])", timeout=60_000)

            shapes = page.locator("#map svg path.grid")
            assert await shapes.count() == len(drawn)
            shown = {
                grid: {name: int(await shapes.nth(index).get_attribute(f"data-{name}") or -1)
                       for name in ("open", "overdue", "escalated")}
                for index in range(len(drawn)) if (grid := await shapes.nth(index).get_attribute("data-grid"))
            }  # fmt: skip
            assert set(shown) == {grid.code for grid in drawn}
            assert {grid: counts for grid, counts in shown.items() if counts["open"]} == EXPECTED
            assert await page.inner_text("#open-count") == str(sum(counts["open"] for counts in EXPECTED.values()))
            # The busiest grid is the darkest; a grid with none is pale; late grids are outlined.
            fills = {grid: await shapes.nth(i).get_attribute("fill") for i, grid in enumerate(shown)}
            assert fills["hongqi_1"] == "#b30000" and fills["hongqi_2"] == "#eef2f6" != fills["anju_2"]
            assert await page.locator("#map path.grid.late").count() == 2
            # Each grid is labelled: its count always, in a shorter wording where the grid is narrow.
            assert await page.locator("#map g.label").count() == len(drawn)
            assert await page.text_content("#map g.label[data-grid='anju_2'] text.counts") == "在办 1"
            assert await page.text_content("#map g.label[data-grid='hongqi_1'] text.counts") in ("在办 2", "2")
            alarm = page.locator("#map g.label[data-grid='hongqi_1'] text.alarm")
            assert await alarm.count() == 0 or await alarm.text_content() in ("超期 1 · 已升级 1", "超1 升1")
            assert await page.locator("#map g.label[data-grid='anju_2'] text.alarm").count() == 0
            assert "在办" in await page.inner_text("#map .map-legend")

            hongqi_1 = page.locator("#map path.grid[data-grid='hongqi_1']")
            await hongqi_1.hover()
            tip = page.locator("#map .map-tip")
            await tip.wait_for(state="visible")
            assert (await tip.inner_text()).split("\n") == [
                "网格 红旗社区第一网格（红旗社区）", "在办 2", "超期 1", "已升级 1"
            ]  # fmt: skip

            await hongqi_1.click()
            await page.wait_for_selector("#recent[data-grid='hongqi_1']:not([aria-busy])")
            assert "网格 红旗社区第一网格 的案件" in await page.inner_text("#recent-title")
            assert await page.locator("#map path.grid.selected").get_attribute("data-grid") == "hongqi_1"
            rows = page.locator("#recent tbody tr")
            grids = {(await rows.nth(i).locator("td").nth(2).inner_text()) for i in range(await rows.count())}
            assert grids == {"红旗社区第一网格"}
            listed = {await link.inner_text() for link in await page.locator("#recent a.case").all()}
            assert {ids["discovered"], ids["late"]} <= listed and ids["whistled"] not in listed

            screenshot = Path(SCREENSHOT_TO) if SCREENSHOT_TO else tmp_path / "dashboard-map.png"
            await page.locator("#map-section").scroll_into_view_if_needed()
            await page.locator("#map path.grid[data-grid='anju_1']").hover()  # its tooltip in the picture
            await tip.wait_for(state="visible")
            await page.locator("#map-section").screenshot(path=str(screenshot))
            assert screenshot.stat().st_size > 10_000

            await page.locator("#map .map-table tr[data-grid='gangyuan_1'] a.grid-link").click()
            await page.wait_for_selector("#recent[data-grid='gangyuan_1']:not([aria-busy])")
            assert ids["whistled"] in await page.inner_text("#recent")
            await page.locator("#all-grids").click()
            await page.wait_for_selector("#recent[data-grid='']:not([aria-busy])")
            assert await page.locator("#map path.grid.selected").count() == 0
            assert await page.locator("#all-grids").is_hidden()
        finally:
            await browser.close()
