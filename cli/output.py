"""What the CLI and the demo print: JSON for machines, rich tables with Chinese labels for supervisors.

Codes (departments, communities, people) are shown by their names from the org directory; times in
Beijing time. Nothing here talks to Temporal or PostgreSQL.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from rich import box
from rich.console import Console
from rich.table import Table

from schemas.calendar import CHINA_TIME
from schemas.events import EVENT_LABELS
from schemas.labels import FIELD_LABELS, VALUE_LABELS
from schemas.org import OrgDirectory
from schemas.view import CaseView

console = Console(highlight=False)




_NAMED_BY = {
    "department": "department",
    "departments": "department",
    "lead": "department",
    "community": "community",
    "grid": "grid",
    "category": "category",
    "previous": "category",
    "proposed_category": "category",
    "suggested_departments": "department",
    "grid_worker": "person",
    "by": "person",
    "first_secretary": "person",
    "street_secretary": "person",
    "approver": "person",
    "owner": "person",
    "reviewer": "person",
}
"""Which directory names a field's codes: ``lead`` holds a department code, ``by`` a person id, ..."""


class Names:
    """Directory codes and person ids to the names people know them by (the code itself if unknown)."""

    def __init__(self, directory: OrgDirectory) -> None:
        people = [street.secretary for street in directory.streets]
        self.by_kind: dict[str, dict[str, str]] = {
            "department": {d.code: d.name for d in directory.departments},
            "category": {c.code: c.name for c in directory.categories},
            "community": {c.code: c.name for c in directory.communities},
            "grid": {g.code: g.name for c in directory.communities for g in c.grids},
            "person": {},
        }
        for community in directory.communities:
            people += [community.secretary, community.first_secretary]
            people += [worker for grid in community.grids for worker in grid.grid_workers]
        self.by_kind["person"] = {person.id: person.name for person in people}

    def of(self, kind: str, code: str) -> str:
        return self.by_kind[kind].get(code, code)

    def department(self, code: str) -> str:
        return self.of("department", code)


def print_json(data: Any) -> None:
    """Plain JSON on stdout (no colour, no wrapping), Chinese kept readable."""
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n")
    sys.stdout.flush()


def label(field: str, value: object) -> str:
    """An enumerated value in Chinese, or the value as text."""
    return VALUE_LABELS.get(field, {}).get(str(value), str(value))


def local_time(value: datetime | str | None, *, with_date: bool = True) -> str:
    """A timestamp in Beijing time, to the second (without the date when everything happens today)."""
    if value is None:
        return "—"
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.astimezone(CHINA_TIME).strftime("%Y-%m-%d %H:%M:%S" if with_date else "%H:%M:%S")


def departments_text(view: CaseView, names: Names) -> str:
    """``区城市管理局 已报到（牵头）`` for each department on the case, one per line."""
    lines = []
    for code, status in view.departments.items():
        lead = "（牵头）" if code == view.lead else ""
        lines.append(f"{names.department(code)} {label('department_status', status)}{lead}")
    return "\n".join(lines) or "—"


def view_table(view: CaseView, names: Names) -> Table:
    """One case at a glance: the rows of ``whistle status``."""
    table = Table(title=f"案件 {view.complaint_id}", show_header=False, title_justify="left")
    table.add_column("项目", style="bold", no_wrap=True)
    table.add_column("内容", overflow="fold")
    escalation = label("escalation_level", view.escalation_level)
    rows = [
        ("标题", view.title),
        ("社区 / 网格", f"{names.of('community', view.community)} / {names.of('grid', view.grid)}"),
        ("类别", names.of("category", view.category)),
        ("紧急程度", label("urgency", view.urgency)),
        ("阶段 stage", label("stage", view.stage)),
        ("升级 escalation", f"{view.escalation_level} {escalation}" + ("（已挂账）" if view.parked else "")),
        ("督办 supervision", "重点督办" if view.flagged else "—"),
        ("部门 departments", departments_text(view, names)),
        ("下一时限 next deadline", local_time(view.next_deadline)),
        ("重新处置 reopens", str(view.reopen_count)),
        ("评价 rating", label("rating", view.rating) if view.rating else "—"),
        ("结果 outcome", label("outcome", view.outcome) if view.outcome else "—"),
        ("立案时间", local_time(view.filed_at)),
        ("更新时间", local_time(view.updated_at)),
        ("办结时间", local_time(view.closed_at)),
        ("事件数", str(view.event_count)),
    ]
    if view.merged_into:
        rows.append(("已并入 merged into", view.merged_into))
    if view.linked_reports:
        rows.append(("合并工单 reports", f"{1 + len(view.linked_reports)}（另 {'、'.join(view.linked_reports)}）"))
    for row in rows:
        table.add_row(*row)
    return table


