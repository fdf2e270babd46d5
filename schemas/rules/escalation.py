"""Escalation's answers (书记指令): the first or street secretary orders departments in, extends, or parks."""

from __future__ import annotations

from datetime import datetime

from schemas.commands import (
    IssueDirective,
)
from schemas.common import Duration
from schemas.errors import CommandRejected
from schemas.events import (
    CaseParked,
    DirectiveIssued,
    Event,
)
from schemas.rules.ledger import ledgered
from schemas.rules.shared import (
    check_known,
    due_after,
    not_under_review,
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
    clocks = {
        "verify": state.verify,
        "reroute": state.reroute,
        "dispute": state.dispute,
        "handling": state.handling,
        "review": state.review,
    }
    for code in state.with_status("summoned"):
        clocks[f"report_in:{code}"] = state.departments[code].report_in
    new_dues = {key: state.case.calendar.add(max(clock.due, now), extend_by) for key, clock in clocks.items() if clock}
    if not new_dues:
        raise CommandRejected("extend_by", "no running deadline to extend; order departments in or park the case")
    return new_dues
