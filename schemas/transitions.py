"""The fold of the five stages: what each of their events changes in a case (``CaseState.apply`` asks here).

Filing, verification, the whistle, report-in and declines, handling, evaluation, escalation and directives,
closing. The events of the practice around them (issue 6) are handed on to ``schemas.practice``.
"""

from __future__ import annotations

from typing import Literal

from schemas import practice
from schemas.events import (
    CaseClosed,
    CaseParked,
    CaseReopened,
    CaseWithdrawn,
    ComplaintFiled,
    DepartmentDeclined,
    DepartmentReportedIn,
    DirectiveIssued,
    EscalatedToFirstSecretary,
    EscalatedToStreetSecretary,
    EvaluationLapsed,
    Event,
    GridVerified,
    HandlingCompleted,
    HandlingOverdue,
    NoteRecorded,
    PartCompleted,
    ProgressRecorded,
    ReportInOverdue,
    ResidentEvaluated,
    ResolvedInGrid,
    WhistleBlown,
)
from schemas.parts import Clock, Escalation, summon, with_parts
from schemas.state import CaseState


def event_changes(state: CaseState, event: Event) -> dict[str, object]:
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
                "departments": summon(state.departments, event.departments, event.at, event.report_in_due, event.grade),
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
            changes: dict[str, object] = {"departments": with_parts(state.departments, **{event.department: reported})}
            if event.handling_due is not None:
                changes.update(stage="handling", handling=Clock(start=event.at, due=event.handling_due))
            return changes
        case DepartmentDeclined():
            part = state.departments[event.department]
            declined = part.model_copy(
                update={"status": "declined", "decline_reason": event.reason, "declines": part.declines + 1}
            )
            departments = with_parts(state.departments, **{event.department: declined})
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
            return {"departments": with_parts(state.departments, **{event.department: lapsed})}
        case EscalatedToFirstSecretary() | EscalatedToStreetSecretary():
            return _escalate(state, event)
        case DirectiveIssued():
            return _direct(state, event)
        case ProgressRecorded():
            part = state.departments[event.department]
            noted = part.model_copy(update={"progress_notes": part.progress_notes + 1})
            return {"departments": with_parts(state.departments, **{event.department: noted})}
        case PartCompleted():
            part = state.departments[event.department]
            done = part.model_copy(update={"status": "done", "result": event.result})
            return {"departments": with_parts(state.departments, **{event.department: done})}
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
        case NoteRecorded():
            return {"notes": state.notes + 1}
        case _:
            return practice.event_changes(state, event)


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
        changes["departments"] = summon(state.departments, event.departments, event.at, due)
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
