"""The whistle (社区吹哨): the community secretary summons departments, at a grade."""

from __future__ import annotations

from datetime import datetime
from typing import get_args

from schemas.commands import BlowWhistle, Grade, RaiseGrade
from schemas.errors import CommandRejected
from schemas.events import (
    Event,
    WhistleBlown,
    WhistleGradeRaised,
)
from schemas.parts import (
    Clock,
    summon,
    with_parts,
)
from schemas.rules.shared import (
    Changes,
    Rules,
    Who,
    check_known,
    community_secretary_only,
    not_under_review,
    report_in_due,
    require_stage,
)
from schemas.state import CaseState


def blow(state: CaseState, command: BlowWhistle, now: datetime) -> list[Event]:
    require_stage(state, "discovered", "whistled", "handling")
    if state.stage == "discovered" and state.verified_by is None:
        raise CommandRejected("stage", "a grid worker must verify the complaint before the whistle")
    not_under_review(state)
    check_known(state, command.departments)
    busy = [code for code in command.departments if code in state.with_status("summoned", "reported_in", "done")]
    if busy:
        raise CommandRejected("departments", f"already on the case: {', '.join(busy)}")
    active_lead = state.lead if state.lead in state.with_status("summoned", "reported_in", "done") else None
    lead = command.lead or active_lead or command.departments[0]
    return [
        WhistleBlown(
            at=now,
            by=command.actor.id,
            departments=command.departments,
            lead=lead,
            grade=command.grade,
            note=command.note,
            report_in_due=report_in_due(state, command.grade, now),
        )
    ]


GRADES: tuple[Grade, ...] = get_args(Grade)
"""The grades from the mildest up, in the order ``Grade`` names them."""


def raise_grade(state: CaseState, command: RaiseGrade, now: datetime) -> list[Event]:
    """A new, shorter report-in window at the higher grade, from now (the department's old window is replaced)."""
    require_stage(state, "whistled", "handling")
    if state.pause is not None:
        raise CommandRejected("stage", "the case waits on the resident; raise the whistle once its clocks run again")
    part = state.departments.get(command.department)
    if part is None or part.status != "summoned":
        raise CommandRejected("department", f"{command.department} is not summoned and waiting to report in")
    if part.grade_raised:
        raise CommandRejected("grade", f"the whistle for {command.department} was raised once already")
    if GRADES.index(command.grade) <= GRADES.index(part.grade):
        raise CommandRejected("grade", f"{command.grade} is not above the whistle's {part.grade}")
    due = report_in_due(state, command.grade, now)
    return [WhistleGradeRaised(at=now, department=command.department, grade=command.grade, report_in_due=due)]


WHO: Who = {
    BlowWhistle: community_secretary_only,
    RaiseGrade: community_secretary_only,
}
"""Who may send each of this concept's commands (``schemas.rules.authority``)."""


RULES: Rules = {
    BlowWhistle: blow,
    RaiseGrade: raise_grade,
}
"""What each of this concept's commands decides (``schemas.rules.decider``)."""


# The fold: what this concept's events change in a case.


def _whistle_blown(state: CaseState, event: WhistleBlown) -> dict[str, object]:
    return {
        "stage": "whistled" if state.stage == "discovered" else state.stage,
        "departments": summon(state.departments, event.departments, event.at, event.report_in_due, event.grade),
        "lead": event.lead,
        "verify": None,
        "reroute": None,
        "dispute": None,
    }


def _whistle_grade_raised(state: CaseState, event: WhistleGradeRaised) -> dict[str, object]:
    part = state.departments[event.department]
    raised = part.model_copy(
        update={"grade": event.grade, "grade_raised": True, "report_in": Clock(start=event.at, due=event.report_in_due)}
    )
    return {"departments": with_parts(state.departments, **{event.department: raised})}


CHANGES: Changes = {
    WhistleBlown: _whistle_blown,
    WhistleGradeRaised: _whistle_grade_raised,
}
"""What each of this concept's events changes in a case (the fold, ``schemas.fold``)."""
