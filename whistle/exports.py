"""The spreadsheets supervisors exchange (Excel, CSV): the 三率 ranking with its 红黑榜 and the case list as
tables of plain cells under Chinese headers, the same columns and words as ``whistle report`` and ``whistle
list`` print. Pure: ``whistle.spreadsheet`` writes these tables as xlsx or csv.

Rates stay numbers (a fraction, formatted as a percent by the xlsx writer) so a spreadsheet can sort and sum them;
the counts the CLI shows in brackets get columns of their own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from schemas.calendar import CHINA_TIME
from schemas.labels import VALUE_LABELS
from schemas.org import OrgDirectory
from schemas.rates import GroupFigures, Report
from whistle.case_list import CaseSummary

Cell = str | int | float | datetime | None

GROUP_LABELS = {"community": "社区", "department": "职能部门", "first_secretary": "第一书记"}
BOARD_LABELS = {"red": "红榜", "black": "黑榜"}


@dataclass
class Sheet:
    """One table: a sheet of a workbook, or one CSV file."""

    title: str
    headers: list[str]
    rows: list[list[Cell]] = field(default_factory=list)
    percent_columns: frozenset[str] = frozenset()
    """Headers whose cells are fractions, shown as percents."""


def _label(kind: str, value: object) -> str:
    return VALUE_LABELS.get(kind, {}).get(str(value), str(value))


def _local(moment: datetime | None) -> datetime | None:
    """Beijing time without a zone: spreadsheets cannot store an offset, and supervisors read local time."""
    return None if moment is None else moment.astimezone(CHINA_TIME).replace(tzinfo=None)


_REPORT_COLUMNS: list[tuple[str, str]] = [
    ("排名", "rank"), ("榜", "board"), ("名称", "name"), ("编码", "group"), ("案件", "cases"),
    ("响应率", "response_rate"), ("按时报到", "reported_on_time"), ("应报到", "summoned"), ("退单", "declined"),
    ("解决率", "resolution_rate"), ("已解决", "resolved"), ("已办结", "closed"), ("撤回", "withdrawn"),
    ("终止办理", "terminated"),
    ("满意率", "satisfaction_rate"), ("满意", "satisfied"), ("评价", "evaluations"),
    ("超期", "overdue"), ("升级", "escalated"), ("催办", "urged"),
    ("回访", "followed_up"), ("回访未解决", "follow_up_unsolved"), ("漏访", "follow_up_missed"),
    ("合并", "merged"), ("综合", "score"),
]  # fmt: skip
"""(header, GroupFigures field): the CLI table's columns, its bracketed counts split out."""

_DEPARTMENT_COLUMNS: list[tuple[str, str]] = [
    ("社区评价", "community_rating_rate"), ("社区评价好", "community_good"), ("社区评价数", "community_ratings"),
    ("社区当面", "community_in_person"),
]
"""Departments only (双考核): the communities' ratings of their parts."""

_RATES = frozenset({"response_rate", "resolution_rate", "satisfaction_rate", "score", "community_rating_rate"})


def _figure(group: GroupFigures, name: str) -> Cell:
    if name == "board":
        return BOARD_LABELS.get(group.board or "", "")
    value = getattr(group, name)
    return value if value is None or isinstance(value, str | int | float) else str(value)


def report_sheet(ranking: Report) -> Sheet:
    """The ranking of one grouping, best first as the report orders it (红黑榜 in the 榜 column)."""
    columns = _REPORT_COLUMNS[:]
    if ranking.by == "department":
        columns[19:19] = _DEPARTMENT_COLUMNS
    since = f"{ranking.since}起" if ranking.since else ""
    sheet = Sheet(
        title=f"{GROUP_LABELS[ranking.by]}排名{since}",
        headers=[header for header, _ in columns],
        percent_columns=frozenset(header for header, name in columns if name in _RATES),
    )
    sheet.rows = [[_figure(group, name) for _, name in columns] for group in ranking.groups]
    return sheet


def report_sheets(rankings: list[Report]) -> list[Sheet]:
    """Each grouping a sheet of its own, and a note of when and from which day the figures were taken."""
    about = Sheet(title="说明", headers=["表", "分组", "立案起始日", "生成时间（北京时间）"])
    sheets = [report_sheet(ranking) for ranking in rankings]
    for ranking, sheet in zip(rankings, sheets, strict=True):
        about.rows.append([sheet.title, GROUP_LABELS[ranking.by], str(ranking.since or "全部"),
                           _local(ranking.generated_at)])  # fmt: skip
    return [*sheets, about]


CASE_HEADERS = [
    "编号", "社区", "网格", "类别", "阶段", "升级", "部门", "立案时间", "下一时限", "超期", "督办", "运行中",
]  # fmt: skip


def case_sheet(found: list[CaseSummary], directory: OrgDirectory) -> Sheet:
    """The case list under ``whistle list``'s headers, codes shown by their directory names."""
    communities = {c.code: c.name for c in directory.communities}
    grids = {g.code: g.name for c in directory.communities for g in c.grids}
    categories = {c.code: c.name for c in directory.categories}
    departments = {d.code: d.name for d in directory.departments}
    sheet = Sheet(title=f"案件{len(found)}件", headers=CASE_HEADERS)
    for case in found:
        sheet.rows.append([
            case.complaint_id,
            communities.get(case.community or "", case.community or ""),
            grids.get(case.grid or "", case.grid or ""),
            categories.get(case.category or "", case.category or ""),
            _label("stage", case.stage) if case.stage else "",
            _label("escalation_level", case.escalation_level),
            "、".join(departments.get(code, code) for code in case.departments),
            _local(case.filed_at),
            _local(case.next_deadline),
            "是" if case.overdue else "",
            "重点督办" if case.flagged else "",
            "是" if case.running else "",
        ])  # fmt: skip
    return sheet
