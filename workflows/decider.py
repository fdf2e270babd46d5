"""The decider: ``decide(state, command, now) -> events``. Pure, no I/O, no clock but the ``now`` it is given.

It is the one place the rules live. It raises ``CommandRejected`` (naming the field and the reason) for a
command that is not allowed now, and otherwise returns the events that record what happened, with every
deadline they set already computed from the case's own policy and calendar. The five stages' rules are
here; the practice around them (issue 6) is in ``workflows.practice``, a clock that ran out in
``workflows.deadlines``, and the small rules they share in ``workflows.rules``.
"""

from __future__ import annotations

from datetime import datetime

from schemas.commands import (
    SENIORITY_RANK,
    AnswerExtension,
    AskResident,
    BlowWhistle,
    Command,
    CompletePart,
    DeclineCase,
    EvaluateOutcome,
    IssueDirective,
    ProposeTermination,
    RateDepartment,
    ReachDeadline,
    RecordNote,
    RecordProgress,
    ReportIn,
    ReportInProactively,
    RequestExtension,
    ResidentAnswer,
    ReviewResults,
    ReviewTermination,
    RuleResponsibility,
    VerifyComplaint,
    WithdrawComplaint,
)
from schemas.common import Duration
from schemas.errors import CommandRejected
from schemas.events import (
    CaseClosed,
    CaseParked,
    CaseReopened,
    CaseWithdrawn,
    ComplaintFiled,
    DepartmentDeclined,
    DepartmentReportedIn,
    DirectiveIssued,
    Event,
    GridVerified,
    HandlingCompleted,
    NoteRecorded,
    PartCompleted,
    ProgressRecorded,
    ResidentEvaluated,
    ResolvedInGrid,
    ResponsibilityDisputed,
    ResultsSubmitted,
    WhistleBlown,
)
from schemas.intake import ComplaintInput
from schemas.state import CaseState
from workflows import practice
from workflows.authority import check_actor
from workflows.deadlines import reach_deadline
from workflows.practice import pause_allowance
from workflows.rules import (
    check_known,
    department_part,
    due_after,
    escalation,
    not_under_review,
    report_in_due,
    require_stage,
)

__all__ = ["decide", "file_complaint", "pause_allowance"]


def file_complaint(case: ComplaintInput, now: datetime) -> list[Event]:
    """The events that start a case: it is filed, and the grid's verification clock starts."""
    return [ComplaintFiled(at=now, case=case, verify_due=case.calendar.add(now, case.policy.verify))]


def decide(state: CaseState, command: Command, now: datetime) -> list[Event]:
    """What ``command`` does to the case at ``now``, or ``CommandRejected`` if it may not."""
    if state.stage == "closed":
        raise CommandRejected("stage", f"the case is closed ({state.outcome})")
    check_actor(state, command)
    match command:
        case VerifyComplaint():
            return _verify(state, command, now)
        case BlowWhistle():
            return _blow(state, command, now)
        case ReportIn():
            return _report_in(state, command, now)
        case ReportInProactively():
            return practice.report_in_proactively(state, command, now)
        case RequestExtension():
            return practice.request_extension(state, command, now)
        case AnswerExtension():
            return practice.answer_extension(state, command, now)
        case RateDepartment():
            return practice.rate_department(state, command, now)
        case ReviewResults():
            return practice.review_results(state, command, now)
        case RuleResponsibility():
            return practice.rule_responsibility(state, command, now)
        case AskResident():
            return practice.ask_resident(state, command, now)
        case ResidentAnswer():
            if state.pause is None:
                raise CommandRejected("note", "the case is not waiting on the resident")
            return [practice.resumed(state, now)]
        case ProposeTermination():
            return practice.propose_termination(state, command, now)
        case ReviewTermination():
            return practice.review_termination(state, command, now)
        case DeclineCase():
            return _decline(state, command, now)
        case RecordProgress():
            return _progress(state, command, now)
        case CompletePart():
            return _complete(state, command, now)
        case EvaluateOutcome():
            return _evaluate(state, command, now)
        case IssueDirective():
            return _direct(state, command, now)
        case WithdrawComplaint():
            return [CaseWithdrawn(at=now, reason=command.reason), CaseClosed(at=now, outcome="withdrawn")]
        case RecordNote():
            return _note(state, command, now)
        case ReachDeadline():
            return reach_deadline(state, command, now)


def _verify(state: CaseState, command: VerifyComplaint, now: datetime) -> list[Event]:
    require_stage(state, "discovered")
    grid_worker = command.actor.id
    events: list[Event] = []
    if state.verified_by is None:
        events.append(GridVerified(at=now, grid_worker=grid_worker, note=command.note))
    elif not command.resolved_in_grid:
        raise CommandRejected("resolved_in_grid", f"already verified by {state.verified_by}")
    if command.resolved_in_grid:
        evaluation_due = due_after(state, now, state.case.policy.evaluation)
        events.append(
            ResolvedInGrid(at=now, grid_worker=grid_worker, note=command.note, evaluation_due=evaluation_due)
        )
    return events


def _blow(state: CaseState, command: BlowWhistle, now: datetime) -> list[Event]:
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
            at=now, by=command.actor.id, departments=command.departments, lead=lead, grade=command.grade,
            note=command.note, report_in_due=report_in_due(state, command.grade, now),
        )
    ]


