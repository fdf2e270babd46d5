"""Paused clocks (等待居民): the case waits on the resident, within the policy's total pause, then runs again."""

from __future__ import annotations

from datetime import datetime, timedelta

from schemas.commands import (
    AskResident,
)
from schemas.errors import CommandRejected
from schemas.events import (
    ClocksPaused,
    ClocksResumed,
    Event,
)
from schemas.parts import Clock
from schemas.rules.shared import (
    require_stage,
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
    new_dues = {
        key: clock.due + (now - max(since, clock.start))
        for key, clock in clocks.items()
        if clock is not None and now > max(since, clock.start)
    }
    return ClocksResumed(at=now, paused_seconds=(now - since).total_seconds(), new_dues=new_dues, lapsed=lapsed)
