"""Supervisors' commands: ``whistle list``, ``whistle report``, ``whistle ledger`` and ``whistle projections
rebuild``.

They read, never act: ``list`` and ``report`` ask the PostgreSQL read models through
the SDK, ``projections rebuild`` refolds the read models from the event store. None needs a worker.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime
from typing import Annotated

import typer
from pydantic import TypeAdapter
from rich import box
from rich.table import Table
from temporalio.service import RPCError

from activities.duplicates import DuplicateCandidate
from activities.event_store import apply_migrations, create_pool
from activities.files import load_directory
from cli import output
from cli.exporting import FormatOption, OutOption, chosen_format, emit
from cli.runtime import open_session, reported_settings
from schemas.errors import CommandRejected
from schemas.rates import Report, ReportGroupBy
from whistle import devstack
from whistle.case_list import MOST_LISTED, CaseFilter, CaseSummary
from whistle.exports import case_sheet, report_sheets
from whistle.ledger import LedgerEntryRow
from whistle.ledger import ledger as ledger_rows
from whistle.projections import RebuildResult, rebuild
from whistle.settings import Settings

JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")]

projections_app = typer.Typer(help="The PostgreSQL read models folded from the event store.")

GROUP_LABELS = {"community": "社区", "department": "职能部门", "first_secretary": "第一书记"}
BOARD_LABELS = {"red": "红榜", "black": "黑榜"}
GROUPINGS: TypeAdapter[ReportGroupBy] = TypeAdapter(ReportGroupBy)


def list_cases(
    stage: Annotated[
        str | None, typer.Option("--stage", help="discovered, whistled, handling, evaluating or closed.")
    ] = None,
    community: Annotated[str | None, typer.Option("--community", help="A community code.")] = None,
    grid: Annotated[str | None, typer.Option("--grid", help="A grid code (网格).")] = None,
    department: Annotated[str | None, typer.Option("--department", help="A department on the case.")] = None,
    category: Annotated[str | None, typer.Option("--category", help="A category code.")] = None,
    escalated: Annotated[bool, typer.Option("--escalated", help="Held by a first or street secretary now.")] = False,
    overdue: Annotated[bool, typer.Option("--overdue", help="The next deadline has passed.")] = False,
    flagged: Annotated[bool, typer.Option("--flagged", help="Under leader supervision (重点督办).")] = False,
    limit: Annotated[
        int, typer.Option("--limit", min=1, max=MOST_LISTED, help="At most this many cases.")
    ] = MOST_LISTED,
    after: Annotated[
        str | None, typer.Option("--after", help="The next page: the cursor printed under the previous one.")
    ] = None,
    as_json: JsonFlag = False,
    fmt: FormatOption = None,
    out: OutOption = None,
) -> None:
    """Cases matching every filter given, newest first, a page at a time, from the PostgreSQL read model."""
    with reported_settings(RPCError, RuntimeError, OSError, CommandRejected) as settings:
        case_filter = CaseFilter.model_validate({"stage": stage})
        chosen = chosen_format(fmt, as_json)

        async def listing() -> tuple[output.Names, list[CaseSummary]]:
            client = (await open_session(settings)).client
            found = await client.list(
                stage=case_filter.stage, community=community, grid=grid, department=department, category=category,
                escalated=escalated, overdue=overdue, flagged=flagged, limit=limit, after=after,
            )  # fmt: skip
            return output.Names(client.directory), found

        names, found = asyncio.run(listing())
        if chosen in ("xlsx", "csv"):
            emit([case_sheet(found, load_directory(settings.org))], chosen, out)
            return
    if chosen == "json":
        output.print_json([summary.model_dump(mode="json") for summary in found])
    else:
        output.console.print(cases_table(found, names))
        if len(found) == limit:
            output.console.print(f"下一页 (next page): --after {found[-1].cursor}", markup=False)


def duplicates(
    complaint_id: Annotated[str, typer.Argument(metavar="ID", help="The case.")],
    as_json: JsonFlag = False,
) -> None:
    """Open cases that may report the same problem (工单合并): same category and grid, filed within the case's
    duplicate_window, within duplicate_distance_m when both have coordinates; the closest in time first, from the
    read model."""
    with reported_settings(RPCError, RuntimeError, OSError) as settings:

        async def finding() -> list[DuplicateCandidate]:
            client = (await open_session(settings)).client
            try:
                return await client.duplicates(complaint_id)
            finally:
                await client.close()

        found = asyncio.run(finding())
    if as_json:
        output.print_json(dump_candidates(found))
    else:
        output.console.print(duplicates_table(found, f"可能与 {complaint_id} 重复的工单"))


def dump_candidates(found: list[DuplicateCandidate]) -> list[dict[str, object]]:
    return [candidate.model_dump(mode="json") for candidate in found]


def duplicates_table(found: list[DuplicateCandidate], title: str) -> Table:
    table = Table(title=f"{title}：{len(found)} 件", title_justify="left", box=box.SIMPLE_HEAD)
    for column in ("编号", "标题", "阶段", "网格", "立案时间", "距离(米)", "已并入"):
        table.add_column(column, overflow="fold")
    for case in found:
        distance = "—" if case.distance_m is None else f"{case.distance_m:.0f}"
        table.add_row(
            case.complaint_id, case.title, output.label("stage", case.stage), case.grid,
            output.local_time(case.filed_at), distance, str(case.linked_reports),
        )  # fmt: skip
    return table


def report(
    by: Annotated[
        str, typer.Option("--by", help="community, department or first-secretary; all: every one (xlsx/csv only).")
    ] = "community",
    since: Annotated[
        datetime | None, typer.Option("--since", formats=["%Y-%m-%d"], help="Cases filed from this day (Beijing).")
    ] = None,
    as_json: JsonFlag = False,
    fmt: FormatOption = None,
    out: OutOption = None,
) -> None:
    """Response, resolution and satisfaction rates with the red/black ranking (红黑榜), from the read models."""
    day: date | None = since.date() if since else None
    with reported_settings(RPCError, RuntimeError, OSError) as settings:
        chosen = chosen_format(fmt, as_json)
        every = by == "all" and chosen in ("xlsx", "csv")
        groupings: list[ReportGroupBy] = (
            ["community", "department", "first_secretary"]
            if every
            else [GROUPINGS.validate_python(by.replace("-", "_"))]
        )

        async def reporting() -> list[Report]:
            client = (await open_session(settings)).client
            try:
                return [await client.report(grouping, since=day) for grouping in groupings]
            finally:
                await client.close()

        rankings = asyncio.run(reporting())
        if chosen == "xlsx" or chosen == "csv":
            emit(report_sheets(rankings), chosen, out)
            return
    ranking = rankings[0]
    if chosen == "json":
        output.print_json(ranking.model_dump(mode="json"))
    else:
        output.console.print(report_table(ranking))


@projections_app.command("rebuild")
def rebuild_projections(as_json: JsonFlag = False) -> None:
    """Drop every read model and fold it again from the event store, in one transaction."""
    with reported_settings(RPCError, RuntimeError, OSError) as settings:

        async def rebuilding() -> RebuildResult:
            stack = await asyncio.to_thread(devstack.up, settings)
            pool = await create_pool(stack.database_url)
            try:
                await apply_migrations(pool)
                return await rebuild(pool)
            finally:
                await pool.close()

        result = asyncio.run(rebuilding())
    if as_json:
        output.print_json(result.model_dump(mode="json"))
    else:
        output.console.print(f"读模型已重建：{result.cases} 件案件，{result.events} 条事件")


def cases_table(found: list[CaseSummary], names: output.Names) -> Table:
    now = datetime.now(UTC)
    table = Table(title=f"案件 {len(found)} 件", title_justify="left", box=box.SIMPLE_HEAD)
    for column in ("编号", "社区", "网格", "类别", "阶段", "升级", "部门", "下一时限", "超期", "督办"):
        table.add_column(column, overflow="fold")
    for case in found:
        table.add_row(
            case.complaint_id,
            names.of("community", case.community or "—"),
            names.of("grid", case.grid or "—"),
            names.of("category", case.category or "—"),
            output.label("stage", case.stage) if case.stage else "—",
            output.label("escalation_level", case.escalation_level),
            "、".join(names.department(code) for code in case.departments) or "—",
            output.local_time(case.next_deadline),
            "是" if case.next_deadline is not None and case.next_deadline < now else "",
            "重点督办" if case.flagged else "",
        )
    return table


def _percent(rate: float | None) -> str:
    return "—" if rate is None else f"{rate:.1%}"


def report_table(ranking: Report) -> Table:
    since = f"，{ranking.since} 起立案" if ranking.since else ""
    title = f"{GROUP_LABELS[ranking.by]}排名（红黑榜）{since}，生成于 {output.local_time(ranking.generated_at)}"
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD)
    two_way = ranking.by == "department"
    columns = ["排名", "榜", "名称", "案件", "响应率", "解决率", "满意率", "超期", "升级", "催办"]
    columns += ["回访(未解决/漏访)", "合并", "综合"]
    if two_way:
        columns.insert(7, "社区评价")
    for column in columns:
        table.add_column(column, justify="left" if column in ("榜", "名称") else "right")
    for group in ranking.groups:
        community_rating = f"{_percent(group.community_rating_rate)} ({group.community_good}/{group.community_ratings})"
        cells = [
            str(group.rank) if group.rank else "—",
            BOARD_LABELS.get(group.board or "", ""),
            group.name,
            str(group.cases),
            f"{_percent(group.response_rate)} ({group.reported_on_time}/{group.summoned})",
            f"{_percent(group.resolution_rate)} ({group.resolved}/{group.closed})",
            f"{_percent(group.satisfaction_rate)} ({group.satisfied}/{group.evaluations})",
            str(group.overdue),
            str(group.escalated),
            str(group.urged),
            f"{group.followed_up} ({group.follow_up_unsolved}/{group.follow_up_missed})",
            str(group.merged),
            _percent(group.score),
        ]
        if two_way:
            cells.insert(7, community_rating)
        table.add_row(*cells)
    return table


def ledger(
    public: Annotated[bool, typer.Option("--public", help="The public list (百日解百难): no personal data.")] = False,
    as_json: JsonFlag = False,
) -> None:
    """The long-running ledger (挂账): parked cases and cases three times past their handling deadline, with
    age and owner, read from the read model (no worker needed)."""
    with reported_settings() as settings:
        rows = asyncio.run(_ledger(settings, public))
    if as_json:
        private = {"address"} if public else set()
        output.print_json([row.model_dump(mode="json", exclude=private) for row in rows])
        return
    names = output.Names(load_directory(settings.org))
    output.console.print(output.ledger_table(rows, names, public=public))


async def _ledger(settings: Settings, public: bool) -> list[LedgerEntryRow]:
    session = await open_session(settings)
    pool = await create_pool(session.stack.database_url)
    try:
        return await ledger_rows(pool, session.client.directory, datetime.now(UTC), public=public)
    finally:
        await pool.close()
