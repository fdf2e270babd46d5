"""``whistle list`` and ``whistle report`` with ``--format xlsx|csv``, run as a user runs them (a subprocess
against the dev server and PostgreSQL), the files read back with openpyxl and the csv module."""

from __future__ import annotations

import csv
from pathlib import Path

from openpyxl import load_workbook

from tests.helpers import wait_until
from tests.test_cli import Cli, cli, intake, new_id
from whistle.exports import CASE_HEADERS

__all__ = ["cli"]  # the fixture, shared with tests/test_cli.py


async def test_list_and_report_export_real_cases(cli: Cli, tmp_path: Path) -> None:
    case = new_id()
    assert (await cli("submit", "-", "--json", stdin=intake(case))).code == 0
    listing = tmp_path / "案件.csv"

    async def exported() -> bool:
        run = await cli("list", "--community", "gangyuan", "--format", "csv", "--out", str(listing))
        assert run.code == 0, run.stderr
        with listing.open(encoding="utf-8-sig", newline="") as file:
            return any(row[:1] == [case] for row in csv.reader(file))

    await wait_until(exported)
    with listing.open(encoding="utf-8-sig", newline="") as file:
        rows = list(csv.reader(file))
    assert rows[0] == CASE_HEADERS
    mine = next(row for row in rows if row[0] == case)
    assert mine[1:5] == ["钢苑社区", "钢苑社区第一网格（老钢厂宿舍）", "路灯不亮", "网格发现"]

    ranking = tmp_path / "排名.xlsx"
    run = await cli("report", "--by", "all", "--format", "xlsx", "--out", str(ranking))
    assert run.code == 0, run.stderr
    assert str(ranking) in run.stderr
    book = load_workbook(ranking)
    assert book.sheetnames == ["社区排名", "职能部门排名", "第一书记排名", "说明"]
    assert [cell.value for cell in book["社区排名"][1]][:3] == ["排名", "榜", "名称"]
    names = [row[2] for row in book["社区排名"].iter_rows(min_row=2, values_only=True)]
    assert "钢苑社区" in names

    piped = await cli("report", "--format", "csv")  # stdout is a pipe here: the bytes go there
    assert piped.code == 0 and piped.stdout.startswith("\ufeff社区排名")
    assert (await cli("report", "--json")).json()["by"] == "community"
    clash = await cli("report", "--json", "--format", "csv")
    assert clash.code == 2 and "invalid" in clash.stderr
    unknown = await cli("list", "--format", "pdf")
    assert unknown.code == 2 and "table" in unknown.stderr
