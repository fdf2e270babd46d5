"""Evaluation (居民评价): the reporter rates the result, or withdraws the complaint."""

from __future__ import annotations

from datetime import datetime

from schemas.commands import EvaluateOutcome, WithdrawComplaint
from schemas.errors import CommandRejected
from schemas.events import (
    CaseClosed,
    CaseReopened,
    CaseWithdrawn,
    EvaluationLapsed,
    Event,
    ResidentEvaluated,
)
from schemas.parts import (
    Clock,
)
from schemas.rules.shared import (
    Changes,
    Rules,
    Who,
    due_after,
    escalation,
    require_stage,
    resident_or_operator,
)
from schemas.state import CaseState


def evaluate(state: CaseState, command: EvaluateOutcome, now: datetime) -> list[Event]:
    require_stage(state, "evaluating")
    if state.rating is not None:
        raise CommandRejected("rating", "already rated; the case waits for a secretary's directive")
    events: list[Event] = [ResidentEvaluated(at=now, rating=command.rating, comment=command.comment)]
    policy = state.case.policy
    if state.merge is not None:  # the rating of the outcome of the case it was merged into (工单合并)
        events.append(CaseClosed(at=now, outcome="merged"))
    elif command.rating != "unsatisfied":
        events.append(CaseClosed(at=now, outcome=command.rating))
    elif state.reopen_count < policy.max_reopens:
        events.append(reopened(state, now))
    else:
        events.append(escalation(state, "reopen_limit", None, now))
    return events


def reopened(state: CaseState, now: datetime) -> CaseReopened:
    """The case back to the grid if it was resolved there, else back to handling, with a fresh window; the caller has
    checked ``max_reopens``."""
    policy = state.case.policy
    count = state.reopen_count + 1
    if state.resolved_in_grid:
        return CaseReopened(at=now, reopen_count=count, verify_due=due_after(state, now, policy.verify))
    return CaseReopened(at=now, reopen_count=count, handling_due=due_after(state, now, policy.handling))


def withdraw(state: CaseState, command: WithdrawComplaint, now: datetime) -> list[Event]:
    """The reporter withdraws the complaint: the case closes, whatever its stage."""
    return [CaseWithdrawn(at=now, reason=command.reason), CaseClosed(at=now, outcome="withdrawn")]


WHO: Who = {
    EvaluateOutcome: resident_or_operator,
    WithdrawComplaint: resident_or_operator,
}
"""Who may send each of this concept's commands (``schemas.rules.authority``)."""


RULES: Rules = {
    EvaluateOutcome: evaluate,
    WithdrawComplaint: withdraw,
}
"""What each of this concept's commands decides (``schemas.rules.decider``)."""


# The fold: what this concept's events change in a case.


def _resident_evaluated(state: CaseState, event: ResidentEvaluated) -> dict[str, object]:
    return {"rating": event.rating, "evaluation": None}


def _case_reopened(state: CaseState, event: CaseReopened) -> dict[str, object]:
    return _reopen(state, event)


def _evaluation_lapsed(state: CaseState, event: EvaluationLapsed) -> dict[str, object]:
    return {"evaluation": None}


def _case_withdrawn(state: CaseState, event: CaseWithdrawn) -> dict[str, object]:
    return {}


def _case_closed(state: CaseState, event: CaseClosed) -> dict[str, object]:
    return {
        "stage": "closed",
        "outcome": event.outcome,
        "closed_at": event.at,
        "parked": False,
        "verify": None,
        "reroute": None,
        "dispute": None,
        "handling": None,
        "evaluation": None,
        "escalation": None,
        "extension": None,
        "review": None,
        "termination": None,
        "pause": None,
        "closure_reason": event.closure_reason,
    }


def _reopen(state: CaseState, event: CaseReopened) -> dict[str, object]:
    """Back to the grid if it was resolved there, otherwise back to handling with every part reopened. A closed case
    (a follow-up call found the problem unsolved, 回访) is open again: no outcome, and a new window when it closes."""
    changes: dict[str, object] = {"reopen_count": event.reopen_count, "rating": None, "evaluation": None}
    if state.stage == "closed":
        changes.update(outcome=None, closed_at=None, closure_reason=None, follow_up=None)
    if event.verify_due is not None:
        changes.update(
            stage="discovered",
            resolved_in_grid=False,
            verified_by=None,
            verify=Clock(start=event.at, due=event.verify_due),
        )
    if event.handling_due is not None:
        reopened = {
            code: part.model_copy(update={"status": "reported_in", "result": None}) if part.status == "done" else part
            for code, part in state.departments.items()
        }
        changes.update(stage="handling", departments=reopened, handling=Clock(start=event.at, due=event.handling_due))
    return changes


CHANGES: Changes = {
    ResidentEvaluated: _resident_evaluated,
    CaseReopened: _case_reopened,
    EvaluationLapsed: _evaluation_lapsed,
    CaseWithdrawn: _case_withdrawn,
    CaseClosed: _case_closed,
}
"""What each of this concept's events changes in a case (the fold, ``schemas.fold``)."""
