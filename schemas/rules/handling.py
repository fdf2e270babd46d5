"""Joint handling (联合处置): working departments record progress and complete their parts; the last part
ends handling."""

from __future__ import annotations

from datetime import datetime

from schemas.commands import CompletePart, RecordProgress
from schemas.errors import CommandRejected
from schemas.events import (
    Event,
    HandlingCompleted,
    HandlingOverdue,
    PartCompleted,
    ProgressRecorded,
    ResultsSubmitted,
)
from schemas.evidence import Photo
from schemas.parts import (
    Clock,
    with_parts,
)
from schemas.rules.shared import (
    Changes,
    Rules,
    Who,
    department_itself,
    department_part,
    due_after,
    require_stage,
)
from schemas.state import CaseState


def handling_done(state: CaseState, now: datetime) -> Event:
    """Every part is done: to the resident, or first to the community secretary's review (审核) if the policy asks."""
    policy = state.case.policy
    if policy.review_before_evaluation:
        reviewer = state.case.context.community.secretary.id
        return ResultsSubmitted(at=now, reviewer=reviewer, review_due=due_after(state, now, policy.review))
    return HandlingCompleted(at=now, evaluation_due=due_after(state, now, policy.evaluation))


def progress(state: CaseState, command: RecordProgress, now: datetime) -> list[Event]:
    """A note from a working department; a case keeps at most ``max_progress_notes`` per department."""
    part = department_part(state, command.department, "reported_in")
    limit = state.case.policy.max_progress_notes
    if part.progress_notes >= limit:
        raise CommandRejected(
            "note",
            f"{command.department} has recorded the most progress notes a case keeps ({limit}); "
            "complete the part or put the rest in the result",
        )
    return [ProgressRecorded(at=now, department=command.department, note=command.note, photos=command.photos)]


def complete(state: CaseState, command: CompletePart, now: datetime) -> list[Event]:
    """A department's part done; where the policy says ``photo_required_on_completion``, only with a photo of the
    finished work (a reference the SDK has checked against the object store: the decider cannot look)."""
    require_stage(state, "handling")
    department_part(state, command.department, "reported_in")
    if state.case.policy.photo_required_on_completion and not command.photos:
        raise CommandRejected(
            "photos",
            f"the category {state.case.intake.category} asks for a photo of the finished work "
            "(photo_required_on_completion): upload one and attach it",
        )
    unfinished = [c for c in state.with_status("summoned", "reported_in") if c != command.department]
    completed = PartCompleted(at=now, department=command.department, result=command.result, photos=command.photos)
    events: list[Event] = [completed]
    if not unfinished:
        events.append(handling_done(state, now))
    return events


WHO: Who = {
    RecordProgress: department_itself,
    CompletePart: department_itself,
}
"""Who may send each of this concept's commands (``schemas.rules.authority``)."""


RULES: Rules = {
    RecordProgress: progress,
    CompletePart: complete,
}
"""What each of this concept's commands decides (``schemas.rules.decider``)."""


# The fold: what this concept's events change in a case.


def _progress_recorded(state: CaseState, event: ProgressRecorded) -> dict[str, object]:
    part = state.departments[event.department]
    noted = part.model_copy(update={"progress_notes": part.progress_notes + 1})
    return {"departments": with_parts(state.departments, **{event.department: noted}), **_photos(state, event.photos)}


def _part_completed(state: CaseState, event: PartCompleted) -> dict[str, object]:
    part = state.departments[event.department]
    done = part.model_copy(update={"status": "done", "result": event.result})
    return {"departments": with_parts(state.departments, **{event.department: done}), **_photos(state, event.photos)}


def _photos(state: CaseState, added: tuple[Photo, ...]) -> dict[str, object]:
    """The photos recorded since filing, in order; a photo already on the case is not listed twice."""
    known = {photo.sha256 for photo in state.all_photos()}
    new = tuple(photo for photo in added if photo.sha256 not in known)
    return {"photos": state.photos + new} if new else {}


def _handling_overdue(state: CaseState, event: HandlingOverdue) -> dict[str, object]:
    assert state.handling is not None
    return {"handling": state.handling.model_copy(update={"lapsed": True})}


def _handling_completed(state: CaseState, event: HandlingCompleted) -> dict[str, object]:
    return {
        "stage": "evaluating",
        "handling": None,
        "extension": None,
        "parked": False,
        "escalation": None,
        "evaluation": Clock(start=event.at, due=event.evaluation_due),
    }


CHANGES: Changes = {
    ProgressRecorded: _progress_recorded,
    PartCompleted: _part_completed,
    HandlingOverdue: _handling_overdue,
    HandlingCompleted: _handling_completed,
}
"""What each of this concept's events changes in a case (the fold, ``schemas.fold``)."""
