"""The export sheets (pure) and their xlsx and csv files, read back with openpyxl and the csv module."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from openpyxl import load_workbook

from activities.files import load_directory
from schemas.rates import GroupFigures, Report
from whistle.case_list import CaseSummary
from whistle.exports import CASE_HEADERS, case_sheet, report_sheet, report_sheets
from whistle.settings import Settings
from whistle.spreadsheet import to_csv, to_xlsx

GENERATED = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)


def figures(group: str, name: str, **overrides: Any) -> GroupFigures:
    base: dict[str, Any] = {
        "group": group, "name": name, "cases": 4, "summoned": 4, "reported_on_time": 3, "declined": 1,
        "response_rate": 0.75, "closed": 2, "resolved": 1, "withdrawn": 1, "resolution_rate": 0.5,
        "evaluations": 1, "satisfied": 1, "satisfaction_rate": 1.0, "overdue": 2, "escalated": 1,
        "score": 0.725, "rank": 1, "board": "red",
    }  # fmt: skip
    return GroupFigures.model_validate({**base, **overrides})


def ranking(by: str = "community") -> Report:
    groups = [
        figures("hongqi", "红旗社区"),
        figures("gangyuan", "钢苑社区", response_rate=None, score=None, rank=None, board=None, summoned=0),
    ]
    return Report.model_validate({"by": by, "since": date(2026, 11, 1), "generated_at": GENERATED, "groups": groups})


def summary(complaint_id: str, **overrides: Any) -> CaseSummary:
    base: dict[str, Any] = {
        "complaint_id": complaint_id, "workflow_id": f"complaint-{complaint_id}", "stage": "whistled",
        "community": "hongqi", "grid": "hongqi_1", "category": "streetlight",
        "departments": ["urban_management", "power_supply"], "escalation_level": 1,
        "next_deadline": datetime(2026, 12, 2, 1, 0, tzinfo=UTC), "overdue": True,
        "filed_at": datetime(2026, 12, 1, 16, 30, tzinfo=UTC), "running": True, "flagged": True,
    }  # fmt: skip
    return CaseSummary.model_validate({**base, **overrides})


def test_the_report_sheet_has_the_cli_headers_numbers_and_the_board() -> None:
    sheet = report_sheet(ranking())
    assert sheet.title == "社区排名2026-11-01起"
    assert sheet.headers[:6] == ["排名", "榜", "名称", "编码", "案件", "响应率"]
    assert {"响应率", "解决率", "满意率", "综合"} == set(sheet.percent_columns)
    first = dict(zip(sheet.headers, sheet.rows[0], strict=True))
    assert (first["排名"], first["榜"], first["名称"]) == (1, "红榜", "红旗社区")
    assert (first["响应率"], first["按时报到"], first["应报到"]) == (0.75, 3, 4)
    second = dict(zip(sheet.headers, sheet.rows[1], strict=True))
    assert (second["排名"], second["榜"], second["响应率"], second["综合"]) == (None, "", None, None)
    assert "社区评价" not in sheet.headers
    assert "社区评价" in report_sheet(ranking("department")).headers


def test_the_case_sheet_names_codes_and_shows_beijing_time() -> None:
    directory = load_directory(Settings().org)
    sheet = case_sheet([summary("C-1"), summary("C-2", flagged=False, overdue=False, stage=None)], directory)
    assert sheet.headers == CASE_HEADERS and sheet.title == "案件2件"
    row = dict(zip(sheet.headers, sheet.rows[0], strict=True))
    assert row["社区"] == "红旗社区" and row["阶段"] == "社区吹哨" and row["升级"] == "第一书记"
    assert row["部门"] == "区城市管理局、供电公司"
    assert row["立案时间"] == datetime(2026, 12, 2, 0, 30)  # 16:30 UTC is the next day, 00:30, in Beijing
    assert (row["超期"], row["督办"]) == ("是", "重点督办")
    other = dict(zip(sheet.headers, sheet.rows[1], strict=True))
    assert (other["阶段"], other["超期"], other["督办"]) == ("", "", "")


def test_the_workbook_has_a_sheet_per_table_bold_frozen_headers_and_percents(tmp_path: Path) -> None:
    path = tmp_path / "排名.xlsx"
    path.write_bytes(to_xlsx(report_sheets([ranking(), ranking("department")])))
    book = load_workbook(path)
    assert book.sheetnames == ["社区排名2026-11-01起", "职能部门排名2026-11-01起", "说明"]
    page = book["社区排名2026-11-01起"]
    headers = [cell.value for cell in page[1]]
    assert headers[:3] == ["排名", "榜", "名称"] and all(cell.font.bold for cell in page[1])
    assert page.freeze_panes == "A2"
    rate = page.cell(row=2, column=headers.index("响应率") + 1)
    assert rate.value == 0.75 and rate.number_format == "0.0%"
    assert page.cell(row=2, column=headers.index("榜") + 1).value == "红榜"
    assert page.cell(row=3, column=headers.index("响应率") + 1).value is None
    assert page.column_dimensions["C"].width >= 10  # 红旗社区: four CJK characters, two columns each
    about = book["说明"]
    expected = ["社区排名2026-11-01起", "社区", "2026-11-01", datetime(2026, 12, 1, 10)]
    assert [cell.value for cell in about[2]] == expected


def test_the_csv_starts_with_a_bom_and_reads_back_in_chinese(tmp_path: Path) -> None:
    directory = load_directory(Settings().org)
    path = tmp_path / "cases.csv"
    path.write_bytes(to_csv([case_sheet([summary("C-1")], directory)]))
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    with path.open(encoding="utf-8-sig", newline="") as file:
        rows = list(csv.reader(file))
    assert rows[0] == CASE_HEADERS
    assert rows[1][:2] == ["C-1", "红旗社区"] and rows[1][7] == "2026-12-02 00:30:00"
    several = to_csv(report_sheets([ranking()])).decode("utf-8-sig")
    lines = list(csv.reader(io.StringIO(several)))
    assert lines[0] == ["社区排名2026-11-01起"] and lines[1][:3] == ["排名", "榜", "名称"]
    assert lines[2][5] == "75.0%"
    assert ["说明"] in lines
