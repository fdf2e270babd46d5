"""The decider: ``decide(state, command, now) -> events``. Pure, no I/O, no clock but the ``now`` it is given.

It is the one place the rules live. It raises ``CommandRejected`` (naming the field and the reason) for a
command that is not allowed now, and otherwise returns the events that record what happened, with every
deadline they set already computed from the case's own policy and calendar.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from schemas.commands import (
    SENIORITY_RANK,
    AnswerExtension,
    AskResident,
    BlowWhistle,
    Command,
    CompletePart,
    DeclineCase,
    EvaluateOutcome,
    Grade,
    IssueDirective,
    ProposeTermination,
    RateDepartment,
    ReachDeadline,
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
    CaseLedgered,
    CaseParked,
    CaseReopened,
    CaseWithdrawn,
    ClocksPaused,
    ClocksResumed,
    ComplaintFiled,
    DepartmentDeclined,
    DepartmentRated,
    DepartmentReportedIn,
    DirectiveIssued,
    EscalatedToFirstSecretary,
    EscalatedToStreetSecretary,
    EscalationCause,
    EvaluationLapsed,
    Event,
    ExtensionApproved,
    ExtensionRefused,
    ExtensionRequested,
    GridVerified,
    HandlingCompleted,
    HandlingOverdue,
    LedgerReason,
    LedgerReviewReminded,
    PartCompleted,
    ProactivelyReportedIn,
    ProgressRecorded,
    ReportInOverdue,
    ResidentEvaluated,
    ResolvedInGrid,
    ResponsibilityDisputed,
    ResponsibilityRuled,
    ResultsApproved,
    ResultsRejected,
    ResultsSubmitted,
    TerminationApproved,
    TerminationProposed,
    TerminationRefused,
    WhistleBlown,
    WhistleGradeRaised,
)
from schemas.intake import ComplaintInput
from schemas.state import CaseState, Clock, DepartmentPart, Stage
from workflows.authority import check_actor, extension_approver


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
            return _report_in_proactively(state, command, now)
        case RequestExtension():
            return _request_extension(state, command, now)
        case AnswerExtension():
            return _answer_extension(state, command, now)
        case RateDepartment():
            return _rate(state, command, now)
        case ReviewResults():
            return _review(state, command, now)
        case RuleResponsibility():
            return _rule(state, command, now)
        case AskResident():
            return _ask_resident(state, command, now)
        case ResidentAnswer():
            if state.pause is None:
                raise CommandRejected("note", "the case is not waiting on the resident")
            return [_resumed(state, now)]
        case ProposeTermination():
            return _propose_termination(state, command, now)
        case ReviewTermination():
            return _review_termination(state, command, now)
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
        case ReachDeadline():
            return _deadline(state, command, now)


def _due(state: CaseState, start: datetime, duration: Duration) -> datetime:
    return state.case.calendar.add(start, duration)


def _require_stage(state: CaseState, *stages: Stage) -> None:
    if state.stage not in stages:
        raise CommandRejected("stage", f"not allowed while the case is {state.stage} (needs {' or '.join(stages)})")


def _part(state: CaseState, department: str, *statuses: str) -> DepartmentPart:
    """The department's part, checked to be in one of ``statuses``."""
    part = state.departments.get(department)
    if part is None:
        if department not in state.case.context.departments:
            raise CommandRejected("department", f"unknown department {department!r}")
        raise CommandRejected("department", f"{department} was not summoned to this case")
    if part.status not in statuses:
        raise CommandRejected("department", f"{department} has {part.status.replace('_', ' ')}")
    return part


def _check_known(state: CaseState, departments: list[str]) -> None:
    unknown = [code for code in departments if code not in state.case.context.departments]
    if unknown:
        raise CommandRejected("departments", f"unknown departments: {', '.join(unknown)}")


def _verify(state: CaseState, command: VerifyComplaint, now: datetime) -> list[Event]:
    _require_stage(state, "discovered")
    grid_worker = command.actor.id
    events: list[Event] = []
    if state.verified_by is None:
        events.append(GridVerified(at=now, grid_worker=grid_worker, note=command.note))
    elif not command.resolved_in_grid:
        raise CommandRejected("resolved_in_grid", f"already verified by {state.verified_by}")
    if command.resolved_in_grid:
        evaluation_due = _due(state, now, state.case.policy.evaluation)
        events.append(
            ResolvedInGrid(at=now, grid_worker=grid_worker, note=command.note, evaluation_due=evaluation_due)
        )
    return events


