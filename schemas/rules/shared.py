"""Small rules the decider's handlers share: when a window ends, which stage or part a command needs, and
who the case escalates to. Pure, like the decider; each raises ``CommandRejected`` naming the field.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from schemas.actors import Actor
from schemas.commands import Grade
from schemas.common import Duration
from schemas.errors import CommandRejected
from schemas.events import EscalatedToFirstSecretary, EscalatedToStreetSecretary, EscalationCause, Event
from schemas.parts import Clock, DepartmentPart, Stage
from schemas.state import CaseState

Changes = dict[type, Callable[[CaseState, Any], dict[str, object]]]
"""A concept's fold: for each of its event types, what the event changes in a case (as model fields)."""

Rules = dict[type, Callable[[CaseState, Any, datetime], list[Event]]]
"""A concept's rules: for each of its command types, the events the command decides (or ``CommandRejected``)."""


def due_after(state: CaseState, start: datetime, duration: Duration) -> datetime:
    """When a window of ``duration`` from ``start`` ends, counted on the case's own calendar."""
    return state.case.calendar.add(start, duration)


def require_stage(state: CaseState, *stages: Stage) -> None:
    """Reject the command unless the case is in one of ``stages``."""
    if state.stage not in stages:
        raise CommandRejected("stage", f"not allowed while the case is {state.stage} (needs {' or '.join(stages)})")


def department_part(state: CaseState, department: str, *statuses: str) -> DepartmentPart:
    """The department's part, checked to be in one of ``statuses``."""
    part = state.departments.get(department)
    if part is None:
        if department not in state.case.context.departments:
            raise CommandRejected("department", f"unknown department {department!r}")
        raise CommandRejected("department", f"{department} was not summoned to this case")
    if part.status not in statuses:
        raise CommandRejected("department", f"{department} has {part.status.replace('_', ' ')}")
    return part


def check_known(state: CaseState, departments: list[str]) -> None:
    """Reject the command if it names a department the case's directory does not know."""
    unknown = [code for code in departments if code not in state.case.context.departments]
    if unknown:
        raise CommandRejected("departments", f"unknown departments: {', '.join(unknown)}")


def report_in_due(state: CaseState, grade: Grade, now: datetime) -> datetime:
    """When a department summoned now with a ``grade`` whistle must report in (the grade's window, if it sets one)."""
    policy = state.case.policy
    return due_after(state, now, policy.grade(grade).report_in or policy.report_in)


def not_under_review(state: CaseState) -> None:
    """Reject the command while the results wait for the community's review (审核)."""
    if state.review is not None:
        raise CommandRejected("stage", "the results are under the community's review; wait for its answer")


def escalation(state: CaseState, cause: EscalationCause, department: str | None, now: datetime) -> Event:
    """Raise the case to the first secretary, or tell whoever already holds it about the new miss."""
    context = state.case.context
    policy = state.case.policy
    current = state.escalation
    if current is None:
        return EscalatedToFirstSecretary(
            at=now,
            cause=cause,
            department=department,
            first_secretary=context.community.first_secretary.id,
            respond_due=due_after(state, now, policy.first_secretary),
        )
    if current.level == 1 and cause != "first_secretary":
        return EscalatedToFirstSecretary(
            at=now,
            cause=cause,
            department=department,
            first_secretary=context.community.first_secretary.id,
            respond_due=current.respond.due,
        )
    respond_due = current.respond.due if current.level == 2 else due_after(state, now, policy.street_secretary)
    return EscalatedToStreetSecretary(
        at=now,
        cause=cause,
        department=department,
        street_secretary=context.street.secretary.id,
        respond_due=respond_due,
    )


Who = dict[type, Callable[[CaseState, Any], None]]
"""A concept's access rules: for each of its command types, the check of the command's actor against the case's own
people (raising ``CommandRejected("actor", why)``); ``schemas.rules.authority`` gathers them."""

RESIDENT_ONLY = "only the resident who filed the case, or a hotline operator for them, may do this"


def require_actor(actor: Actor, allowed: set[tuple[str, str]], reason: str) -> None:
    """``CommandRejected("actor", ...)`` unless ``actor`` is one of ``allowed`` (kind, id)."""
    if (actor.kind, actor.id) not in allowed:
        raise CommandRejected("actor", f"{actor.kind} {actor.id} may not: {reason}")


def community_secretary_only(state: CaseState, command: Any) -> None:
    secretary = state.case.context.community.secretary.id
    require_actor(
        command.actor, {("community_secretary", secretary)}, f"only the community secretary ({secretary}) may do this"
    )


def department_itself(state: CaseState, command: Any) -> None:
    require_actor(
        command.actor,
        {("department", command.department)},
        f"only {command.department} itself acts for {command.department}",
    )


def resident_or_operator(state: CaseState, command: Any) -> None:
    """The resident who filed the case (as the case knows them: ``resident:<reference>``), or a hotline operator."""
    actor = command.actor
    resident = state.case.intake.reporter.resident_actor()
    if actor.kind == "operator":
        return
    if actor.kind != "resident" or resident is None or actor.id != resident:
        raise CommandRejected("actor", RESIDENT_ONLY)


def secretary_above(state: CaseState, command: Any) -> None:
    """The case's first secretary or its street's secretary."""
    context = state.case.context
    first, street = context.community.first_secretary.id, context.street.secretary.id
    require_actor(
        command.actor,
        {("first_secretary", first), ("street_secretary", street)},
        f"only the first secretary ({first}) or the street secretary ({street}) may do this",
    )


def stage_clocks(state: CaseState) -> dict[str, Clock]:
    """The clocks the case's handlers are held to now, keyed ``verify``, ``handling``, ... and ``report_in:<code>``
    per department still to report in: what a directive extends and leader supervision shortens."""
    clocks = {
        "verify": state.verify,
        "reroute": state.reroute,
        "dispute": state.dispute,
        "handling": state.handling,
        "review": state.review,
    }
    for code in state.with_status("summoned"):
        clocks[f"report_in:{code}"] = state.departments[code].report_in
    return {key: clock for key, clock in clocks.items() if clock}


def moved_clocks(state: CaseState, at: datetime, new_dues: dict[str, datetime]) -> dict[str, object]:
    """The fold of ``new_dues`` (keyed as ``stage_clocks``): each clock restarted at ``at`` with its new due."""
    changes: dict[str, object] = {}
    departments = dict(state.departments)
    for key, due in new_dues.items():
        if key.startswith("report_in:"):
            code = key.removeprefix("report_in:")
            departments[code] = departments[code].model_copy(update={"report_in": Clock(start=at, due=due)})
        else:
            changes[key] = Clock(start=at, due=due)
    changes["departments"] = departments
    return changes
