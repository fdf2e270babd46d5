"""A clock ran out (``ReachDeadline``): the decider's rules for what the miss means. Pure, like the decider.

Most misses are recorded and escalate (``schemas.rules.shared.escalation``). An unanswered whistle may first be
raised a grade, an unrated result closes the case, an unanswered request for more time counts as refused and
escalates, a used-up pause starts the clocks again, an unreviewed termination is refused, a long handling goes
on the ledger and a ledgered case's keeper is reminded to review it; a closed case's follow-up window (回访) ends.
"""

from __future__ import annotations

from datetime import datetime

from schemas.commands import Grade, ReachDeadline
from schemas.errors import CommandRejected
from schemas.events import (
    CaseClosed,
    EvaluationLapsed,
    Event,
    ExtensionRefused,
    HandlingOverdue,
    LedgerReviewReminded,
    ReportInOverdue,
    TerminationRefused,
    WhistleGradeRaised,
)
from schemas.rules.follow_up import window_closed
from schemas.rules.ledger import ledgered
from schemas.rules.pause import resumed
from schemas.rules.shared import Rules, Who, due_after, escalation, report_in_due
from schemas.state import CaseState


def reach_deadline(state: CaseState, command: ReachDeadline, now: datetime) -> list[Event]:
    """A clock ran out: record the miss and escalate, or lapse the evaluation and close."""
    if state.stage == "closed" and command.kind != "follow_up":
        raise CommandRejected("stage", f"the case is closed ({state.outcome})")
    deadline = next(
        (d for d in state.open_deadlines() if d.kind == command.kind and d.department == command.department), None
    )
    if deadline is None:
        raise CommandRejected("kind", f"no open {command.kind} deadline")
    if now < deadline.clock.due:
        raise CommandRejected("kind", f"the {command.kind} deadline is not due until {deadline.clock.due.isoformat()}")
    match command.kind:
        case "evaluation":
            outcome = "merged" if state.merge is not None else "unevaluated"  # a merged case's rating lapsed
            return [EvaluationLapsed(at=now), CaseClosed(at=now, outcome=outcome)]
        case "report_in":
            assert command.department is not None
            overdue = ReportInOverdue(at=now, department=command.department, due=deadline.clock.due)
            part = state.departments[command.department]
            if state.case.policy.raise_grade_on_miss and not part.grade_raised and part.grade != "red":
                grade: Grade = "yellow" if part.grade == "blue" else "red"
                raised = WhistleGradeRaised(
                    at=now, department=command.department, grade=grade, report_in_due=report_in_due(state, grade, now)
                )
                return [overdue, raised]
            return [overdue, escalation(state, "report_in", command.department, now)]
        case "extension":
            assert state.extension is not None
            refused = ExtensionRefused(at=now, department=state.extension.department, lapsed=True)
            return [refused, escalation(state, "extension", state.extension.department, now)]
        case "ledger":
            return [ledgered(state, "long_overdue", now)]
        case "review":
            return [escalation(state, "review", None, now)]
        case "ruling":
            return [escalation(state, "ruling", None, now)]
        case "pause":
            return [resumed(state, now, lapsed=True)]
        case "termination":
            return [TerminationRefused(at=now, lapsed=True)]
        case "ledger_review":
            assert state.ledger is not None
            review_due = due_after(state, now, state.case.policy.ledger_review)
            return [LedgerReviewReminded(at=now, owner=state.ledger.owner, review_due=review_due)]
        case "follow_up":
            return [window_closed(state, now)]
        case "handling":
            return [HandlingOverdue(at=now, due=deadline.clock.due), escalation(state, "handling", None, now)]
        case "verify" | "reroute" | "first_secretary":
            return [escalation(state, command.kind, None, now)]


def by_the_timers(state: CaseState, command: ReachDeadline) -> None:
    if command.actor.kind != "system":
        raise CommandRejected("actor", "deadlines are reached by the workflow's own timers only")


WHO: Who = {
    ReachDeadline: by_the_timers,
}
"""Who may send each of this concept's commands (``schemas.rules.authority``)."""


RULES: Rules = {
    ReachDeadline: reach_deadline,
}
"""What each of this concept's commands decides (``schemas.rules.decider``)."""

AFTER_CLOSURE: frozenset[type] = frozenset({ReachDeadline})
"""A closed case keeps one clock, its follow-up window (``CaseState.open_deadlines``), which must still run out; any
other clock of a closed case is refused as every command is."""
