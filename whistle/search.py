"""Finding cases: filters turned into Temporal visibility queries over Whistle's custom search attributes.

The workflow upserts the attributes (``workflows/search_attributes.py``) on every state change, so a list
of overdue or escalated cases is one visibility query, never a scan of histories or of the read model.
Visibility is eventually consistent: a case changed a moment ago may show its previous values briefly.
"""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import AwareDatetime
from temporalio.client import Client, WorkflowExecution, WorkflowExecutionStatus

from schemas.common import Code, Model
from schemas.state import Stage
from workflows import search_attributes

WORKFLOW_TYPE = "Complaint"


class CaseFilter(Model):
    """Which cases to list; every given field must hold (they are joined with AND).

    ``escalated``: held above the community now (escalation level 1 or 2). ``flagged``: under leader supervision
    (重点督办). ``overdue``: the case's next
    deadline has already passed — nothing has answered a clock that ran out (for a running worker that is
    the street secretary's window, the top of the ladder, which has no further timer; or any clock while
    workers are down).
    """

    stage: Stage | None = None
    community: Code | None = None
    grid: Code | None = None
    department: Code | None = None
    category: Code | None = None
    escalated: bool = False
    overdue: bool = False
    flagged: bool = False


class CaseSummary(Model):
    """One case as visibility sees it: its search attributes, no personal data."""

    complaint_id: str
    workflow_id: str
    stage: Stage | None
    community: Code | None
    grid: Code | None
    category: Code | None
    departments: list[Code]
    escalation_level: int
    next_deadline: AwareDatetime | None
    overdue: bool
    filed_at: AwareDatetime
    running: bool
    flagged: bool = False


def _quoted(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def visibility_query(case_filter: CaseFilter, now: datetime) -> str:
    """The list filter in Temporal's visibility query language."""
    clauses = [f"WorkflowType = {_quoted(WORKFLOW_TYPE)}"]
    equal = (
        (search_attributes.STAGE.name, case_filter.stage),
        (search_attributes.COMMUNITY.name, case_filter.community),
        (search_attributes.GRID.name, case_filter.grid),
        (search_attributes.DEPARTMENTS.name, case_filter.department),
        (search_attributes.CATEGORY.name, case_filter.category),
    )
    clauses += [f"{name} = {_quoted(value)}" for name, value in equal if value is not None]
    if case_filter.escalated:
        clauses.append(f"{search_attributes.ESCALATION_LEVEL.name} > 0")
    if case_filter.flagged:
        clauses.append(f"{search_attributes.FLAGGED.name} = true")
    if case_filter.overdue:
        moment = now.astimezone(UTC).isoformat().replace("+00:00", "Z")
        clauses.append(f"{search_attributes.NEXT_DEADLINE.name} < {_quoted(moment)}")
    return " AND ".join(clauses)  # SQL visibility stores (the dev server's) reject ORDER BY: sorted by the caller


async def list_cases(
    temporal: Client, case_filter: CaseFilter, *, now: datetime, limit: int | None = None
) -> list[CaseSummary]:
    """The cases the visibility store matches, newest filing first."""
    found: list[CaseSummary] = []
    async for execution in temporal.list_workflows(visibility_query(case_filter, now), limit=limit):
        found.append(summary_of(execution, now))
    return sorted(found, key=lambda summary: (summary.filed_at, summary.complaint_id), reverse=True)


def summary_of(execution: WorkflowExecution, now: datetime) -> CaseSummary:
    attributes = execution.typed_search_attributes
    next_deadline = attributes.get(search_attributes.NEXT_DEADLINE)
    return CaseSummary(
        complaint_id=execution.id.removeprefix("complaint-"),
        workflow_id=execution.id,
        stage=attributes.get(search_attributes.STAGE),
        community=attributes.get(search_attributes.COMMUNITY),
        grid=attributes.get(search_attributes.GRID),
        category=attributes.get(search_attributes.CATEGORY),
        departments=list(attributes.get(search_attributes.DEPARTMENTS) or []),
        escalation_level=attributes.get(search_attributes.ESCALATION_LEVEL) or 0,
        next_deadline=next_deadline,
        overdue=next_deadline is not None and next_deadline < now,
        filed_at=execution.start_time,
        running=execution.status == WorkflowExecutionStatus.RUNNING,
        flagged=bool(attributes.get(search_attributes.FLAGGED)),
    )
