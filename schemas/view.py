"""What callers see of a case: the answer to ``status``, every command and the read model's columns."""

from __future__ import annotations

from pydantic import AwareDatetime

from schemas.commands import Rating
from schemas.common import Code, Model
from schemas.events import Outcome
from schemas.state import CaseState, DepartmentStatus, Stage


class CaseView(Model):
    """A case at a glance, without the reporter's personal data."""

    complaint_id: str
    title: str
    community: Code
    grid: Code
    category: Code
    urgency: str
    stage: Stage
    escalation_level: int
    parked: bool
    departments: dict[Code, DepartmentStatus]
    lead: Code | None
    next_deadline: AwareDatetime | None
    reopen_count: int
    rating: Rating | None
    outcome: Outcome | None
    filed_at: AwareDatetime
    updated_at: AwareDatetime
    closed_at: AwareDatetime | None
    event_count: int
    flagged: bool = False
    """Under leader supervision (重点督办)."""
    merged_into: str | None = None
    """The case it was merged into (工单合并), while merged and once closed as ``merged``."""
    linked_reports: list[str] = []
    """The other reports merged into this case: it carries ``1 + len(linked_reports)`` reports of the problem."""


def view_of(state: CaseState) -> CaseView:
    intake = state.case.intake
    return CaseView(
        complaint_id=state.complaint_id,
        title=intake.title,
        community=intake.community,
        grid=intake.grid,
        category=intake.category,
        urgency=intake.urgency,
        stage=state.stage,
        escalation_level=state.escalation_level,
        parked=state.parked,
        departments={code: part.status for code, part in state.departments.items()},
        lead=state.lead,
        next_deadline=state.next_deadline,
        reopen_count=state.reopen_count,
        rating=state.rating,
        outcome=state.outcome,
        filed_at=state.filed_at,
        updated_at=state.updated_at,
        closed_at=state.closed_at,
        event_count=state.event_count,
        flagged=state.flagged,
        merged_into=state.merge.into if state.merge else None,
        linked_reports=state.linked_reports,
    )
