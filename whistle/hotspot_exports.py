"""Hotspots as a spreadsheet (每月一题): one row per place and category as ``whistle hotspots`` ranks them, a column per
month with its complaints, then the total, the months over the threshold, the longest run and the 主动治理 flag, under
Chinese headers; a second sheet says which rule, range and moment the figures are for. Pure: written as xlsx or
csv by ``whistle.spreadsheet`` like every other export.
"""

from __future__ import annotations

from schemas.calendar import CHINA_TIME
from schemas.hotspots import HotspotReport
from whistle.exports import Cell, Sheet

PLACE_LABELS = {"grid": "网格", "community": "社区"}
FLAG_LABEL = "主动治理"


def hotspot_sheets(report: HotspotReport) -> list[Sheet]:
    """The ranking, then a note of its rule, range and moment."""
    place = PLACE_LABELS[report.by]
    places = ["社区", "网格"] if report.by == "grid" else ["社区"]
    ranking = Sheet(
        title=f"{place}热点{report.since}起",
        headers=["排名", "类别", *places, *report.months, "件数", "超阈月数", "连续月数", FLAG_LABEL],
    )
    for hotspot in report.hotspots:
        where: list[Cell] = [hotspot.community_name]
        if report.by == "grid":
            where.append(hotspot.place_name)
        ranking.rows.append([
            hotspot.rank, hotspot.category_name, *where, *(month.complaints for month in hotspot.months),
            hotspot.complaints, hotspot.months_over, hotspot.longest_run, "是" if hotspot.flagged else "",
        ])  # fmt: skip
    rule = report.rule
    about = Sheet(
        title="说明",
        headers=["分组", "立案起始日", "生成时间（北京时间）", "每月件数阈值", "最少月数", "窗口月数", FLAG_LABEL],
    )
    taken = report.generated_at.astimezone(CHINA_TIME).replace(tzinfo=None)  # spreadsheets store no zone
    about.rows.append([
        place, str(report.since), taken, rule.min_complaints_per_month, rule.min_months, rule.window_months,
        report.flagged,
    ])  # fmt: skip
    return [ranking, about]
