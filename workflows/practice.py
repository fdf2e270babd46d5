"""The decider's rules for the practice around the five stages (issue 6). Pure, like ``workflows.decider``.

Proactive report-in (主动报到), extensions (延期), the ledger (挂账), the community's rating of departments
(双考核), its review of the results (审核), reviewed termination (终止办理), the street office's ruling on a
responsibility dispute (职责争议), and paused clocks while the case waits on the resident. ``decide`` routes
these commands here; each handler returns the events or raises ``CommandRejected``.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from schemas.commands import (
    AnswerExtension,
    AskResident,
    ProposeTermination,
    RateDepartment,
    ReportInProactively,
    RequestExtension,
    ReviewResults,
    ReviewTermination,
    RuleResponsibility,
)
from schemas.errors import CommandRejected
from schemas.events import (
    CaseClosed,
    CaseLedgered,
    ClocksPaused,
    ClocksResumed,
    DepartmentRated,
    Event,
    ExtensionApproved,
    ExtensionRefused,
    ExtensionRequested,
    HandlingCompleted,
    LedgerReason,
    ProactivelyReportedIn,
    ResponsibilityRuled,
    ResultsApproved,
    ResultsRejected,
    TerminationApproved,
    TerminationProposed,
    TerminationRefused,
)
from schemas.parts import Clock
from schemas.state import CaseState
from workflows.authority import extension_approver
from workflows.rules import (
    check_known,
    department_part,
    due_after,
    not_under_review,
    report_in_due,
    require_stage,
)


def report_in_proactively(state: CaseState, command: ReportInProactively, now: datetime) -> list[Event]:
    """不等吹哨、主动报到: a department joins on its own, or the first secretary comes in person."""
    require_stage(state, "discovered", "whistled", "handling")
    not_under_review(state)
    if command.department is None:
        if state.first_secretary_present:
            raise CommandRejected("department", "the first secretary has already reported in to this case")
        return [
            ProactivelyReportedIn(
                at=now, by=command.actor.id, officer=command.officer, seniority=command.seniority
            )
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
            at=now, department=command.department, by=command.actor.id, officer=command.officer,
            seniority=command.seniority, handling_due=handling_due,
        )
    ]


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
            at=now, department=command.department, extend_by=command.extend_by, reason=command.reason,
            approver=extension_approver(state), answer_due=due_after(state, now, policy.extension_answer),
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
            at=now, department=pending.department, by=command.actor.id, extend_by=pending.extend_by,
            note=command.note, handling_due=handling_due,
        )
    ]


def ledgered(state: CaseState, reason: LedgerReason, now: datetime) -> CaseLedgered:
    """The case goes on the ledger (挂账), kept by the first secretary, who reviews it every ``ledger_review``."""
    owner = state.case.context.community.first_secretary.id
    review_due = due_after(state, now, state.case.policy.ledger_review)
    return CaseLedgered(at=now, reason=reason, owner=owner, review_due=review_due)


def rate_department(state: CaseState, command: RateDepartment, now: datetime) -> list[Event]:
    """双考核: the community rates a department once it has finished its part."""
    part = department_part(state, command.department, "done")
    if part.rating is not None:
        raise CommandRejected("department", f"{command.department} has already been rated on this case")
    on_time = bool(part.reported_on_time) or part.proactive
    return [
        DepartmentRated(
            at=now, department=command.department, by=command.actor.id, on_time=on_time, proactive=part.proactive,
            in_person=command.in_person, result=command.result, comment=command.comment,
        )
    ]


# Review before evaluation (审核) and reviewed termination (终止办理).


def review_results(state: CaseState, command: ReviewResults, now: datetime) -> list[Event]:
    if state.review is None:
        raise CommandRejected("approve", "no results are waiting for review")
    by = command.actor.id
    if command.approve:
        evaluation_due = due_after(state, now, state.case.policy.evaluation)
        approved = ResultsApproved(at=now, by=by, note=command.reason)
        return [approved, HandlingCompleted(at=now, evaluation_due=evaluation_due)]
    handling_due = due_after(state, now, state.case.policy.handling)
    return [ResultsRejected(at=now, by=by, reason=command.reason, handling_due=handling_due)]


def propose_termination(state: CaseState, command: ProposeTermination, now: datetime) -> list[Event]:
    if state.termination is not None:
        raise CommandRejected("reason", "a termination is already proposed; wait for the review")
    policy = state.case.policy
    return [
        TerminationProposed(
            at=now, by=command.actor.id, reason=command.reason, note=command.note,
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


def rule_responsibility(state: CaseState, command: RuleResponsibility, now: datetime) -> list[Event]:
    """职责争议: the street office names the departments that must handle a case every department declined."""
    if state.dispute is None:
        raise CommandRejected("departments", "no dispute is waiting for a ruling")
    check_known(state, command.departments)
    lead = command.lead or command.departments[0]
    return [
        ResponsibilityRuled(
            at=now, by=command.actor.id, departments=command.departments, lead=lead, note=command.note,
            report_in_due=report_in_due(state, "blue", now),
        )
    ]


# Paused clocks: the case waits on the resident.


def pause_allowance(state: CaseState, now: datetime) -> timedelta:
    """What is left of the case's total pause (``max_pause``)."""
    limit = state.case.policy.max_pause
    whole = limit.fixed() or (state.case.calendar.add(now, limit) - now)
    return whole - timedelta(seconds=state.paused_seconds)


def ask_resident(state: CaseState, command: AskResident, now: datetime) -> list[Event]:
    require_stage(state, "discovered", "whistled", "handling")
    if state.pause is not None:
        raise CommandRejected("reason", "the case already waits on the resident")
    left = pause_allowance(state, now)
    if left <= timedelta(0):
        raise CommandRejected("reason", f"the case has used its whole pause ({state.case.policy.max_pause})")
    return [ClocksPaused(at=now, by=command.actor.id, reason=command.reason, resume_due=now + left)]


def resumed(state: CaseState, now: datetime, *, lapsed: bool = False) -> ClocksResumed:
    """Every clock that stood still, moved by how long it stood still (a clock started mid-pause, by less)."""
    assert state.pause is not None
    since = state.pause.since
    clocks: dict[str, Clock | None] = {
        "verify": state.verify, "reroute": state.reroute, "dispute": state.dispute, "handling": state.handling,
        "review": state.review, "evaluation": state.evaluation,
        "escalation": state.escalation.respond if state.escalation else None,
    }
    for code, part in state.departments.items():
        if part.status == "summoned":
            clocks[f"report_in:{code}"] = part.report_in
    new_dues = {
        key: clock.due + (now - max(since, clock.start))
        for key, clock in clocks.items()
        if clock is not None and now > max(since, clock.start)
    }
    return ClocksResumed(at=now, paused_seconds=(now - since).total_seconds(), new_dues=new_dues, lapsed=lapsed)
