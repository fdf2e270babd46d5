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
    ResponsibilityDisputed,
)
from schemas.rules.handling import handling_done
from schemas.rules.shared import (
    check_known,
    department_part,
    due_after,
    not_under_review,
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