def _blow(state: CaseState, command: BlowWhistle, now: datetime) -> list[Event]:
    _require_stage(state, "discovered", "whistled", "handling")
    if state.stage == "discovered" and state.verified_by is None:
        raise CommandRejected("stage", "a grid worker must verify the complaint before the whistle")
    _not_under_review(state)
    _check_known(state, command.departments)
    busy = [code for code in command.departments if code in state.with_status("summoned", "reported_in", "done")]
    if busy:
        raise CommandRejected("departments", f"already on the case: {', '.join(busy)}")
    active_lead = state.lead if state.lead in state.with_status("summoned", "reported_in", "done") else None
    lead = command.lead or active_lead or command.departments[0]
    return [
        WhistleBlown(
            at=now, by=command.actor.id, departments=command.departments, lead=lead, grade=command.grade,
            note=command.note, report_in_due=_report_in_due(state, command.grade, now),
        )
    ]


def _report_in_due(state: CaseState, grade: Grade, now: datetime) -> datetime:
    policy = state.case.policy
    return _due(state, now, policy.grade(grade).report_in or policy.report_in)


def _report_in(state: CaseState, command: ReportIn, now: datetime) -> list[Event]:
    part = _part(state, command.department, "summoned")
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
        handling_due = _due(state, now, state.case.policy.handling)
    return [
        DepartmentReportedIn(
            at=now, department=command.department, officer=command.officer, seniority=command.seniority,
            on_time=now <= part.report_in.due, handling_due=handling_due,
        )
    ]


def _decline(state: CaseState, command: DeclineCase, now: datetime) -> list[Event]:
    part = _part(state, command.department, "summoned")
    if part.ruled:
        raise CommandRejected("department", f"the street office ruled that {command.department} handles this case")
    others_waiting = [code for code in state.with_status("summoned") if code != command.department]
    working = state.with_status("reported_in", "done")
    policy = state.case.policy
    handling_due = reroute_due = None
    disputed = False
    if state.stage == "whistled" and not others_waiting:
        if working:
            handling_due = _due(state, now, policy.handling)
        elif policy.rule_disputes:
            disputed = True
        else:
            reroute_due = _due(state, now, policy.report_in)
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
                ruling_due=_due(state, now, policy.ruling),
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
        return ResultsSubmitted(at=now, reviewer=reviewer, review_due=_due(state, now, policy.review))
    return HandlingCompleted(at=now, evaluation_due=_due(state, now, policy.evaluation))


def _not_under_review(state: CaseState) -> None:
    if state.review is not None:
        raise CommandRejected("stage", "the results are under the community's review; wait for its answer")


def _progress(state: CaseState, command: RecordProgress, now: datetime) -> list[Event]:
    """A note from a working department; a case keeps at most ``max_progress_notes`` per department."""
    part = _part(state, command.department, "reported_in")
    limit = state.case.policy.max_progress_notes
    if part.progress_notes >= limit:
        raise CommandRejected(
            "note", f"{command.department} has recorded the most progress notes a case keeps ({limit}); "
            "complete the part or put the rest in the result",
        )
    return [ProgressRecorded(at=now, department=command.department, note=command.note)]


def _complete(state: CaseState, command: CompletePart, now: datetime) -> list[Event]:
    _require_stage(state, "handling")
    _part(state, command.department, "reported_in")
    unfinished = [c for c in state.with_status("summoned", "reported_in") if c != command.department]
    events: list[Event] = [PartCompleted(at=now, department=command.department, result=command.result)]
    if not unfinished:
        events.append(_handling_done(state, now))
    return events


def _evaluate(state: CaseState, command: EvaluateOutcome, now: datetime) -> list[Event]:
    _require_stage(state, "evaluating")
    if state.rating is not None:
        raise CommandRejected("rating", "already rated; the case waits for a secretary's directive")
    events: list[Event] = [ResidentEvaluated(at=now, rating=command.rating, comment=command.comment)]
    policy = state.case.policy
    if command.rating != "unsatisfied":
        events.append(CaseClosed(at=now, outcome=command.rating))
    elif state.reopen_count < policy.max_reopens:
        count = state.reopen_count + 1
        if state.resolved_in_grid:
            events.append(CaseReopened(at=now, reopen_count=count, verify_due=_due(state, now, policy.verify)))
        else:
            events.append(CaseReopened(at=now, reopen_count=count, handling_due=_due(state, now, policy.handling)))
    else:
        events.append(_escalation(state, "reopen_limit", None, now))
    return events


