"""Escalation's answers (书记指令): the first or street secretary orders departments in, extends, or parks."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from schemas.commands import IssueDirective
from schemas.common import Duration
from schemas.errors import CommandRejected
from schemas.events import (
    CaseParked,
    DirectiveIssued,
    EscalatedToFirstSecretary,
    EscalatedToStreetSecretary,
    Event,
)
from schemas.parts import (
    Clock,
    Escalation,
    summon,
)
from schemas.rules.ledger import ledgered
from schemas.rules.shared import (
    Changes,
    Rules,
    Who,
    check_known,
    due_after,
    moved_clocks,
    not_under_review,
    secretary_above,
    stage_clocks,
)
from schemas.state import CaseState


def direct(state: CaseState, command: IssueDirective, now: datetime) -> list[Event]:
    awaiting_rating = state.stage == "evaluating" and state.rating is None
    if awaiting_rating:
        raise CommandRejected("stage", "the resident is rating the result; no directive until they answer")
    new_dues: dict[str, datetime] = {}
    if command.kind == "order":
        not_under_review(state)
        check_known(state, command.departments)
        working = [code for code in command.departments if code in state.with_status("reported_in")]
        if working:
            raise CommandRejected("departments", f"already working the case: {', '.join(working)}")
        due = due_after(state, now, state.case.policy.report_in)
        new_dues = {f"report_in:{code}": due for code in command.departments}
    elif command.kind == "extend":
        assert command.extend_by is not None
        new_dues = extended(state, command.extend_by, now)
    elif state.parked:
        raise CommandRejected("kind", "the case is already parked")
    directive = DirectiveIssued(
        at=now,
        by=command.actor.id,
        kind=command.kind,
        departments=command.departments,
        extend_by=command.extend_by,
        note=command.note,
        new_dues=new_dues,
    )
    if command.kind == "park":
        parked: list[Event] = [directive, CaseParked(at=now, by=command.actor.id, note=command.note)]
        if state.ledger is None:
            parked.append(ledgered(state, "parked", now))
        return parked
    return [directive]


def extended(state: CaseState, extend_by: Duration, now: datetime) -> dict[str, datetime]:
    """Every running clock of the current stage, moved ``extend_by`` past its due (or past now, if later)."""
    clocks = stage_clocks(state)
    new_dues = {key: state.case.calendar.add(max(clock.due, now), extend_by) for key, clock in clocks.items()}
    if not new_dues:
        raise CommandRejected("extend_by", "no running deadline to extend; order departments in or park the case")
    return new_dues


WHO: Who = {
    IssueDirective: secretary_above,
}
"""Who may send each of this concept's commands (``schemas.rules.authority``)."""


RULES: Rules = {
    IssueDirective: direct,
}
"""What each of this concept's commands decides (``schemas.rules.decider``)."""


# The fold: what this concept's events change in a case.


def _escalated_to_first_secretary(
    state: CaseState, event: EscalatedToFirstSecretary | EscalatedToStreetSecretary
) -> dict[str, object]:
    return _escalate(state, event)


def _directive_issued(state: CaseState, event: DirectiveIssued) -> dict[str, object]:
    return _directed(state, event)


def _case_parked(state: CaseState, event: CaseParked) -> dict[str, object]:
    return {"parked": True, "escalation": None}


def _lapse(clock: Clock | None) -> Clock | None:
    return clock.model_copy(update={"lapsed": True}) if clock else None


def _escalate(state: CaseState, event: EscalatedToFirstSecretary | EscalatedToStreetSecretary) -> dict[str, object]:
    """Raise (or repeat at) the level and mark the clock that caused it as lapsed, so it fires once."""
    level: Literal[1, 2] = 1 if isinstance(event, EscalatedToFirstSecretary) else 2
    previous = state.escalation
    causes = [*(previous.causes if previous else []), event.cause]
    same_level = previous is not None and previous.level == level
    respond = previous.respond if previous and same_level else Clock(start=event.at, due=event.respond_due)
    changes: dict[str, object] = {"escalation": Escalation(level=level, causes=causes, respond=respond)}
    if event.cause == "verify":
        changes["verify"] = _lapse(state.verify)
    elif event.cause == "review":
        changes["review"] = _lapse(state.review)
    elif event.cause == "ruling":
        changes["dispute"] = _lapse(state.dispute)
    elif event.cause == "reroute":
        changes["reroute"] = _lapse(state.reroute)
    return changes


def _directed(state: CaseState, event: DirectiveIssued) -> dict[str, object]:
    """A directive answers the escalation; ``order`` re-summons, ``extend`` moves clocks, ``park`` parks."""
    changes: dict[str, object] = {"escalation": None}
    if event.kind == "order":
        due = event.new_dues[f"report_in:{event.departments[0]}"]
        changes["departments"] = summon(state.departments, event.departments, event.at, due)
        changes["parked"] = False
        changes["reroute"] = None
        changes["dispute"] = None
        if state.lead is None:
            changes["lead"] = event.departments[0]
        if state.stage in ("discovered", "evaluating"):
            changes.update(stage="whistled", verify=None, evaluation=None, rating=None, resolved_in_grid=False)
    elif event.kind == "extend":
        changes["parked"] = False
        changes.update(moved_clocks(state, event.at, event.new_dues))
    return changes


CHANGES: Changes = {
    EscalatedToFirstSecretary: _escalated_to_first_secretary,
    EscalatedToStreetSecretary: _escalated_to_first_secretary,
    DirectiveIssued: _directive_issued,
    CaseParked: _case_parked,
}
"""What each of this concept's events changes in a case (the fold, ``schemas.fold``)."""