DUE_KEYS = {"verify": "核实", "reroute": "改派", "handling": "处置", "evaluation": "评价"}
"""The clocks a directive's ``new_dues`` may set, besides ``report_in:<department>``."""


def _due_name(key: str, names: Names) -> str:
    if key.startswith("report_in:"):
        return f"{names.department(key.removeprefix('report_in:'))}报到"
    return DUE_KEYS.get(key, key)


def _photo_text(photo: Mapping[str, Any]) -> str:
    """A photo reference as a supervisor reads it: its type, size and the start of its hash (``jpeg 48KB 9f86d081``)."""
    kind = str(photo["media_type"]).removeprefix("image/")
    return f"{kind} {int(photo['size']) // 1024}KB {str(photo['sha256'])[:8]}"


def _value_text(field: str, value: Any, names: Names, with_date: bool) -> str:
    if field == "photos" and isinstance(value, list):
        return "、".join(_photo_text(photo) for photo in value)
    if isinstance(value, list):
        return "、".join(_value_text(field, item, names, with_date) for item in value)
    if isinstance(value, dict) and {"kind", "id"} <= value.keys():  # an actor
        return names.of("person", str(value["id"]))
    if isinstance(value, dict):
        return "，".join(
            f"{_due_name(key, names)} {local_time(due, with_date=with_date)}" for key, due in value.items()
        )
    if field.endswith("due"):
        return local_time(value, with_date=with_date)
    if field in _NAMED_BY:
        return names.of(_NAMED_BY[field], str(value))
    return label(field, value)


def timeline_details(entry: Mapping[str, Any], names: Names, *, with_date: bool = True) -> str:
    """The fields of one timeline entry besides ``seq``, ``at`` and ``type``, labelled; empty ones left out."""
    parts = []
    for field, value in entry.items():
        if field in ("seq", "at", "type") or value in (None, "", [], {}):
            continue
        parts.append(f"{FIELD_LABELS.get(field, field)}：{_value_text(field, value, names, with_date)}")
    return "；".join(parts)


def timeline_table(
    entries: Iterable[Mapping[str, Any]], names: Names, title: str | None = None, *, with_date: bool = True
) -> Table:
    """A case's history as a supervisor reads it."""
    table = Table(title=title, title_justify="left")
    table.add_column("序号", justify="right")
    table.add_column("时间")
    table.add_column("事件", style="bold", no_wrap=True)
    table.add_column("详情", overflow="fold")
    for entry in entries:
        kind = str(entry["type"])
        table.add_row(
            str(entry["seq"]),
            local_time(entry["at"], with_date=with_date),
            EVENT_LABELS.get(kind, kind),
            timeline_details(entry, names, with_date=with_date),
        )
    return table


def departments_summary(view: CaseView) -> str:
    """``已办结3 已退单1``: how many departments are in each status."""
    counts: dict[str, int] = {}
    for status in view.departments.values():
        counts[status] = counts.get(status, 0) + 1
    return " ".join(f"{label('department_status', status)}{count}" for status, count in counts.items()) or "—"


