"""The dashboard's hotspot panel (主动治理热点) in a real browser: Debian's Chromium, headless, driven by Playwright.

The gateway runs over a database of its own holding last month's and this month's cases (stored through the store's
own path, one more filed through the gateway on the dev server), so the panel's rows are exactly the flagged ones.
``WHISTLE_HOTSPOTS_SCREENSHOT=docs/hotspots.png`` keeps the screenshot.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest
from playwright.async_api import async_playwright
from temporalio.testing import WorkflowEnvironment

from activities.event_store import Pool, apply_migrations, create_pool
from schemas.calendar import CHINA_TIME
from schemas.hotspots import months_back
from tests.gateway_helpers import Served, intake_json, post, serving
from tests.helpers import wait_until
from tests.hotspot_cases import filed, store_all
from tests.pg import TestDatabase
from tests.test_dashboard import CHROMIUM, CHROMIUM_ARGS
from whistle.devstack import ensure_database

SCREENSHOT_TO = os.environ.get("WHISTLE_HOTSPOTS_SCREENSHOT")

pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed (.ci/run installs it)"
)


@pytest.fixture(scope="module")
async def served(dev_env: WorkflowEnvironment, database: TestDatabase) -> AsyncIterator[Served]:
    """The gateway over a database of its own: hebin_1 drew three garbage complaints last month and three this month
    (flagged), anju_2 four fume complaints this month only (not flagged)."""
    url = await ensure_database(database.url, f"whistle_dash_hotspots_{uuid.uuid4().hex[:8]}")
    pool: Pool = await create_pool(url)
    try:
        await apply_migrations(pool)
        now = datetime.now(CHINA_TIME)
        last_month = datetime.combine(months_back(now.date(), 1), datetime.min.time(), CHINA_TIME) + timedelta(days=5)
        month_start = datetime.combine(months_back(now.date(), 0), datetime.min.time(), CHINA_TIME)
        this_month = month_start + (now - month_start) / 2
        cases = [filed(f"HD-{uuid.uuid4().hex[:8]}", "hebin_1", "garbage", last_month + timedelta(hours=n))
                 for n in range(3)]  # fmt: skip
        cases += [filed(f"HD-{uuid.uuid4().hex[:8]}", "hebin_1", "garbage", this_month - timedelta(minutes=n))
                  for n in range(2)]  # fmt: skip
        cases += [filed(f"HD-{uuid.uuid4().hex[:8]}", "anju_2", "cooking_fumes", this_month - timedelta(minutes=n))
                  for n in range(4)]  # fmt: skip
        await store_all(pool, cases)
        async with serving(dev_env.client, pool) as running:
            integrator = await running.key("integrator", "dashboard-hotspots")
            async with httpx.AsyncClient(base_url=running.url, timeout=30) as http:
                third = intake_json(community="hebin", grid="hebin_1", category="garbage", title="垃圾三天没人清运")
                assert (await post(http, integrator, "/api/v1/complaints", third)).status_code == 201
            yield running
    finally:
        await pool.close()


async def test_the_dashboard_lists_the_flagged_hotspots_in_a_real_browser(served: Served, tmp_path: Path) -> None:
    supervisor = await served.key("supervisor", "dubanchu")

    async def flagged() -> bool:
        async with httpx.AsyncClient(base_url=served.url) as http:
            found = await http.get("/api/v1/hotspots?show=flagged", headers={"X-API-Key": supervisor})
        return bool(found.json()["flagged"] == 1)

    await wait_until(flagged, within=60)  # the gateway's filing stored by the worker
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = await browser.new_page(viewport={"width": 1400, "height": 1000}, locale="zh-CN")
            page.set_default_timeout(60_000)
            await page.goto(f"{served.url}/dashboard#key={supervisor}")
            await page.wait_for_selector("#board:not([hidden])", timeout=60_000)
            rows = page.locator("#hotspots tbody tr")
            assert await rows.count() == 1
            cells = await rows.first.locator("td").all_inner_texts()
            assert cells[:3] == ["1", "垃圾清运不及时", "河滨社区 · 河滨社区第一网格"]
            assert cells[4:] == ["6", "2", "2"]
            assert await rows.first.get_attribute("data-place") == "hebin_1"
            hot_months = await rows.first.locator(".month.hot b").all_inner_texts()
            assert hot_months == ["3", "3"]
            assert await rows.first.locator(".month").count() == 6
            assert await page.inner_text("#hotspot-count") == "1"
            rule = await page.inner_text("#hotspot-rule")
            assert "每月 3 件以上满 2 个月" in rule and "共 1 处" in rule
            assert "安居" not in await page.inner_text("#hotspots")  # one month over the threshold is not flagged
            screenshot = Path(SCREENSHOT_TO) if SCREENSHOT_TO else tmp_path / "hotspots.png"
            await page.locator("#hotspots").screenshot(path=str(screenshot))
            await page.screenshot(path=str(tmp_path / "dashboard.png"), full_page=True)
            assert screenshot.stat().st_size > 2_000
        finally:
            await browser.close()
