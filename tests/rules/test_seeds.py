"""The seed scenarios (seeds.yaml) play through to the outcome their path promises."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from schemas.actors import Actor
from schemas.commands import (
    Command,
    FlagCase,
    HearPrimaryOutcome,
    MergeCase,
    UrgeCase,
)
from schemas.events import (
    CaseClosed,
    PartCompleted,
    ResidentEvaluated,
    ResolvedInGrid,
)
from schemas.rules.decider import decide
from schemas.state import CaseState
from tests.domain_fixtures import (
    NOW,
    blow,
    complete,
    deadline,
    decline,
    evaluate,
    evaluating,
    extend,
    handling,
    make_case,
    make_intake,
    new_case,
    operator,
    order,
    report_in,
    resident,
    run,
    seeds,
    verify,
)
from tests.rules.helpers import (
    LEAD,
    SECOND,
)


def play(seed: dict[str, Any]) -> CaseState:
    """Drive one seed scenario along its ``path`` with the people the directory names for it."""
    case = make_case(intake=make_intake(**seed["intake"]))
    people = case.context
    grid_worker = people.grid.grid_workers[0].id
    secretary = people.community.secretary.id
    first_secretary = people.community.first_secretary.id
    resident_id = case.intake.reporter.resident_actor()
    rater = resident(resident_id) if resident_id else operator()
    path: str = seed["path"]
    departments: list[str] = seed["departments"]
    now = NOW
    state = new_case(case, now)

    def step(command: Command, minutes: float = 10) -> None:
        nonlocal state, now
        now += timedelta(minutes=minutes)
        state = run(state, command, now)

    def fire(kind: Any, department: str | None = None) -> None:
        nonlocal state, now
        (due,) = [d.clock.due for d in state.open_deadlines() if d.kind == kind and d.department == department]
        now = max(now, due)
        state = run(state, deadline(kind, department), now)

    if path == "resolved_in_grid":
        step(verify(grid_worker, resolved=True))
        step(evaluate("satisfied", actor=rater))
        return state
    if path == "first_secretary_order":
        step(order(*departments, by=first_secretary))
    else:
        step(verify(grid_worker))
        step(blow(*departments, by=secretary))
    if path == "merged":  # the primary's workflow tells the report its outcome (a message, here by hand)
        step(MergeCase(actor=operator(), into=f"{seed['duplicate_of']}-1"))
        step(HearPrimaryOutcome(primary=f"{seed['duplicate_of']}-1", outcome="satisfied"))
        step(evaluate("satisfied", actor=rater))
        return state
    if path == "report_in_missed":
        *answered, missing = departments
        for code in answered:
            step(report_in(code))
        fire("report_in", missing)
        assert state.escalation_level == 1
        step(order(missing, by=first_secretary))
        step(report_in(missing))
    elif path == "declined":
        step(decline(departments[0]))
        for code in departments[1:]:
            step(report_in(code))
    else:
        for code in departments:
            step(report_in(code))
    assert state.stage == "handling"
    supervisor = Actor(kind="supervisor", id="dubanchu-01")
    if seed.get("urge"):
        step(UrgeCase(actor=supervisor, note="群众反映强烈，请加快办理"))
    if seed.get("flag"):
        step(FlagCase(actor=supervisor, note="区领导批示：限期解决"))
    if path == "handling_overdue":
        fire("handling")
        assert state.escalation_level == 1
        step(extend("3wd", by=first_secretary))
    for code in state.with_status("reported_in"):
        step(complete(code))
    if path == "reopened":
        step(evaluate("unsatisfied", actor=rater))
        for code in state.with_status("reported_in"):
            step(complete(code))
    if path == "unevaluated":
        fire("evaluation")
        return state
    step(evaluate("basically_satisfied" if path == "declined" else "satisfied", actor=rater))
    return state


@pytest.mark.parametrize("seed", seeds(), ids=[seed["key"] for seed in seeds()])
def test_seed_scenario_plays_through_to_its_promised_outcome(seed: dict[str, Any]) -> None:
    state = play(seed)
    assert state.stage == "closed"
    outcomes = {"declined": "basically_satisfied", "merged": "merged", "unevaluated": "unevaluated"}
    assert state.outcome == outcomes.get(seed["path"], "satisfied")
    assert state.reopen_count == (1 if seed["path"] == "reopened" else 0)
    assert state.resolved_in_grid == (seed["path"] == "resolved_in_grid")
    assert (state.urgings, state.flagged) == (int(seed.get("urge", False)), seed.get("flag", False))


def test_resolved_in_grid_event_names_the_grid_worker() -> None:
    events = decide(new_case(), verify("gw-hongqi-2", resolved=True), NOW)
    assert isinstance(events[-1], ResolvedInGrid)
    assert events[-1].grid_worker == "gw-hongqi-2"


def test_satisfied_rating_is_recorded_before_the_close() -> None:
    evaluated, closed_event = decide(evaluating(), evaluate("satisfied"), NOW)
    assert isinstance(evaluated, ResidentEvaluated) and isinstance(closed_event, CaseClosed)
    assert closed_event.outcome == "satisfied"


def test_completed_part_records_the_result() -> None:
    (event,) = decide(handling(LEAD, SECOND), complete(LEAD), NOW)
    assert isinstance(event, PartCompleted) and event.result == "已整改到位"
