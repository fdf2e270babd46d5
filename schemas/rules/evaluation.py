"""Evaluation (居民评价): the reporter rates the result, or withdraws the complaint."""

from __future__ import annotations

from datetime import datetime

from schemas.commands import (
    EvaluateOutcome,
)
from schemas.errors import CommandRejected
from schemas.events import (
    CaseClosed,
    CaseReopened,
    Event,
    ResidentEvaluated,
)
from schemas.rules.shared import (
    due_after,
    escalation,
    require_stage,
)
from schemas.state import CaseState


def evaluate(state: CaseState, command: EvaluateOutcome, now: datetime) -> list[Event]:
    require_stage(state, "evaluating")
    if state.rating is not None:
        raise CommandRejected("rating", "already rated; the case waits for a secretary's directive")
    events: list[Event] = [ResidentEvaluated(at=now, rating=command.rating, comment=command.comment)]
    policy = state.case.policy
    if command.rating != "unsatisfied":
        events.append(CaseClosed(at=now, outcome=command.rating))
    elif state.reopen_count < policy.max_reopens:
        count = state.reopen_count + 1
        if state.resolved_in_grid:
            events.append(CaseReopened(at=now, reopen_count=count, verify_due=due_after(state, now, policy.verify)))
        else:
            events.append(CaseReopened(at=now, reopen_count=count, handling_due=due_after(state, now, policy.handling)))
    else:
        events.append(escalation(state, "reopen_limit", None, now))
    return events