def _report_in(state: CaseState, command: ReportIn, now: datetime) -> list[Event]:
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
            at=now, department=command.department, officer=command.officer, seniority=command.seniority,
            on_time=now <= part.report_in.due, handling_due=handling_due,
        )
    ]


def _decline(state: CaseState, command: DeclineCase, now: datetime) -> list[Event]:
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
            at=now, department=command.department, reason=command.reason,
            handling_due=handling_due, reroute_due=reroute_due,
        )
    ]
    if disputed:
        declines = {code: p.declines for code, p in state.departments.items()}
        declines[command.department] = part.declines + 1
        events.append(
            ResponsibilityDisputed(
                at=now, street_secretary=state.case.context.street.secretary.id, declines=declines,
                ruling_due=due_after(state, now, policy.ruling),
            )
        )
    if state.stage == "handling" and not others_waiting and not state.with_status("reported_in"):
        events.append(_handling_done(state, now))
    return events


def _handling_done(state: CaseState, now: datetime) -> Event:
    """Every part is done: to the resident, or first to the community secretary's review (审核) if the policy asks."""
    policy = state.case.policy
    if policy.review_before_evaluation:
        reviewer = state.case.context.community.secretary.id
        return ResultsSubmitted(at=now, reviewer=reviewer, review_due=due_after(state, now, policy.review))
    return HandlingCompleted(at=now, evaluation_due=due_after(state, now, policy.evaluation))


def _progress(state: CaseState, command: RecordProgress, now: datetime) -> list[Event]:
    """A note from a working department; a case keeps at most ``max_progress_notes`` per department."""
    part = department_part(state, command.department, "reported_in")
    limit = state.case.policy.max_progress_notes
    if part.progress_notes >= limit:
        raise CommandRejected(
            "note", f"{command.department} has recorded the most progress notes a case keeps ({limit}); "
            "complete the part or put the rest in the result",
        )
    return [ProgressRecorded(at=now, department=command.department, note=command.note)]


def _note(state: CaseState, command: RecordNote, now: datetime) -> list[Event]:
    """A note on the record; a case keeps at most ``max_progress_notes`` of them, so its history stays bounded."""
    limit = state.case.policy.max_progress_notes
    if state.notes >= limit:
        raise CommandRejected("note", f"the case keeps at most {limit} notes; put the rest in one")
    return [NoteRecorded(at=now, by=command.actor, note=command.note)]


def _complete(state: CaseState, command: CompletePart, now: datetime) -> list[Event]:
    require_stage(state, "handling")
    department_part(state, command.department, "reported_in")
    unfinished = [c for c in state.with_status("summoned", "reported_in") if c != command.department]
    events: list[Event] = [PartCompleted(at=now, department=command.department, result=command.result)]
    if not unfinished:
        events.append(_handling_done(state, now))
    return events


def _evaluate(state: CaseState, command: EvaluateOutcome, now: datetime) -> list[Event]:
    require_stage(state, "evaluating")
    if state.rating is not None:
        raise CommandRejected("rating", "already rated; the case waits for a secretary's directive")
    events: list[Event] = [ResidentEvaluated(at=now, rating=command.rating, comment=command.comment)]
    policy = state.case.policy
    if command.rating != "unsatisfied":
        events.append(CaseClosed(at=now, outcome=command.rating))
    elif state.reopen_count < policy.max_reopens:
        count = state.reopen_count + 1
        if state.resolved_in_grid:
            events.append(CaseReopened(at=now, reopen_count=count, verify_due=due_after(state, now, policy.verify)))
        else:
            events.append(CaseReopened(at=now, reopen_count=count, handling_due=due_after(state, now, policy.handling)))
    else:
        events.append(escalation(state, "reopen_limit", None, now))
    return events


def _direct(state: CaseState, command: IssueDirective, now: datetime) -> list[Event]:
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
        new_dues = _extended(state, command.extend_by, now)
    elif state.parked:
        raise CommandRejected("kind", "the case is already parked")
    directive = DirectiveIssued(
        at=now, by=command.actor.id, kind=command.kind, departments=command.departments,
        extend_by=command.extend_by, note=command.note, new_dues=new_dues,
    )
    if command.kind == "park":
        parked: list[Event] = [directive, CaseParked(at=now, by=command.actor.id, note=command.note)]
        if state.ledger is None:
            parked.append(practice.ledgered(state, "parked", now))
        return parked
    return [directive]


def _extended(state: CaseState, extend_by: Duration, now: datetime) -> dict[str, datetime]:
    """Every running clock of the current stage, moved ``extend_by`` past its due (or past now, if later)."""
    clocks = {
        "verify": state.verify, "reroute": state.reroute, "dispute": state.dispute, "handling": state.handling,
        "review": state.review,
    }
    for code in state.with_status("summoned"):
        clocks[f"report_in:{code}"] = state.departments[code].report_in
    new_dues = {
        key: state.case.calendar.add(max(clock.due, now), extend_by) for key, clock in clocks.items() if clock
    }
    if not new_dues:
        raise CommandRejected("extend_by", "no running deadline to extend; order departments in or park the case")
    return new_dues