def cases_table(views: Iterable[CaseView], names: Names, title: str | None = None) -> Table:
    """Many cases, one row each: the read model a supervisor scans. Community and title need a wide screen."""
    wide = console.width >= 120
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD)
    table.add_column("编号", overflow="fold", no_wrap=wide)
    if wide:
        table.add_column("社区", no_wrap=True)
    for column in ("阶段", "升级", "部门", "重开", "结果", "事件"):
        table.add_column(column, overflow="fold")
    if wide:
        table.add_column("标题", overflow="fold")
    for view in views:
        cells = [
            label("stage", view.stage),
            label("escalation_level", view.escalation_level) + ("（挂账）" if view.parked else ""),
            departments_summary(view),
            str(view.reopen_count),
            label("outcome", view.outcome) if view.outcome else "—",
            str(view.event_count),
        ]
        if wide:
            cells = [names.of("community", view.community), *cells, view.title]
        table.add_row(view.complaint_id, *cells)
    return table


def org_tables(directory: OrgDirectory) -> list[Table]:
    """The directory: communities and their secretaries, grids and grid workers, departments, routing."""
    names = Names(directory)
    streets = {street.code: street for street in directory.streets}
    communities = Table(title=f"{directory.district} 社区", title_justify="left")
    for column in ("社区", "代码", "街道（街道书记）", "社区书记", "第一书记"):
        communities.add_column(column, overflow="fold")
    grids = Table(title="网格", title_justify="left")
    for column in ("社区", "网格", "代码", "网格员"):
        grids.add_column(column, overflow="fold")
    for community in directory.communities:
        street = streets[community.street]
        communities.add_row(
            community.name,
            community.code,
            f"{street.name}（{street.secretary.name} {street.secretary.id}）",
            f"{community.secretary.name} {community.secretary.id}",
            f"{community.first_secretary.name} {community.first_secretary.id}",
        )
        for grid in community.grids:
            workers = "、".join(f"{worker.name} {worker.id}" for worker in grid.grid_workers)
            grids.add_row(community.name, grid.name, grid.code, workers)
    departments = Table(title="职能部门", title_justify="left")
    departments.add_column("代码")
    departments.add_column("名称")
    departments.add_column("英文")
    for department in directory.departments:
        departments.add_row(department.code, department.name, department.name_en)
    routing = Table(title="类别派单（首个为建议牵头）", title_justify="left")
    routing.add_column("类别")
    routing.add_column("名称")
    routing.add_column("建议部门")
    for category in directory.categories:
        routing.add_row(category.code, category.name, "、".join(names.department(c) for c in category.departments))
    return [communities, grids, departments, routing]


def validation_message(error: ValidationError) -> str:
    """The first problem pydantic found, as ``field: reason`` on one line."""
    problems = error.errors()
    first = problems[0]
    where = ".".join(str(part) for part in first["loc"])
    reason = first["msg"].removeprefix("Value error, ")
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    return f"{where}: {reason}{more}" if where else f"{reason}{more}"


def ledger_table(rows: Iterable[Any], names: Names, *, public: bool) -> Table:
    """The long-running ledger (挂账台账); the public one (百日解百难) without the address."""
    table = Table(title="百日解百难 公示台账" if public else "挂账台账", title_justify="left")
    for heading in ("编号", "标题", "社区", "原因", "挂账时间", "已历时(天)", "责任人", "部门", "状态"):
        table.add_column(heading, overflow="fold")
    if not public:
        table.add_column("地址", overflow="fold")
    for row in rows:
        state = label("outcome", row.outcome) if row.outcome else label("stage", row.stage)
        cells = [
            row.complaint_id, row.title, names.of("community", row.community), label("ledger_reason", row.reason),
            local_time(row.ledgered_at), f"{row.age_days:.1f}", row.owner_name,
            "、".join(names.department(code) for code in row.departments) or "—", state,
        ]
        if not public:
            cells.append(row.address or "—")
        table.add_row(*cells)
    return table
