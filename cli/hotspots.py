"""``whistle hotspots``: the places and categories that keep drawing complaints (每月一题, 未诉先办), month by month,
ranked, with those the policy's ``hotspot`` rule flags for proactive governance (主动治理). Read from the PostgreSQL
read model through the SDK; no worker needed.
"""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer
from rich import box
from rich.table import Table
from rich.text import Text
from temporalio.service import RPCError

from cli import output
from cli.exporting import FormatOption, OutOption, chosen_format, emit
from cli.runtime import open_session, reported_settings
from schemas.hotspots import HotspotReport
from whistle.hotspot_exports import FLAG_LABEL, PLACE_LABELS, hotspot_sheets

SINCE_HELP = (
    "Count cases filed from this day (YYYY-MM-DD, Beijing); default: the policy's hotspot.window_months, this month "
    "included."
)
JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


def hotspots(
    by: Annotated[str, typer.Option("--by", help="grid or community: the place complaints are counted by.")] = "grid",
    since: Annotated[str | None, typer.Option("--since", help=SINCE_HELP)] = None,
    show: Annotated[
        str, typer.Option("--show", help="recurring (a month over the threshold), flagged (主动治理) or all.")
    ] = "recurring",
    as_json: JsonFlag = False,
    fmt: FormatOption = None,
    out: OutOption = None,
) -> None:
    """Complaints per place, category and month, the recurring ones ranked (months over the policy's threshold, then
    total) and those to govern before residents complain flagged (主动治理)."""
    with reported_settings(RPCError, RuntimeError, OSError) as settings:
        chosen = chosen_format(fmt, as_json)

        async def counting() -> HotspotReport:
            client = (await open_session(settings)).client
            try:
                return await client.hotspots(by=by, since=since, show=show)
            finally:
                await client.close()

        report = asyncio.run(counting())
        if chosen == "xlsx" or chosen == "csv":
            emit(hotspot_sheets(report), chosen, out)
            return
    if chosen == "json":
        output.print_json(report.model_dump(mode="json"))
    else:
        output.console.print(hotspot_table(report))


def hotspot_table(report: HotspotReport) -> Table:
    """One row per place and category: the months that drew complaints (those over the threshold in bold), the
    total, the longest run of months over the threshold and the flag."""
    rule = report.rule
    taken = output.local_time(report.generated_at)
    title = (
        f"{PLACE_LABELS[report.by]}热点（每月一题），{report.since} 起立案，生成于 {taken}；"
        f"每月 {rule.min_complaints_per_month} 件以上满 {rule.min_months} 个月即{FLAG_LABEL}，共 {report.flagged} 处"
    )
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD)
    for column in ("排名", "类别", PLACE_LABELS[report.by], "月份", "件数", "超阈月数", "连续月数", FLAG_LABEL):
        table.add_column(column, justify="right" if column in ("排名", "件数", "超阈月数", "连续月数") else "left")
    for hotspot in report.hotspots:
        months = Text()
        for month in hotspot.months:
            if month.complaints:
                hot = month.complaints >= rule.min_complaints_per_month
                months.append(f"{month.month}:{month.complaints} ", style="bold red" if hot else "")
        place = hotspot.place_name if report.by == "community" else f"{hotspot.community_name} {hotspot.place_name}"
        table.add_row(
            str(hotspot.rank), hotspot.category_name, place, months, str(hotspot.complaints),
            str(hotspot.months_over), str(hotspot.longest_run), "是" if hotspot.flagged else "",
        )  # fmt: skip
    return table
