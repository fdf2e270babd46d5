"""Review (审核): the community secretary accepts the departments' results or sends them back."""

from __future__ import annotations

from datetime import datetime

from schemas.commands import ReviewResults
from schemas.errors import CommandRejected
from schemas.events import (
    Event,
    HandlingCompleted,
    ResultsApproved,
    ResultsRejected,
    ResultsSubmitted,
)
from schemas.parts import (
    Clock,
)
from schemas.rules.shared import (
    Changes,
    Rules,
    Who,
    community_secretary_only,
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


WHO: Who = {
    ReviewResults: community_secretary_only,
}
"""Who may send each of this concept's commands (``schemas.rules.authority``)."""


RULES: Rules = {
    ReviewResults: review_results,
}
"""What each of this concept's commands decides (``schemas.rules.decider``)."""


# The fold: what this concept's events change in a case.


def _results_submitted(state: CaseState, event: ResultsSubmitted) -> dict[str, object]:
    return {"review": Clock(start=event.at, due=event.review_due), "handling": None, "extension": None}


def _results_approved(state: CaseState, event: ResultsApproved) -> dict[str, object]:
    return {"review": None}


def _results_rejected(state: CaseState, event: ResultsRejected) -> dict[str, object]:
    reopened = {
        code: part.model_copy(update={"status": "reported_in", "result": None}) if part.status == "done" else part
        for code, part in state.departments.items()
    }
    return {"review": None, "departments": reopened, "handling": Clock(start=event.at, due=event.handling_due)}


CHANGES: Changes = {
    ResultsSubmitted: _results_submitted,
    ResultsApproved: _results_approved,
    ResultsRejected: _results_rejected,
}
"""What each of this concept's events changes in a case (the fold, ``schemas.fold``)."""
