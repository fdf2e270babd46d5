"""Report-in (部门报到): a summoned department reports in or declines; a department (or the first secretary)
reports in unasked (主动报到)."""

from __future__ import annotations

from datetime import datetime

from schemas.commands import (
    SENIORITY_RANK,
    DeclineCase,
    ReportIn,
    ReportInProactively,
)
from schemas.errors import CommandRejected
from schemas.events import (
    DepartmentDeclined,
    DepartmentReportedIn,
    Event,
    ProactivelyReportedIn,
    ReportInOverdue,
    ResponsibilityDisputed,
)
from schemas.parts import (
    Clock,
    DepartmentPart,
    with_parts,
)
from schemas.rules.handling import handling_done
from schemas.rules.shared import (
    Changes,
    Rules,
    Who,
    check_known,
    department_itself,
    department_part,
    due_after,
    not_under_review,
    require_actor,
    require_stage,
)
from schemas.state import CaseState


def report_in(state: CaseState, command: ReportIn, now: datetime) -> list[Event]:
    part = department_part(state, command.department, "summoned")
    assert part.report_in is not None
    required = state.case.policy.grade(part.grade).seniority
    if SENIORITY_RANK[command.seniority] < SENIORITY_RANK[required]:
        raise CommandRejected(
            "seniority",
            f"a {part.grade} whistle needs at least a {required.replace('_', ' ')} to report in, "
            f"not a {command.seniority.replace('_', ' ')}",
        )
    others_waiting = [code for code in state.with_status("summoned") if code != command.department]
    handling_due = None
    if state.stage == "whistled" and not others_waiting:
        handling_due = due_after(state, now, state.case.policy.handling)
    return [
        DepartmentReportedIn(
            at=now,
            department=command.department,
            officer=command.officer,
            seniority=command.seniority,
            on_time=now <= part.report_in.due,
            handling_due=handling_due,
        )
    ]


def decline(state: CaseState, command: DeclineCase, now: datetime) -> list[Event]:
    part = department_part(state, command.department, "summoned")
    if part.ruled:
        raise CommandRejected("department", f"the street office ruled that {command.department} handles this case")
    if command.category == state.case.intake.category:
        raise CommandRejected("category", f"the case is {command.category!r} already; propose another or none")
    others_waiting = [code for code in state.with_status("summoned") if code != command.department]
    working = state.with_status("reported_in", "done")
    policy = state.case.policy
    handling_due = reroute_due = None
    disputed = False
    if state.stage == "whistled" and not others_waiting:
        if working:
            handling_due = due_after(state, now, policy.handling)
        elif policy.rule_disputes:
            disputed = True
        else:
            reroute_due = due_after(state, now, policy.report_in)
    events: list[Event] = [
        DepartmentDeclined(
            at=now,
            department=command.department,
            reason=command.reason,
            handling_due=handling_due,
            reroute_due=reroute_due,
            proposed_category=command.category,
        )
    ]
    if disputed:
        declines = {code: p.declines for code, p in state.departments.items()}
        declines[command.department] = part.declines + 1
        events.append(
            ResponsibilityDisputed(
                at=now,
                street_secretary=state.case.context.street.secretary.id,
                declines=declines,
                ruling_due=due_after(state, now, policy.ruling),
            )
        )
    if state.stage == "handling" and not others_waiting and not state.with_status("reported_in"):
        events.append(handling_done(state, now))
    return events


def report_in_proactively(state: CaseState, command: ReportInProactively, now: datetime) -> list[Event]:
    """不等吹哨、主动报到: a department joins on its own, or the first secretary comes in person."""
    require_stage(state, "discovered", "whistled", "handling")
    not_under_review(state)
    if command.department is None:
        if state.first_secretary_present:
            raise CommandRejected("department", "the first secretary has already reported in to this case")
        return [
            ProactivelyReportedIn(at=now, by=command.actor.id, officer=command.officer, seniority=command.seniority)
        ]
    check_known(state, [command.department])
    part = state.departments.get(command.department)
    if part is not None and part.status != "declined":
        raise CommandRejected(
            "department", f"{command.department} is already on the case ({part.status.replace('_', ' ')})"
        )
    waiting = state.with_status("summoned")
    starts_handling = state.stage == "discovered" or (state.stage == "whistled" and not waiting)
    handling_due = due_after(state, now, state.case.policy.handling) if starts_handling else None
    return [
        ProactivelyReportedIn(
            at=now,
            department=command.department,
            by=command.actor.id,
            officer=command.officer,
            seniority=command.seniority,
            handling_due=handling_due,
        )
    ]


