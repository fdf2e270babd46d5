"""The fold of the practice around the five stages (issue 6): what each of its events changes in a case.

Proactive report-in (主动报到), graded whistles, extensions (延期), the ledger (挂账), responsibility disputes
(职责争议), paused clocks while the case waits on the resident, the community's review of the results (审核),
reviewed termination (终止办理) and the community's rating of departments (双考核). ``schemas.transitions``
hands every such event here.
"""

from __future__ import annotations

from datetime import datetime
from typing import TypeAlias

from schemas.events import (
    CaseLedgered,
    ClocksPaused,
    ClocksResumed,
    DepartmentRated,
    ExtensionApproved,
    ExtensionRefused,
    ExtensionRequested,
    LedgerReviewReminded,
    ProactivelyReportedIn,
    ResponsibilityDisputed,
    ResponsibilityRuled,
    ResultsApproved,
    ResultsRejected,
    ResultsSubmitted,
    TerminationApproved,
    TerminationProposed,
    TerminationRefused,
    WhistleGradeRaised,
)
from schemas.parts import (
    Clock,
    CommunityRating,
    DepartmentPart,
    LedgerEntry,
    Pause,
    PendingExtension,
    PendingTermination,
    summon,
    with_parts,
)
from schemas.state import CaseState

PracticeEvent: TypeAlias = (
    ProactivelyReportedIn
    | WhistleGradeRaised
    | ExtensionRequested
    | ExtensionApproved
    | ExtensionRefused
    | CaseLedgered
    | LedgerReviewReminded
    | ResponsibilityDisputed
    | ResponsibilityRuled
    | ClocksPaused
    | ClocksResumed
    | ResultsSubmitted
    | ResultsApproved
    | ResultsRejected
    | TerminationProposed
    | TerminationApproved
    | TerminationRefused
    | DepartmentRated
)
"""The events of the practice around the five stages; every other event is folded in ``schemas.transitions``."""


def event_changes(state: CaseState, event: PracticeEvent) -> dict[str, object]:
    """What ``event`` changes in ``state``, as model fields."""
    match event:
        case ProactivelyReportedIn():
            return _proactive(state, event)
        case WhistleGradeRaised():
            part = state.departments[event.department]
            raised = part.model_copy(
                update={"grade": event.grade, "grade_raised": True,
                        "report_in": Clock(start=event.at, due=event.report_in_due)}
            )
            return {"departments": with_parts(state.departments, **{event.department: raised})}
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
                "departments": summon(
                    state.departments, event.departments, event.at, event.report_in_due, ruled=True
                ),
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
            rated = part.model_copy(update={"rating": rating})
            return {"departments": with_parts(state.departments, **{event.department: rated})}


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
    departments = with_parts(state.departments, **{event.department: joined})
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

