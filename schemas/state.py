"""The case state and its fold. ``CaseState.apply`` is the only way a case's state changes.

The workflow, the event-store projections and any rebuild all fold the same events with this code, so
the three cannot disagree. Every value that can be derived from the events is derived here.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Literal

from pydantic import AwareDatetime

from schemas.commands import DeadlineKind, Grade, Rating, Score, Seniority, TerminationReason
from schemas.common import Code, Duration, Model, Name, PersonId
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
    Outcome,
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

Stage = Literal["discovered", "whistled", "handling", "evaluating", "closed"]
DepartmentStatus = Literal["summoned", "reported_in", "declined", "done"]


class Clock(Model):
    """A running window: it started at ``start`` and is due at ``due``; ``lapsed`` once the timer fired."""

    start: AwareDatetime
    due: AwareDatetime
    lapsed: bool = False


class CommunityRating(Model):
    """The community's rating of one department's part (双考核)."""

    on_time: bool
    in_person: bool
    result: Score


class DepartmentPart(Model):
    """One department's part in the case. A part joined proactively (主动报到) has no report-in clock."""

    status: DepartmentStatus
    report_in: Clock | None = None
    grade: Grade = "blue"
    grade_raised: bool = False
    officer: Name | None = None
    seniority: Seniority | None = None
    reported_on_time: bool | None = None
    proactive: bool = False
    ruled: bool = False
    decline_reason: str | None = None
    declines: int = 0
    progress_notes: int = 0
    result: str | None = None
    rating: CommunityRating | None = None


class PendingExtension(Model):
    """A department's request for more time (延期), waiting for ``approver`` until ``answer.due``."""

    department: Code
    extend_by: Duration
    reason: str
    approver: PersonId
    answer: Clock


class PendingTermination(Model):
    """A proposal to end the case without a rating (终止办理), waiting for ``reviewer`` until ``review.due``."""

    reason: TerminationReason
    note: str
    by: PersonId
    reviewer: PersonId
    review: Clock


class Pause(Model):
    """The case waits on the resident since ``since``; ``resume.due`` is when the allowance runs out."""

    since: AwareDatetime
    reason: str
    resume: Clock


class LedgerEntry(Model):
    """The case's place on the long-running ledger (挂账): why, since when, whose, and the next review."""

    reason: LedgerReason
    since: AwareDatetime
    owner: PersonId
    review: Clock


class Escalation(Model):
    """Who holds the case above the community (1 first secretary, 2 street secretary) and by when."""

    level: Literal[1, 2]
    causes: list[EscalationCause]
    respond: Clock


class Deadline(Model):
    """An open clock the workflow keeps a timer for."""

    kind: DeadlineKind
    department: Code | None = None
    clock: Clock


POLICY_WINDOW: dict[DeadlineKind, str] = {
    "verify": "verify",
    "report_in": "report_in",
    "reroute": "report_in",
    "handling": "handling",
    "evaluation": "evaluation",
    "first_secretary": "first_secretary",
    "extension": "extension_answer",
    "ledger": "handling",
    "ledger_review": "ledger_review",
    "review": "review",
    "termination": "termination_review",
    "ruling": "ruling",
    "pause": "max_pause",
}

PAUSED_KINDS: frozenset[DeadlineKind] = frozenset(
    {"verify", "report_in", "reroute", "ruling", "handling", "review", "evaluation", "first_secretary", "ledger"}
)
"""The clocks that stand still while the case waits on the resident; officials' own answers keep running."""
"""Which policy window sets each kind of clock."""


