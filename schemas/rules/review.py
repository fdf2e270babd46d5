"""Review (审核): the community secretary accepts the departments' results or sends them back."""

from __future__ import annotations

from datetime import datetime

from schemas.commands import (
    ReviewResults,
)
from schemas.errors import CommandRejected
from schemas.events import (
    Event,
    HandlingCompleted,
    ResultsApproved,
    ResultsRejected,
)
from schemas.rules.shared import (
    due_after,
)
from schemas.state import CaseState


def review_results(state: CaseState, command: ReviewResults, now: datetime) -> list[Event]:
    if state.review is None:
        raise CommandRejected("approve", "no results are waiting for review")
    by = command.actor.id
    if command.approve:
        evaluation_due = due_after(state, now, state.case.policy.evaluation)
        approved = ResultsApproved(at=now, by=by, note=command.reason)
        return [approved, HandlingCompleted(at=now, evaluation_due=evaluation_due)]
    handling_due = due_after(state, now, state.case.policy.handling)
    return [ResultsRejected(at=now, by=by, reason=command.reason, handling_due=handling_due)]
