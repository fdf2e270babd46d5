"""Grid discovery (网格发现): a grid worker verifies the complaint, or resolves it in the grid."""

from __future__ import annotations

from datetime import datetime

from schemas.commands import VerifyComplaint
from schemas.errors import CommandRejected
from schemas.events import (
    Event,
    GridVerified,
    ResolvedInGrid,
)
from schemas.parts import (
    Clock,
)
from schemas.rules.shared import (
    Changes,
    Rules,
    Who,
    due_after,
    require_actor,
    require_stage,
)
from schemas.state import CaseState


def verify(state: CaseState, command: VerifyComplaint, now: datetime) -> list[Event]:
    require_stage(state, "discovered")
    grid_worker = command.actor.id
    events: list[Event] = []
    if state.verified_by is None:
        events.append(GridVerified(at=now, grid_worker=grid_worker, note=command.note))
    elif not command.resolved_in_grid:
        raise CommandRejected("resolved_in_grid", f"already verified by {state.verified_by}")
    if command.resolved_in_grid:
        evaluation_due = due_after(state, now, state.case.policy.evaluation)
        events.append(ResolvedInGrid(at=now, grid_worker=grid_worker, note=command.note, evaluation_due=evaluation_due))
    return events


def may_verify(state: CaseState, command: VerifyComplaint) -> None:
    context = state.case.context
    workers = {("grid_worker", worker.id) for worker in context.grid.grid_workers}
    require_actor(command.actor, workers, f"only a grid worker of {context.grid.code} verifies or resolves in the grid")


WHO: Who = {
    VerifyComplaint: may_verify,
}
"""Who may send each of this concept's commands (``schemas.rules.authority``)."""


RULES: Rules = {
    VerifyComplaint: verify,
}
"""What each of this concept's commands decides (``schemas.rules.decider``)."""


# The fold: what this concept's events change in a case.


def _grid_verified(state: CaseState, event: GridVerified) -> dict[str, object]:
    return {"verified_by": event.grid_worker}


def _resolved_in_grid(state: CaseState, event: ResolvedInGrid) -> dict[str, object]:
    return {
        "verified_by": event.grid_worker,
        "resolved_in_grid": True,
        "stage": "evaluating",
        "verify": None,
        "parked": False,
        "escalation": None,
        "evaluation": Clock(start=event.at, due=event.evaluation_due),
    }


CHANGES: Changes = {
    GridVerified: _grid_verified,
    ResolvedInGrid: _resolved_in_grid,
}
"""What each of this concept's events changes in a case (the fold, ``schemas.fold``)."""