class CaseState(Model):
    """Everything known about one case, as folded from its events."""

    case: ComplaintInput
    filed_at: AwareDatetime
    updated_at: AwareDatetime
    stage: Stage = "discovered"
    verified_by: str | None = None
    resolved_in_grid: bool = False
    departments: dict[Code, DepartmentPart] = {}
    lead: Code | None = None
    verify: Clock | None = None
    reroute: Clock | None = None
    dispute: Clock | None = None
    pause: Pause | None = None
    paused_seconds: float = 0
    handling: Clock | None = None
    evaluation: Clock | None = None
    escalation: Escalation | None = None
    parked: bool = False
    extension: PendingExtension | None = None
    ledger: LedgerEntry | None = None
    review: Clock | None = None
    termination: PendingTermination | None = None
    closure_reason: TerminationReason | None = None
    first_secretary_present: bool = False
    reopen_count: int = 0
    rating: Rating | None = None
    outcome: Outcome | None = None
    closed_at: AwareDatetime | None = None
    event_count: int = 1

    @property
    def complaint_id(self) -> str:
        return self.case.complaint_id

    @property
    def escalation_level(self) -> int:
        return self.escalation.level if self.escalation else 0

    def with_status(self, *statuses: DepartmentStatus) -> list[Code]:
        """Departments whose part is in one of ``statuses``, in the order they were summoned."""
        return [code for code, part in self.departments.items() if part.status in statuses]

    def open_deadlines(self) -> list[Deadline]:
        """Clocks the workflow must watch. A parked case keeps only its evaluation and ledger review clocks."""
        if self.stage == "closed":
            return []
        found: list[Deadline] = []
        if self.evaluation and not self.evaluation.lapsed:
            found.append(Deadline(kind="evaluation", clock=self.evaluation))
        if self.ledger:
            found.append(Deadline(kind="ledger_review", clock=self.ledger.review))
        if self.termination:
            found.append(Deadline(kind="termination", clock=self.termination.review))
        if self.pause:
            found.append(Deadline(kind="pause", clock=self.pause.resume))
        if self.parked:
            return found
        if self.verify and not self.verify.lapsed:
            found.append(Deadline(kind="verify", clock=self.verify))
        if self.reroute and not self.reroute.lapsed:
            found.append(Deadline(kind="reroute", clock=self.reroute))
        if self.dispute and not self.dispute.lapsed:
            found.append(Deadline(kind="ruling", clock=self.dispute))
        for code, part in self.departments.items():
            if part.status == "summoned" and part.report_in and not part.report_in.lapsed:
                found.append(Deadline(kind="report_in", department=code, clock=part.report_in))
        if self.handling and not self.handling.lapsed:
            found.append(Deadline(kind="handling", clock=self.handling))
        if self.review and not self.review.lapsed:
            found.append(Deadline(kind="review", clock=self.review))
        if self.escalation and self.escalation.level == 1 and not self.escalation.respond.lapsed:
            found.append(Deadline(kind="first_secretary", clock=self.escalation.respond))
        if self.extension:
            found.append(Deadline(kind="extension", clock=self.extension.answer))
        if self.handling and self.ledger is None:
            found.append(Deadline(kind="ledger", clock=self.ledger_threshold(self.handling)))
        if self.pause:
            found = [d for d in found if d.kind not in PAUSED_KINDS]
        return found

    def ledger_threshold(self, handling: Clock) -> Clock:
        """When a case still in handling goes on the ledger: ``ledger_after`` times its handling window."""
        window: timedelta = handling.due - handling.start
        return Clock(start=handling.start, due=handling.start + window * self.case.policy.ledger_after)

    def calendar_gaps(self) -> list[int]:
        """Years in which an open working-day clock was counted Monday to Friday for want of calendar data."""
        years: set[int] = set()
        for deadline in self.open_deadlines():
            window: Duration = getattr(self.case.policy, POLICY_WINDOW[deadline.kind])
            if window.unit == "wd":
                years.update(self.case.calendar.missing_years(deadline.clock.start, deadline.clock.due))
        return sorted(years)

    @property
    def next_deadline(self) -> datetime | None:
        """The earliest due time a supervisor should watch, including the street secretary's window."""
        dues = [deadline.clock.due for deadline in self.open_deadlines()]
        waiting_above = self.escalation and self.escalation.level == 2 and self.stage != "closed"
        if self.escalation and waiting_above and not (self.parked or self.pause):
            dues.append(self.escalation.respond.due)
        return min(dues, default=None)

    @property
    def overdue_since(self) -> datetime | None:
        """The earliest deadline already missed on a clock that still stands: what makes a case overdue.

        A lapsed clock fires once and leaves ``open_deadlines``, but until its stage moves on (the department
        reports in, handling completes, ...) the case is still late, and supervisors must see it so.
        """
        if self.stage == "closed" or self.parked or self.pause:
            return None
        stage_clocks = (self.verify, self.reroute, self.dispute, self.handling, self.review)
        lapsed = [clock.due for clock in stage_clocks if clock and clock.lapsed]
        lapsed += [
            part.report_in.due
            for part in self.departments.values()
            if part.status == "summoned" and part.report_in and part.report_in.lapsed
        ]
        return min(lapsed, default=None)

    @property
    def watched_deadline(self) -> datetime | None:
        """What supervisors' lists filter on: the earliest missed deadline still open, else the next one."""
        return self.overdue_since or self.next_deadline

    def apply(self, event: Event) -> CaseState:
        """The state after ``event``. Pure: the same state and event always give the same result."""
        changes = _changes(self, event)
        changes["updated_at"] = event.at
        changes["event_count"] = self.event_count + 1
        return self.model_copy(update=changes)


