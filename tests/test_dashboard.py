"""The supervisors' dashboard in a real browser: Debian's Chromium, headless, driven by Playwright.

The gateway serves live cases from the dev server and PostgreSQL; the test loads ``/dashboard`` with a
supervisor's key and finds those cases on the page: an escalated case in the escalated list, the rankings,
the chart of daily snapshots and a case's timeline. ``WHISTLE_DASHBOARD_SCREENSHOT=docs/dashboard.png``
refreshes the README's screenshot.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import async_playwright
from temporalio.testing import WorkflowEnvironment

from activities.event_store import Pool
from activities.reports import ReportActivities
from schemas.calendar import CHINA_TIME
from schemas.rates import SnapshotInput
from tests.gateway_helpers import HOTLINE, Served, serving
from tests.helpers import new_intake, wait_until
from whistle.settings import DATA_DIR

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SCREENSHOT_TO = os.environ.get("WHISTLE_DASHBOARD_SCREENSHOT")
"""Where to keep the screenshot: ``docs/dashboard.png`` to refresh the README's; a temporary file otherwise,
so a test run leaves the working tree as it found it."""
CHROMIUM_ARGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip

pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed (.ci/run installs it)"
)


@pytest.fixture(scope="module")
async def served(
    dev_env: WorkflowEnvironment, pool: Pool, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Served]:
    """The gateway under a policy whose verify window is 2 s, so an unverified case escalates at once."""
    policy = tmp_path_factory.mktemp("policy") / "policy.yaml"
    text = (DATA_DIR / "demo_policy.yaml").read_text(encoding="utf-8")
    policy.write_text(text.replace("  verify: 20s", "  verify: 2s", 1), encoding="utf-8")
    async with serving(dev_env.client, pool, policy=policy) as running:
        yield running


async def _post(http: httpx.AsyncClient, key: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = await http.post(path, json=body, headers={"X-API-Key": key})
    assert response.status_code in (200, 201), response.text
    result: dict[str, Any] = response.json()
    return result


async def live_cases(served: Served) -> dict[str, str]:
    """Three cases: one reported in (hongqi), one resolved and rated (anju), one left to escalate (gangyuan);
    a daily snapshot stored after each of the first two steps, dated the two days before today."""
    integrator = await served.key("integrator", "dashboard-app", organisation=HOTLINE)  # its operators rate for callers
    operator = await served.key("operator", "op-12345-01")
    today = datetime.now(CHINA_TIME).date()
    snapshot = ReportActivities(served.pool).store_report_snapshot
    ids: dict[str, str] = {}
    async with httpx.AsyncClient(base_url=served.url, timeout=30) as http:
        ids["hongqi"] = f"D-{uuid.uuid4().hex[:8]}"
        await _post(http, integrator, "/api/v1/complaints", intake(ids["hongqi"], "hongqi", "hongqi_1", "streetlight"))
        path = f"/api/v1/complaints/{ids['hongqi']}"
        await _post(http, await served.key("grid-worker", "gw-hongqi-1"), f"{path}/verify", {})
        blow = {"departments": ["urban_management", "power_supply"], "lead": "urban_management"}
        await _post(http, await served.key("community-secretary", "sec-hongqi"), f"{path}/blow", blow)
        await _post(
            http, await served.key("department", "urban_management"), f"{path}/report-in", {"officer": "王队长"}
        )
        await caught_up(served, ids["hongqi"])
        await snapshot(SnapshotInput(day=today - timedelta(days=2)))

        ids["anju"] = f"D-{uuid.uuid4().hex[:8]}"
        await _post(http, integrator, "/api/v1/complaints", intake(ids["anju"], "anju", "anju_2", "gas_supply"))
        path = f"/api/v1/complaints/{ids['anju']}"
        await _post(http, await served.key("grid-worker", "gw-anju-2"), f"{path}/verify", {})
        await _post(
            http, await served.key("community-secretary", "sec-anju"), f"{path}/blow", {"departments": ["gas_company"]}
        )
        gas = await served.key("department", "gas_company")
        await _post(http, gas, f"{path}/report-in", {"officer": "燃气公司李工"})
        await _post(http, gas, f"{path}/complete", {"result": "168户完成通气"})
        await _post(http, operator, f"{path}/evaluate", {"rating": "satisfied", "comment": "终于通气了"})
        await caught_up(served, ids["anju"])
        await snapshot(SnapshotInput(day=today - timedelta(days=1)))

        ids["gangyuan"] = f"D-{uuid.uuid4().hex[:8]}"
        await _post(
            http, integrator, "/api/v1/complaints", intake(ids["gangyuan"], "gangyuan", "gangyuan_1", "building_safety")
        )
    return ids


async def caught_up(served: Served, complaint_id: str) -> None:
    """Wait until the read model holds every event of the case (a snapshot reads the read model)."""
    events = (await served.client.status(complaint_id)).event_count

    async def stored() -> bool:
        last = await served.pool.fetchval("select last_seq from complaints where complaint_id = $1", complaint_id)
        return bool(last is not None and last >= events)

    await wait_until(stored)


def intake(complaint_id: str, community: str, grid: str, category: str) -> dict[str, Any]:
    titles = {
        "streetlight": "老钢厂宿舍路灯不亮",
        "gas_supply": "回迁楼168户未通燃气",
        "building_safety": "外墙渗漏瓷砖脱落",
    }
    fields = {"complaint_id": complaint_id, "community": community, "grid": grid, "category": category}
    return new_intake(**fields, title=titles[category], reported_at=datetime.now(UTC).isoformat()).model_dump(
        mode="json", exclude_none=True
    )


async def test_the_dashboard_shows_live_cases_in_a_real_browser(served: Served, tmp_path: Path) -> None:
    ids = await live_cases(served)
    supervisor = await served.key("supervisor", "dubanchu")

    async def escalated() -> bool:
        async with httpx.AsyncClient(base_url=served.url) as http:
            found = await http.get("/api/v1/complaints?escalated=true", headers={"X-API-Key": supervisor})
        return ids["gangyuan"] in {case["complaint_id"] for case in found.json()}

    await wait_until(escalated, within=60)
    async with httpx.AsyncClient(base_url=served.url) as http:
        flag = await http.post(
            f"/api/v1/complaints/{ids['hongqi']}/flag", json={"note": "区领导批示：限期解决"},
            headers={"X-API-Key": supervisor},
        )  # fmt: skip
        assert flag.status_code == 200 and flag.json()["flagged"], flag.text

    async def flagged() -> bool:
        async with httpx.AsyncClient(base_url=served.url) as http:
            found = await http.get("/api/v1/complaints?flagged=true", headers={"X-API-Key": supervisor})
        return ids["hongqi"] in {case["complaint_id"]: case["flagged"] for case in found.json()}

    await wait_until(flagged, within=60)

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = await browser.new_page(viewport={"width": 1400, "height": 1000}, locale="zh-CN")
            page.set_default_timeout(60_000)  # a loaded CI machine, not a slow page
            await page.goto(f"{served.url}/dashboard#key={supervisor}&case={ids['anju']}")
            await page.wait_for_selector("#board:not([hidden])", timeout=60_000)
            assert await page.title() == "吹哨报到 · 督办看板 Supervision dashboard"
            assert "key=" not in page.url  # the key leaves the address bar at once

            escalated_rows = page.locator("#escalated tbody tr", has_text=ids["gangyuan"])
            await escalated_rows.first.wait_for(timeout=30_000)
            assert "钢苑社区" in await escalated_rows.first.inner_text()
            assert "第一书记" in await escalated_rows.first.inner_text()
            assert int(await page.inner_text("#escalated-count")) >= 1
            flagged_rows = page.locator("#flagged tbody tr", has_text=ids["hongqi"])
            assert await flagged_rows.count() == 1 and "红旗社区" in await flagged_rows.first.inner_text()
            assert int(await page.inner_text("#flagged-count")) >= 1
            assert await page.locator("#flagged tbody tr", has_text=ids["gangyuan"]).count() == 0

            ranking = await page.inner_text("#rank-community")
            assert "红旗社区" in ranking and "安居社区" in ranking and "%" in ranking
            assert "燃气公司" in await page.inner_text("#rank-department")
            assert await page.locator("#chart svg polyline").count() >= 1

            timeline = page.locator("#timeline li")
            await page.wait_for_function("document.querySelectorAll('#timeline li').length >= 6")
            texts = await timeline.all_inner_texts()
            assert "立案" in texts[0] and any("居民评价" in text and "满意" in text for text in texts)
            assert await page.inner_text("#timeline-case") == ids["anju"]

            # Clicking another case shows its timeline.
            await page.locator(f"#recent a.case[data-case='{ids['hongqi']}']").click()
            await page.wait_for_function(
                f"document.getElementById('timeline-case').textContent === '{ids['hongqi']}' && "
                "[...document.querySelectorAll('#timeline li')].some(li => li.textContent.includes('部门报到'))"
            )
            screenshot = Path(SCREENSHOT_TO) if SCREENSHOT_TO else tmp_path / "dashboard.png"
            await page.screenshot(path=str(screenshot), full_page=True)
            assert screenshot.stat().st_size > 10_000
        finally:
            await browser.close()


async def test_the_dashboard_needs_a_key(served: Served) -> None:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = await browser.new_page()
            page.set_default_timeout(60_000)
            await page.goto(f"{served.url}/dashboard#key=wh_0000000000000000_{'x' * 43}")
            await page.wait_for_function("document.getElementById('status').textContent.includes('401')")
            assert await page.locator("#board").is_hidden()
        finally:
            await browser.close()
