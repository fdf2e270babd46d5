"""Paused clocks: waiting on the resident."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from schemas.actors import Actor
from schemas.commands import (
    AskResident,
    Command,
    ResidentAnswer,
)
from schemas.events import (
    ClocksPaused,
    ClocksResumed,
)
from schemas.fold import apply
from schemas.rules.decider import decide
from schemas.state import CaseState
from tests.domain_fixtures import (
    NOW,
    complete,
    deadline,
    department,
    first_secretary,
    grid_worker,
    handling,
    later,
    operator,
    park,
    report_in,
    resident,
    run,
    run_all,
    secretary,
    whistled,
)
from tests.rules.helpers import (
    LEAD,
    SECOND,
    rejected,
)


def ask(actor: Actor | None = None) -> AskResident:
    return AskResident(actor=actor or grid_worker(), reason="需入户查看管线，请居民约定时间")


def answered(actor: Actor | None = None) -> ResidentAnswer:
    return ResidentAnswer(actor=actor or resident(), note="周六上午在家")


def test_waiting_on_the_resident_stops_the_clocks_and_the_answer_moves_them() -> None:
    state = whistled(LEAD)
    (paused,) = decide(state, ask(), later(hours=2))
    assert isinstance(paused, ClocksPaused) and paused.resume_due == later(days=7, hours=2)
    state = apply(state, paused)
    assert [d.kind for d in state.open_deadlines()] == ["pause"]
    (resumed,) = decide(state, answered(), later(hours=12))
    assert isinstance(resumed, ClocksResumed) and resumed.paused_seconds == 10 * 3600 and not resumed.lapsed
    assert resumed.new_dues == {f"report_in:{LEAD}": later(hours=34)}
    state = apply(state, resumed)
    assert state.pause is None and state.paused_seconds == 10 * 3600
    clock = state.departments[LEAD].report_in
    assert clock is not None and (clock.start, clock.due) == (later(hours=10), later(hours=34))


def test_a_clock_started_during_the_pause_moves_only_by_its_own_wait() -> None:
    state = run(whistled(LEAD), ask(), later(hours=1))
    state = run(state, report_in(LEAD), later(hours=3))  # handling starts mid-pause
    assert state.handling is not None
    handling_due = state.handling.due
    (resumed,) = decide(state, answered(), later(hours=5))
    assert isinstance(resumed, ClocksResumed)
    assert resumed.new_dues["handling"] == handling_due + timedelta(hours=2)


def test_the_total_pause_is_bounded() -> None:
    state = run(whistled(LEAD), ask(), NOW)
    (lapsed,) = decide(state, deadline("pause"), later(days=7))
    assert isinstance(lapsed, ClocksResumed) and lapsed.lapsed
    state = apply(state, lapsed)
    assert state.paused_seconds == 7 * 86400
    error = rejected(state, ask(), later(days=7, hours=1))
    assert error.field == "reason" and "whole pause" in error.reason


def test_the_allowance_is_shared_by_every_pause() -> None:
    state = run_all(whistled(LEAD), [ask()], NOW)
    state = run(state, answered(), later(days=3))
    (paused,) = decide(state, ask(), later(days=3, hours=1))
    assert isinstance(paused, ClocksPaused) and paused.resume_due == later(days=7, hours=1)


@pytest.mark.parametrize(
    ("setup", "command", "field"),
    [
        (lambda: whistled(LEAD), answered(), "note"),  # not waiting
        (lambda: run(whistled(LEAD), ask()), ask(), "reason"),  # already waiting
        (lambda: evaluating_case(), ask(), "stage"),
        (lambda: whistled(LEAD), ask(first_secretary()), "actor"),
        (lambda: whistled(LEAD), ask(department(SECOND)), "actor"),  # a department not on the case
        (lambda: run(whistled(LEAD), ask()), answered(resident("app-99999")), "actor"),
    ],
    ids=["not waiting", "twice", "while rating", "first secretary", "department not on the case", "another resident"],
)
def test_pause_refused(setup: Any, command: Command, field: str) -> None:
    assert rejected(setup(), command).field == field


def evaluating_case() -> CaseState:
    return run(handling(LEAD), complete(LEAD))


def test_a_department_on_the_case_or_the_secretary_may_ask_and_an_operator_may_answer() -> None:
    state = run(whistled(LEAD), ask(department(LEAD)))
    assert state.pause is not None
    assert run(state, answered(operator())).pause is None
    assert run(whistled(LEAD), ask(secretary())).pause is not None


def test_a_parked_case_waiting_on_the_resident_still_resumes_when_the_allowance_runs_out() -> None:
    state = run_all(whistled(LEAD), [ask(), park()])
    assert ("pause", later(days=7)) in [(d.kind, d.clock.due) for d in state.open_deadlines()]
    (resumed,) = decide(state, deadline("pause"), later(days=7))
    assert isinstance(resumed, ClocksResumed) and resumed.lapsed and resumed.paused_seconds == 7 * 86400