def start(filed: ComplaintFiled) -> CaseState:
    """The state a case has right after it is filed."""
    return CaseState(
        case=filed.case,
        filed_at=filed.at,
        updated_at=filed.at,
        verify=Clock(start=filed.at, due=filed.verify_due),
    )


def fold(events: Iterable[Event]) -> CaseState:
    """Rebuild a case from its whole event stream (the first event must be ``ComplaintFiled``)."""
    iterator = iter(events)
    first = next(iterator)
    if not isinstance(first, ComplaintFiled):
        raise ValueError(f"a case's first event is ComplaintFiled, not {first.type}")
    state = start(first)
    for event in iterator:
        state = state.apply(event)
    return state


def _parts(state: CaseState, **updates: DepartmentPart) -> dict[Code, DepartmentPart]:
    return {**state.departments, **updates}


def _summon(
    state: CaseState, codes: list[Code], at: datetime, due: datetime, grade: Grade = "blue", ruled: bool = False
) -> dict[Code, DepartmentPart]:
    clock = Clock(start=at, due=due)
    updates: dict[Code, DepartmentPart] = {}
    for code in codes:
        previous = state.departments.get(code)
        declines = previous.declines if previous else 0
        updates[code] = DepartmentPart(
            status="summoned", report_in=clock, grade=grade, declines=declines, ruled=ruled
        )
    return _parts(state, **updates)


