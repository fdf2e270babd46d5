"""``whistle hotspots`` run as a user runs it: a subprocess against the dev server and a PostgreSQL database of the
test's own, so its figures are exact. Last month's cases are stored through the store's own path; this month's are
filed with ``whistle submit`` through real Temporal and stored by the worker."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from openpyxl import load_workbook
from temporalio.testing import WorkflowEnvironment

from activities.event_store import Pool
from schemas.calendar import CHINA_TIME
from schemas.hotspots import months_back
from tests.helpers import running_worker, wait_until
from tests.hotspot_cases import filed, store_all
from tests.pg import TestDatabase
from tests.test_cli import Cli, intake, new_id


@pytest.fixture
async def cli(
    dev_env: WorkflowEnvironment, own_database: TestDatabase, own_pool: Pool, tmp_path: Path
) -> AsyncIterator[Cli]:
    """``whistle`` pointed at the dev server and the test's own database, a worker storing into it."""
    async with running_worker(dev_env.client, own_pool) as client:
        env = {
            **os.environ,
            "TEMPORAL_ADDRESS": dev_env.client.service_client.config.target_host,
            "TEMPORAL_NAMESPACE": dev_env.client.namespace,
            "DATABASE_URL": own_database.url,
            "WHISTLE_TASK_QUEUE": client.task_queue,
            "WHISTLE_HOME": str(tmp_path / "home"),
            "WHISTLE_LOG_FORMAT": "json",
            "WHISTLE_ALLOW_PLAINTEXT": "true",
            "COLUMNS": "200",  # the table's every column on one line, as in a wide terminal
        }
        yield Cli(env, client)


async def test_a_place_recurring_two_months_is_flagged_in_the_table_json_and_spreadsheet(
    cli: Cli, own_pool: Pool, tmp_path: Path
) -> None:
    now = datetime.now(CHINA_TIME)
    last_month = datetime.combine(months_back(now.date(), 1), datetime.min.time(), CHINA_TIME) + timedelta(days=3)
    await store_all(own_pool, [
        filed(f"HC-{uuid.uuid4().hex[:8]}", "hebin_1", "garbage", last_month + timedelta(hours=hours))
        for hours in (9, 10, 11)
    ])  # fmt: skip
    garbage = {"community": "hebin", "grid": "hebin_1", "category": "garbage", "title": "垃圾清运不及时"}
    for _ in range(3):
        submitted = await cli("submit", "-", "--json", stdin=intake(new_id(), **garbage))
        assert submitted.code == 0, submitted.stderr
    assert (await cli("submit", "-", "--json", stdin=intake(new_id()))).code == 0  # one streetlight in gangyuan_1

    async def counted() -> bool:
        run = await cli("hotspots", "--json", "--show", "all")
        assert run.code == 0, run.stderr
        return bool(sum(h["complaints"] for h in run.json()["hotspots"]) == 7)

    await wait_until(counted, within=60)
    report = (await cli("hotspots", "--json")).json()
    assert [(h["place"], h["category"], h["complaints"], h["months_over"], h["longest_run"], h["flagged"])
            for h in report["hotspots"]] == [("hebin_1", "garbage", 6, 2, 2, True)]  # fmt: skip
    assert [m["complaints"] for m in report["hotspots"][0]["months"][-2:]] == [3, 3]
    assert report["flagged"] == 1 and report["by"] == "grid"

    table = await cli("hotspots")
    assert table.code == 0, table.stderr
    lines = table.stdout.splitlines()
    header = next(line for line in lines if "类别" in line)
    for column in ("排名", "类别", "网格", "月份", "件数", "超阈月数", "连续月数", "主动治理"):
        assert column in header
    row = next(line for line in lines if "垃圾清运不及时" in line)
    assert "河滨社区 河滨社区第一网格" in row and row.rstrip().endswith("是")
    assert f"{last_month:%Y-%m}:3" in row and f"{now:%Y-%m}:3" in row
    assert "共 1 处" in table.stdout

    community = (await cli("hotspots", "--by", "community", "--show", "all", "--json")).json()
    assert [(h["place_name"], h["complaints"]) for h in community["hotspots"]] == [("河滨社区", 6), ("钢苑社区", 1)]
    since = (await cli("hotspots", "--since", f"{now:%Y-%m}-01", "--json")).json()
    assert since["months"] == [f"{now:%Y-%m}"] and since["flagged"] == 0

    sheet = tmp_path / "热点.xlsx"
    exported = await cli("hotspots", "--format", "xlsx", "--out", str(sheet))
    assert exported.code == 0 and str(sheet) in exported.stderr
    book = load_workbook(sheet)
    assert book.sheetnames[1] == "说明"
    rows = list(book.worksheets[0].iter_rows(values_only=True))
    assert rows[0][:4] == ("排名", "类别", "社区", "网格")
    assert rows[1][:4] == (1, "垃圾清运不及时", "河滨社区", "河滨社区第一网格")
    piped = await cli("hotspots", "--format", "csv", "--show", "flagged")
    assert piped.code == 0 and piped.stdout.startswith("\ufeff网格热点")


@pytest.mark.parametrize(
    ("arguments", "field"),
    [(["--by", "street"], "by"), (["--since", "2026-13-01"], "since"), (["--since", "2999-01-01"], "since"),
     (["--show", "hot"], "show"), (["--json", "--format", "xlsx"], "")],
    ids=["by a street", "no such month", "since in the future", "show hot", "json and xlsx"],
)  # fmt: skip
async def test_a_bad_option_exits_2_with_one_line_naming_it(cli: Cli, arguments: list[str], field: str) -> None:
    run = await cli("hotspots", *arguments)
    assert run.code == 2 and len(run.stderr_lines) == 1, run.stderr
    assert run.stderr_lines[0].startswith(f"invalid: {field}")
