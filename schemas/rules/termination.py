"""Termination (终止办理): the community secretary proposes ending without a rating; a secretary above decides."""

from __future__ import annotations

from datetime import datetime

from schemas.commands import ProposeTermination, ReviewTermination
from schemas.errors import CommandRejected
from schemas.events import (
    CaseClosed,
    Event,
    TerminationApproved,
    TerminationProposed,
    TerminationRefused,
)
from schemas.parts import (
    Clock,
    PendingTermination,
)
from schemas.rules.shared import (
    Changes,
    Rules,
    Who,
    community_secretary_only,
    due_after,
    secretary_above,
)
from schemas.state import CaseState


def propose_termination(state: CaseState, command: ProposeTermination, now: datetime) -> list[Event]:
    if state.termination is not None:
        raise CommandRejected("reason", "a termination is already proposed; wait for the review")
    policy = state.case.policy
    return [
        TerminationProposed(
            at=now,
            by=command.actor.id,
            reason=command.reason,
            note=command.note,
            reviewer=state.case.context.community.first_secretary.id,
            review_due=due_after(state, now, policy.termination_review),
        )
    ]


def review_termination(state: CaseState, command: ReviewTermination, now: datetime) -> list[Event]:
    pending = state.termination
    if pending is None:
        raise CommandRejected("approve", "no termination is proposed")
    by = command.actor.id
    if not command.approve:
        return [TerminationRefused(at=now, by=by, note=command.note)]
    return [
        TerminationApproved(at=now, by=by, note=command.note),
        CaseClosed(at=now, outcome="terminated", closure_reason=pending.reason),
    ]


WHO: Who = {
    ProposeTermination: community_secretary_only,
    ReviewTermination: secretary_above,
}
"""Who may send each of this concept's commands (``schemas.rules.authority``)."""


RULES: Rules = {
    ProposeTermination: propose_termination,
    ReviewTermination: review_termination,
}
"""What each of this concept's commands decides (``schemas.rules.decider``)."""


# The fold: what this concept's events change in a case.


def _termination_proposed(state: CaseState, event: TerminationProposed) -> dict[str, object]:
    review = Clock(start=event.at, due=event.review_due)
    proposal = PendingTermination(
        reason=event.reason, note=event.note, by=event.by, reviewer=event.reviewer, review=review
    )
    return {"termination": proposal}


def _termination_approved(state: CaseState, event: TerminationApproved | TerminationRefused) -> dict[str, object]:
    return {"termination": None}


CHANGES: Changes = {
    TerminationProposed: _termination_proposed,
    TerminationApproved: _termination_approved,
    TerminationRefused: _termination_approved,
}
"""What each of this concept's events changes in a case (the fold, ``schemas.fold``)."""