def _changes(state: CaseState, event: Event) -> dict[str, object]:
    """What ``event`` changes in ``state``, as model fields."""
    match event:
        case ComplaintFiled():
            raise ValueError("ComplaintFiled starts a case; it cannot be applied to one")
        case GridVerified():
            return {"verified_by": event.grid_worker}
        case ResolvedInGrid():
            return {
                "verified_by": event.grid_worker,
                "resolved_in_grid": True,
                "stage": "evaluating",
                "verify": None,
                "parked": False,
                "escalation": None,
                "evaluation": Clock(start=event.at, due=event.evaluation_due),
            }
        case WhistleBlown():
            return {
                "stage": "whistled" if state.stage == "discovered" else state.stage,
                "departments": _summon(state, event.departments, event.at, event.report_in_due, event.grade),
                "lead": event.lead,
                "verify": None,
                "reroute": None,
                "dispute": None,
            }
        case DepartmentReportedIn():
            part = state.departments[event.department]
            reported = part.model_copy(
                update={
                    "status": "reported_in", "officer": event.officer, "seniority": event.seniority,
                    "reported_on_time": event.on_time,
                }
            )
            changes: dict[str, object] = {"departments": _parts(state, **{event.department: reported})}
            if event.handling_due is not None:
                changes.update(stage="handling", handling=Clock(start=event.at, due=event.handling_due))
            return changes
        case DepartmentDeclined():
            part = state.departments[event.department]
            declined = part.model_copy(
                update={"status": "declined", "decline_reason": event.reason, "declines": part.declines + 1}
            )
            departments = _parts(state, **{event.department: declined})
            active = [code for code, p in departments.items() if p.status != "declined"]
            changes = {"departments": departments}
            if state.lead == event.department:
                changes["lead"] = active[0] if active else None
            if event.handling_due is not None:
                changes.update(stage="handling", handling=Clock(start=event.at, due=event.handling_due))
            if event.reroute_due is not None:
                changes["reroute"] = Clock(start=event.at, due=event.reroute_due)
            return changes
        case ReportInOverdue():
            part = state.departments[event.department]
            assert part.report_in is not None
            lapsed = part.model_copy(update={"report_in": part.report_in.model_copy(update={"lapsed": True})})
            return {"departments": _parts(state, **{event.department: lapsed})}
        case EscalatedToFirstSecretary() | EscalatedToStreetSecretary():
            return _escalate(state, event)
        case DirectiveIssued():
            return _direct(state, event)
        case ProgressRecorded():
            part = state.departments[event.department]
            noted = part.model_copy(update={"progress_notes": part.progress_notes + 1})
            return {"departments": _parts(state, **{event.department: noted})}
        case PartCompleted():
            part = state.departments[event.department]
            done = part.model_copy(update={"status": "done", "result": event.result})
            return {"departments": _parts(state, **{event.department: done})}
        case HandlingOverdue():
            assert state.handling is not None
            return {"handling": state.handling.model_copy(update={"lapsed": True})}
        case HandlingCompleted():
            return {
                "stage": "evaluating",
                "handling": None,
                "extension": None,
                "parked": False,
                "escalation": None,
                "evaluation": Clock(start=event.at, due=event.evaluation_due),
            }
        case ResidentEvaluated():
            return {"rating": event.rating, "evaluation": None}
        case CaseReopened():
            return _reopen(state, event)
        case EvaluationLapsed():
            return {"evaluation": None}
        case CaseParked():
            return {"parked": True, "escalation": None}
        case CaseWithdrawn():
            return {}
        case ProactivelyReportedIn():
            return _proactive(state, event)
        case WhistleGradeRaised():
            part = state.departments[event.department]
            raised = part.model_copy(
                update={"grade": event.grade, "grade_raised": True,
                        "report_in": Clock(start=event.at, due=event.report_in_due)}
            )
            return {"departments": _parts(state, **{event.department: raised})}
        case ExtensionRequested():
            answer = Clock(start=event.at, due=event.answer_due)
            pending = PendingExtension(
                department=event.department, extend_by=event.extend_by, reason=event.reason,
                approver=event.approver, answer=answer,
            )
            return {"extension": pending}
        case ExtensionApproved():
            return {"extension": None, "handling": Clock(start=event.at, due=event.handling_due)}
        case ExtensionRefused():
            return {"extension": None}
        case CaseLedgered():
            review = Clock(start=event.at, due=event.review_due)
            return {"ledger": LedgerEntry(reason=event.reason, since=event.at, owner=event.owner, review=review)}
        case LedgerReviewReminded():
            assert state.ledger is not None
            review = Clock(start=event.at, due=event.review_due)
            return {"ledger": state.ledger.model_copy(update={"review": review})}
        case ResponsibilityDisputed():
            return {"dispute": Clock(start=event.at, due=event.ruling_due)}
        case ResponsibilityRuled():
            return {
                "departments": _summon(state, event.departments, event.at, event.report_in_due, ruled=True),
                "lead": event.lead,
                "dispute": None,
                "reroute": None,
            }
        case ClocksPaused():
            resume = Clock(start=event.at, due=event.resume_due)
            return {"pause": Pause(since=event.at, reason=event.reason, resume=resume)}
        case ClocksResumed():
            return _resume(state, event)
        case ResultsSubmitted():
            return {"review": Clock(start=event.at, due=event.review_due), "handling": None, "extension": None}
        case ResultsApproved():
            return {"review": None}
        case ResultsRejected():
            reopened = {
                code: part.model_copy(update={"status": "reported_in", "result": None})
                if part.status == "done"
                else part
                for code, part in state.departments.items()
            }
            return {"review": None, "departments": reopened, "handling": Clock(start=event.at, due=event.handling_due)}
        case TerminationProposed():
            review = Clock(start=event.at, due=event.review_due)
            proposal = PendingTermination(
                reason=event.reason, note=event.note, by=event.by, reviewer=event.reviewer, review=review
            )
            return {"termination": proposal}
        case TerminationApproved() | TerminationRefused():
            return {"termination": None}
        case DepartmentRated():
            part = state.departments[event.department]
            rating = CommunityRating(on_time=event.on_time, in_person=event.in_person, result=event.result)
            return {"departments": _parts(state, **{event.department: part.model_copy(update={"rating": rating})})}
        case CaseClosed():
            return {
                "stage": "closed",
                "outcome": event.outcome,
                "closed_at": event.at,
                "parked": False,
                "verify": None,
                "reroute": None,
                "dispute": None,
                "handling": None,
                "evaluation": None,
                "escalation": None,
                "extension": None,
                "review": None,
                "termination": None,
                "pause": None,
                "closure_reason": event.closure_reason,
            }