def _direct(state: CaseState, command: IssueDirective, now: datetime) -> list[Event]:
    awaiting_rating = state.stage == "evaluating" and state.rating is None
    if awaiting_rating:
        raise CommandRejected("stage", "the resident is rating the result; no directive until they answer")
    new_dues: dict[str, datetime] = {}
    if command.kind == "order":
        _not_under_review(state)
        _check_known(state, command.departments)
        working = [code for code in command.departments if code in state.with_status("reported_in")]
        if working:
            raise CommandRejected("departments", f"already working the case: {', '.join(working)}")
        due = _due(state, now, state.case.policy.report_in)
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
            parked.append(_ledgered(state, "parked", now))
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


def _escalation(state: CaseState, cause: EscalationCause, department: str | None, now: datetime) -> Event:
    """Raise the case to the first secretary, or tell whoever already holds it about the new miss."""
    context = state.case.context
    policy = state.case.policy
    current = state.escalation
    if current is None:
        return EscalatedToFirstSecretary(
            at=now, cause=cause, department=department, first_secretary=context.community.first_secretary.id,
            respond_due=_due(state, now, policy.first_secretary),
        )
    if current.level == 1 and cause != "first_secretary":
        return EscalatedToFirstSecretary(
            at=now, cause=cause, department=department, first_secretary=context.community.first_secretary.id,
            respond_due=current.respond.due,
        )
    respond_due = current.respond.due if current.level == 2 else _due(state, now, policy.street_secretary)
    return EscalatedToStreetSecretary(
        at=now, cause=cause, department=department, street_secretary=context.street.secretary.id,
        respond_due=respond_due,
    )


def _deadline(state: CaseState, command: ReachDeadline, now: datetime) -> list[Event]:
    """A clock ran out: record the miss and escalate, or lapse the evaluation and close."""
    deadline = next(
        (d for d in state.open_deadlines() if d.kind == command.kind and d.department == command.department), None
    )
    if deadline is None:
        raise CommandRejected("kind", f"no open {command.kind} deadline")
    if now < deadline.clock.due:
        raise CommandRejected("kind", f"the {command.kind} deadline is not due until {deadline.clock.due.isoformat()}")
    match command.kind:
        case "evaluation":
            return [EvaluationLapsed(at=now), CaseClosed(at=now, outcome="unevaluated")]
        case "report_in":
            assert command.department is not None
            overdue = ReportInOverdue(at=now, department=command.department, due=deadline.clock.due)
            part = state.departments[command.department]
            if state.case.policy.raise_grade_on_miss and not part.grade_raised and part.grade != "red":
                grade: Grade = "yellow" if part.grade == "blue" else "red"
                raised = WhistleGradeRaised(
                    at=now, department=command.department, grade=grade, report_in_due=_report_in_due(state, grade, now)
                )
                return [overdue, raised]
            return [overdue, _escalation(state, "report_in", command.department, now)]
        case "extension":
            assert state.extension is not None
            refused = ExtensionRefused(at=now, department=state.extension.department, lapsed=True)
            return [refused, _escalation(state, "extension", state.extension.department, now)]
        case "ledger":
            return [_ledgered(state, "long_overdue", now)]
        case "review":
            return [_escalation(state, "review", None, now)]
        case "ruling":
            return [_escalation(state, "ruling", None, now)]
        case "pause":
            return [_resumed(state, now, lapsed=True)]
        case "termination":
            return [TerminationRefused(at=now, lapsed=True)]
        case "ledger_review":
            assert state.ledger is not None
            review_due = _due(state, now, state.case.policy.ledger_review)
            return [LedgerReviewReminded(at=now, owner=state.ledger.owner, review_due=review_due)]
        case "handling":
            return [HandlingOverdue(at=now, due=deadline.clock.due), _escalation(state, "handling", None, now)]
        case "verify" | "reroute" | "first_secretary":
            return [_escalation(state, command.kind, None, now)]


# The practice around the five stages (issue 6): proactive report-in, extensions, the ledger, two-way rating.


def _report_in_proactively(state: CaseState, command: ReportInProactively, now: datetime) -> list[Event]:
    """不等吹哨、主动报到: a department joins on its own, or the first secretary comes in person."""
    _require_stage(state, "discovered", "whistled", "handling")
    _not_under_review(state)
    if command.department is None:
        if state.first_secretary_present:
            raise CommandRejected("department", "the first secretary has already reported in to this case")
        return [
            ProactivelyReportedIn(
                at=now, by=command.actor.id, officer=command.officer, seniority=command.seniority
            )
        ]
    _check_known(state, [command.department])
    part = state.departments.get(command.department)
    if part is not None and part.status != "declined":
        raise CommandRejected(
            "department", f"{command.department} is already on the case ({part.status.replace('_', ' ')})"
        )
    waiting = state.with_status("summoned")
    starts_handling = state.stage == "discovered" or (state.stage == "whistled" and not waiting)
    handling_due = _due(state, now, state.case.policy.handling) if starts_handling else None
    return [
        ProactivelyReportedIn(
            at=now, department=command.department, by=command.actor.id, officer=command.officer,
            seniority=command.seniority, handling_due=handling_due,
        )
    ]


