"""Extensions (延期): a working department asks for more time; the approver the policy names answers."""

from __future__ import annotations

from datetime import datetime

from schemas.commands import AnswerExtension, RequestExtension
from schemas.errors import CommandRejected
from schemas.events import (
    Event,
    ExtensionApproved,
    ExtensionRefused,
    ExtensionRequested,
)
from schemas.parts import (
    Clock,
    PendingExtension,
)
from schemas.rules.shared import (
    Changes,
    Rules,
    Who,
    department_itself,
    department_part,
    due_after,
    not_under_review,
    require_actor,
    require_stage,
)
from schemas.state import CaseState


def request_extension(state: CaseState, command: RequestExtension, now: datetime) -> list[Event]:
    require_stage(state, "handling")
    not_under_review(state)
    department_part(state, command.department, "reported_in")
    if state.extension is not None:
        waiting = state.extension.department
        raise CommandRejected("department", f"{waiting} already asked for more time; wait for the answer")
    if state.parked:
        raise CommandRejected("stage", "the case is parked; its clocks are stopped")
    policy = state.case.policy
    return [
        ExtensionRequested(
            at=now,
            department=command.department,
            extend_by=command.extend_by,
            reason=command.reason,
            approver=extension_approver(state),
            answer_due=due_after(state, now, policy.extension_answer),
        )
    ]


def answer_extension(state: CaseState, command: AnswerExtension, now: datetime) -> list[Event]:
    pending = state.extension
    if pending is None:
        raise CommandRejected("approve", "no request for more time is waiting")
    if not command.approve:
        return [ExtensionRefused(at=now, department=pending.department, by=command.actor.id, note=command.note)]
    assert state.handling is not None
    handling_due = state.case.calendar.add(max(state.handling.due, now), pending.extend_by)
    return [
        ExtensionApproved(
            at=now,
            department=pending.department,
            by=command.actor.id,
            extend_by=pending.extend_by,
            note=command.note,
            handling_due=handling_due,
        )
    ]


def extension_approver(state: CaseState) -> str:
    """Who answers a request for more time on this case: the person the case's policy names."""
    context = state.case.context
    return {
        "community_secretary": context.community.secretary.id,
        "first_secretary": context.community.first_secretary.id,
        "street_secretary": context.street.secretary.id,
    }[state.case.policy.extension_approver]


def may_answer_extension(state: CaseState, command: AnswerExtension) -> None:
    approver = (state.case.policy.extension_approver, extension_approver(state))
    require_actor(command.actor, {approver}, f"only {approver[0].replace('_', ' ')} {approver[1]} answers extensions")


WHO: Who = {
    RequestExtension: department_itself,
    AnswerExtension: may_answer_extension,
}
"""Who may send each of this concept's commands (``schemas.rules.authority``)."""


RULES: Rules = {
    RequestExtension: request_extension,
    AnswerExtension: answer_extension,
}
"""What each of this concept's commands decides (``schemas.rules.decider``)."""


# The fold: what this concept's events change in a case.


def _extension_requested(state: CaseState, event: ExtensionRequested) -> dict[str, object]:
    answer = Clock(start=event.at, due=event.answer_due)
    pending = PendingExtension(
        department=event.department,
        extend_by=event.extend_by,
        reason=event.reason,
        approver=event.approver,
        answer=answer,
    )
    return {"extension": pending}


def _extension_approved(state: CaseState, event: ExtensionApproved) -> dict[str, object]:
    return {"extension": None, "handling": Clock(start=event.at, due=event.handling_due)}


def _extension_refused(state: CaseState, event: ExtensionRefused) -> dict[str, object]:
    return {"extension": None}


CHANGES: Changes = {
    ExtensionRequested: _extension_requested,
    ExtensionApproved: _extension_approved,
    ExtensionRefused: _extension_refused,
}
"""What each of this concept's events changes in a case (the fold, ``schemas.fold``)."""