def _moved(clock: Clock, due: datetime) -> Clock:
    """``clock`` moved so it is due at ``due``: its start moves by as much, so its window keeps its length."""
    return clock.model_copy(update={"start": clock.start + (due - clock.due), "due": due})


def _resume(state: CaseState, event: ClocksResumed) -> dict[str, object]:
    """The clocks run again, each moved by the time it stood still."""
    changes: dict[str, object] = {"pause": None, "paused_seconds": state.paused_seconds + event.paused_seconds}
    departments = dict(state.departments)
    for key, due in event.new_dues.items():
        if key.startswith("report_in:"):
            code = key.removeprefix("report_in:")
            part = departments[code]
            assert part.report_in is not None
            departments[code] = part.model_copy(update={"report_in": _moved(part.report_in, due)})
        elif key == "escalation":
            assert state.escalation is not None
            changes["escalation"] = state.escalation.model_copy(
                update={"respond": _moved(state.escalation.respond, due)}
            )
        else:
            clock = getattr(state, key)
            assert isinstance(clock, Clock)
            changes[key] = _moved(clock, due)
    changes["departments"] = departments
    return changes


def _proactive(state: CaseState, event: ProactivelyReportedIn) -> dict[str, object]:
    """A department joins the work on its own (or the first secretary comes): it may start handling."""
    if event.department is None:
        return {"first_secretary_present": True}
    previous = state.departments.get(event.department)
    joined = DepartmentPart(
        status="reported_in", officer=event.officer, seniority=event.seniority, reported_on_time=True,
        proactive=True, declines=previous.declines if previous else 0,
    )
    departments = _parts(state, **{event.department: joined})
    changes: dict[str, object] = {"departments": departments}
    active = [code for code, part in departments.items() if part.status != "declined"]
    if state.lead not in active:
        changes["lead"] = event.department
    if event.handling_due is not None:
        changes.update(
            stage="handling", handling=Clock(start=event.at, due=event.handling_due), verify=None, reroute=None,
            dispute=None,
        )
    return changes


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


def _direct(state: CaseState, event: DirectiveIssued) -> dict[str, object]:
    """A directive answers the escalation; ``order`` re-summons, ``extend`` moves clocks, ``park`` parks."""
    changes: dict[str, object] = {"escalation": None}
    if event.kind == "order":
        due = event.new_dues[f"report_in:{event.departments[0]}"]
        changes["departments"] = _summon(state, event.departments, event.at, due)
        changes["parked"] = False
        changes["reroute"] = None
        changes["dispute"] = None
        if state.lead is None:
            changes["lead"] = event.departments[0]
        if state.stage in ("discovered", "evaluating"):
            changes.update(stage="whistled", verify=None, evaluation=None, rating=None, resolved_in_grid=False)
    elif event.kind == "extend":
        changes["parked"] = False
        departments = dict(state.departments)
        for key, due in event.new_dues.items():
            if key.startswith("report_in:"):
                code = key.removeprefix("report_in:")
                part = departments[code]
                departments[code] = part.model_copy(update={"report_in": Clock(start=event.at, due=due)})
            else:
                changes[key] = Clock(start=event.at, due=due)
        changes["departments"] = departments
    return changes


def _reopen(state: CaseState, event: CaseReopened) -> dict[str, object]:
    """Back to the grid if it was resolved there, otherwise back to handling with every part reopened."""
    changes: dict[str, object] = {"reopen_count": event.reopen_count, "rating": None, "evaluation": None}
    if event.verify_due is not None:
        changes.update(
            stage="discovered",
            resolved_in_grid=False,
            verified_by=None,
            verify=Clock(start=event.at, due=event.verify_due),
        )
    if event.handling_due is not None:
        reopened = {
            code: part.model_copy(update={"status": "reported_in", "result": None})
            if part.status == "done"
            else part
            for code, part in state.departments.items()
        }
        changes.update(
            stage="handling", departments=reopened, handling=Clock(start=event.at, due=event.handling_due)
        )
    return changes
