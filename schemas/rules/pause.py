"""Paused clocks (等待居民): the case waits on the resident, within the policy's total pause, then runs again."""

from __future__ import annotations

from datetime import datetime, timedelta

from schemas.commands import AskResident, ResidentAnswer
from schemas.errors import CommandRejected
from schemas.events import (
    ClocksPaused,
    ClocksResumed,
    Event,
)
from schemas.parts import (
    Clock,
    Pause,
)
from schemas.rules.shared import (
    Changes,
    Rules,
    Who,
    require_actor,
    require_stage,
    resident_or_operator,
)
from schemas.state import CaseState


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
    paused = (now - since).total_seconds()
    return ClocksResumed(at=now, paused_seconds=paused, new_dues=moved_dues(state, since, now), lapsed=lapsed)


def moved_dues(state: CaseState, since: datetime, now: datetime) -> dict[str, datetime]:
    """The due time of every stage clock that stood still from ``since`` to ``now``, moved by the time it stood still
    (a clock started after ``since``, by less); keyed as ``ClocksResumed.new_dues``. Merging (工单合并) uses it too."""
    clocks: dict[str, Clock | None] = {
        "verify": state.verify,
        "reroute": state.reroute,
        "dispute": state.dispute,
        "handling": state.handling,
        "review": state.review,
        "evaluation": state.evaluation,
        "escalation": state.escalation.respond if state.escalation else None,
    }
    for code, part in state.departments.items():
        if part.status == "summoned":
            clocks[f"report_in:{code}"] = part.report_in
    return {
        key: clock.due + (now - max(since, clock.start))
        for key, clock in clocks.items()
        if clock is not None and now > max(since, clock.start)
    }


def resident_answer(state: CaseState, command: ResidentAnswer, now: datetime) -> list[Event]:
    """The resident answered: the clocks run again (only while the case waits on them)."""
    if state.pause is None:
        raise CommandRejected("note", "the case is not waiting on the resident")
    return [resumed(state, now)]


def may_ask_resident(state: CaseState, command: AskResident) -> None:
    context = state.case.context
    allowed = {("grid_worker", worker.id) for worker in context.grid.grid_workers}
    allowed.add(("community_secretary", context.community.secretary.id))
    allowed |= {("department", code) for code in state.with_status("summoned", "reported_in")}
    require_actor(command.actor, allowed, "only the case's grid workers, secretary or departments ask the resident")


WHO: Who = {
    AskResident: may_ask_resident,
    ResidentAnswer: resident_or_operator,
}
"""Who may send each of this concept's commands (``schemas.rules.authority``)."""


RULES: Rules = {
    AskResident: ask_resident,
    ResidentAnswer: resident_answer,
}
"""What each of this concept's commands decides (``schemas.rules.decider``)."""


# The fold: what this concept's events change in a case.


def _clocks_paused(state: CaseState, event: ClocksPaused) -> dict[str, object]:
    resume = Clock(start=event.at, due=event.resume_due)
    return {"pause": Pause(since=event.at, reason=event.reason, resume=resume)}


def _clocks_resumed(state: CaseState, event: ClocksResumed) -> dict[str, object]:
    return _resume(state, event)


def _moved(clock: Clock, due: datetime) -> Clock:
    """``clock`` moved so it is due at ``due``: its start moves by as much, so its window keeps its length."""
    return clock.model_copy(update={"start": clock.start + (due - clock.due), "due": due})


def _resume(state: CaseState, event: ClocksResumed) -> dict[str, object]:
    """The clocks run again, each moved by the time it stood still."""
    changes: dict[str, object] = {"pause": None, "paused_seconds": state.paused_seconds + event.paused_seconds}
    changes.update(moved_clocks(state, event.new_dues))
    return changes


def moved_clocks(state: CaseState, new_dues: dict[str, datetime]) -> dict[str, object]:
    """The state's fields with each clock named in ``new_dues`` (``moved_dues``) moved to its new due time."""
    changes: dict[str, object] = {}
    departments = dict(state.departments)
    for key, due in new_dues.items():
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


CHANGES: Changes = {
    ClocksPaused: _clocks_paused,
    ClocksResumed: _clocks_resumed,
}
"""What each of this concept's events changes in a case (the fold, ``schemas.fold``)."""