def _request_extension(state: CaseState, command: RequestExtension, now: datetime) -> list[Event]:
    _require_stage(state, "handling")
    _not_under_review(state)
    _part(state, command.department, "reported_in")
    if state.extension is not None:
        waiting = state.extension.department
        raise CommandRejected("department", f"{waiting} already asked for more time; wait for the answer")
    if state.parked:
        raise CommandRejected("stage", "the case is parked; its clocks are stopped")
    policy = state.case.policy
    return [
        ExtensionRequested(
            at=now, department=command.department, extend_by=command.extend_by, reason=command.reason,
            approver=extension_approver(state), answer_due=_due(state, now, policy.extension_answer),
        )
    ]


def _answer_extension(state: CaseState, command: AnswerExtension, now: datetime) -> list[Event]:
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


def _ledgered(state: CaseState, reason: LedgerReason, now: datetime) -> CaseLedgered:
    owner = state.case.context.community.first_secretary.id
    review_due = _due(state, now, state.case.policy.ledger_review)
    return CaseLedgered(at=now, reason=reason, owner=owner, review_due=review_due)


def _rate(state: CaseState, command: RateDepartment, now: datetime) -> list[Event]:
    """双考核: the community rates a department once it has finished its part."""
    part = _part(state, command.department, "done")
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


def _review(state: CaseState, command: ReviewResults, now: datetime) -> list[Event]:
    if state.review is None:
        raise CommandRejected("approve", "no results are waiting for review")
    by = command.actor.id
    if command.approve:
        evaluation_due = _due(state, now, state.case.policy.evaluation)
        approved = ResultsApproved(at=now, by=by, note=command.reason)
        return [approved, HandlingCompleted(at=now, evaluation_due=evaluation_due)]
    handling_due = _due(state, now, state.case.policy.handling)
    return [ResultsRejected(at=now, by=by, reason=command.reason, handling_due=handling_due)]


def _propose_termination(state: CaseState, command: ProposeTermination, now: datetime) -> list[Event]:
    if state.termination is not None:
        raise CommandRejected("reason", "a termination is already proposed; wait for the review")
    policy = state.case.policy
    return [
        TerminationProposed(
            at=now, by=command.actor.id, reason=command.reason, note=command.note,
            reviewer=state.case.context.community.first_secretary.id,
            review_due=_due(state, now, policy.termination_review),
        )
    ]


def _review_termination(state: CaseState, command: ReviewTermination, now: datetime) -> list[Event]:
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


def _rule(state: CaseState, command: RuleResponsibility, now: datetime) -> list[Event]:
    """职责争议: the street office names the departments that must handle a case every department declined."""
    if state.dispute is None:
        raise CommandRejected("departments", "no dispute is waiting for a ruling")
    _check_known(state, command.departments)
    lead = command.lead or command.departments[0]
    return [
        ResponsibilityRuled(
            at=now, by=command.actor.id, departments=command.departments, lead=lead, note=command.note,
            report_in_due=_report_in_due(state, "blue", now),
        )
    ]


# Paused clocks: the case waits on the resident.


def pause_allowance(state: CaseState, now: datetime) -> timedelta:
    """What is left of the case's total pause (``max_pause``)."""
    limit = state.case.policy.max_pause
    whole = limit.fixed() or (state.case.calendar.add(now, limit) - now)
    return whole - timedelta(seconds=state.paused_seconds)


def _ask_resident(state: CaseState, command: AskResident, now: datetime) -> list[Event]:
    _require_stage(state, "discovered", "whistled", "handling")
    if state.pause is not None:
        raise CommandRejected("reason", "the case already waits on the resident")
    left = pause_allowance(state, now)
    if left <= timedelta(0):
        raise CommandRejected("reason", f"the case has used its whole pause ({state.case.policy.max_pause})")
    return [ClocksPaused(at=now, by=command.actor.id, reason=command.reason, resume_due=now + left)]


def _resumed(state: CaseState, now: datetime, *, lapsed: bool = False) -> ClocksResumed:
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
