"""Ruling (职责裁定): the street office names the departments that must handle a case every department declined."""

from __future__ import annotations

from datetime import datetime

from schemas.commands import RuleResponsibility
from schemas.errors import CommandRejected
from schemas.events import (
    Event,
    ResponsibilityDisputed,
    ResponsibilityRuled,
)
from schemas.parts import (
    Clock,
    summon,
)
from schemas.rules.shared import (
    Changes,
    Rules,
    Who,
    check_known,
    report_in_due,
    require_actor,
)
from schemas.state import CaseState


def rule_responsibility(state: CaseState, command: RuleResponsibility, now: datetime) -> list[Event]:
    """职责争议: the street office names the departments that must handle a case every department declined."""
    if state.dispute is None:
        raise CommandRejected("departments", "no dispute is waiting for a ruling")
    check_known(state, command.departments)
    lead = command.lead or command.departments[0]
    return [
        ResponsibilityRuled(
            at=now,
            by=command.actor.id,
            departments=command.departments,
            lead=lead,
            note=command.note,
            report_in_due=report_in_due(state, "blue", now),
        )
    ]


def may_rule(state: CaseState, command: RuleResponsibility) -> None:
    street = state.case.context.street.secretary.id
    reason = f"only the street secretary ({street}) rules a dispute"
    require_actor(command.actor, {("street_secretary", street)}, reason)


WHO: Who = {
    RuleResponsibility: may_rule,
}
"""Who may send each of this concept's commands (``schemas.rules.authority``)."""


RULES: Rules = {
    RuleResponsibility: rule_responsibility,
}
"""What each of this concept's commands decides (``schemas.rules.decider``)."""


# The fold: what this concept's events change in a case.


def _responsibility_disputed(state: CaseState, event: ResponsibilityDisputed) -> dict[str, object]:
    return {"dispute": Clock(start=event.at, due=event.ruling_due)}


def _responsibility_ruled(state: CaseState, event: ResponsibilityRuled) -> dict[str, object]:
    return {
        "departments": summon(state.departments, event.departments, event.at, event.report_in_due, ruled=True),
        "lead": event.lead,
        "dispute": None,
        "reroute": None,
    }


CHANGES: Changes = {
    ResponsibilityDisputed: _responsibility_disputed,
    ResponsibilityRuled: _responsibility_ruled,
}
"""What each of this concept's events changes in a case (the fold, ``schemas.fold``)."""