def may_report_in_proactively(state: CaseState, command: ReportInProactively) -> None:
    """A department for itself, or (without a department) the community's first secretary in person."""
    if command.department is None:
        first = state.case.context.community.first_secretary.id
        reason = f"only the first secretary ({first}) comes in person"
        require_actor(command.actor, {("first_secretary", first)}, reason)
    else:
        department_itself(state, command)


WHO: Who = {
    ReportIn: department_itself,
    DeclineCase: department_itself,
    ReportInProactively: may_report_in_proactively,
}
"""Who may send each of this concept's commands (``schemas.rules.authority``)."""


RULES: Rules = {
    ReportIn: report_in,
    ReportInProactively: report_in_proactively,
    DeclineCase: decline,
}
"""What each of this concept's commands decides (``schemas.rules.decider``)."""


# The fold: what this concept's events change in a case.


def _department_reported_in(state: CaseState, event: DepartmentReportedIn) -> dict[str, object]:
    part = state.departments[event.department]
    reported = part.model_copy(
        update={
            "status": "reported_in",
            "officer": event.officer,
            "seniority": event.seniority,
            "reported_on_time": event.on_time,
        }
    )
    changes: dict[str, object] = {"departments": with_parts(state.departments, **{event.department: reported})}
    if event.handling_due is not None:
        changes.update(stage="handling", handling=Clock(start=event.at, due=event.handling_due))
    return changes


def _department_declined(state: CaseState, event: DepartmentDeclined) -> dict[str, object]:
    part = state.departments[event.department]
    declined = part.model_copy(
        update={"status": "declined", "decline_reason": event.reason, "declines": part.declines + 1}
    )
    departments = with_parts(state.departments, **{event.department: declined})
    active = [code for code, p in departments.items() if p.status != "declined"]
    changes: dict[str, object] = {"departments": departments}
    if state.lead == event.department:
        changes["lead"] = active[0] if active else None
    if event.handling_due is not None:
        changes.update(stage="handling", handling=Clock(start=event.at, due=event.handling_due))
    if event.reroute_due is not None:
        changes["reroute"] = Clock(start=event.at, due=event.reroute_due)
    return changes


def _report_in_overdue(state: CaseState, event: ReportInOverdue) -> dict[str, object]:
    part = state.departments[event.department]
    assert part.report_in is not None
    lapsed = part.model_copy(update={"report_in": part.report_in.model_copy(update={"lapsed": True})})
    return {"departments": with_parts(state.departments, **{event.department: lapsed})}


def _proactively_reported_in(state: CaseState, event: ProactivelyReportedIn) -> dict[str, object]:
    return _proactive(state, event)


def _proactive(state: CaseState, event: ProactivelyReportedIn) -> dict[str, object]:
    """A department joins the work on its own (or the first secretary comes): it may start handling."""
    if event.department is None:
        return {"first_secretary_present": True}
    previous = state.departments.get(event.department)
    joined = DepartmentPart(
        status="reported_in",
        officer=event.officer,
        seniority=event.seniority,
        reported_on_time=True,
        proactive=True,
        declines=previous.declines if previous else 0,
    )
    departments = with_parts(state.departments, **{event.department: joined})
    changes: dict[str, object] = {"departments": departments}
    active = [code for code, part in departments.items() if part.status != "declined"]
    if state.lead not in active:
        changes["lead"] = event.department
    if event.handling_due is not None:
        changes.update(
            stage="handling",
            handling=Clock(start=event.at, due=event.handling_due),
            verify=None,
            reroute=None,
            dispute=None,
        )
    return changes


CHANGES: Changes = {
    DepartmentReportedIn: _department_reported_in,
    DepartmentDeclined: _department_declined,
    ReportInOverdue: _report_in_overdue,
    ProactivelyReportedIn: _proactively_reported_in,
}
"""What each of this concept's events changes in a case (the fold, ``schemas.fold``)."""
