"""Resident evaluation (居民评价)."""

from __future__ import annotations

from typing import Any

import pytest

from schemas.events import (
    CaseReopened,
    EscalatedToFirstSecretary,
)
from schemas.rules.decider import decide
from tests.domain_fixtures import (
    DEPARTMENTS,
    FIRST_SECRETARY,
    NOW,
    complete,
    evaluate,
    evaluating,
    extend,
    later,
    make_case,
    order,
    policy,
    report_in,
    resolved_in_grid,
    run,
    run_all,
)
from tests.rules.helpers import (
    LEAD,
    SECOND,
    rejected,
    types,
)


@pytest.mark.parametrize("rating", ["satisfied", "basically_satisfied"])
def test_a_content_resident_closes_the_case(rating: Any) -> None:
    state = run(evaluating(), evaluate(rating))
    assert state.stage == "closed"
    assert state.outcome == rating and state.rating == rating
    assert state.open_deadlines() == []


def test_unsatisfied_resident_reopens_handling_for_every_department() -> None:
    events = decide(evaluating(), evaluate("unsatisfied"), NOW)
    assert types(events) == ["ResidentEvaluated", "CaseReopened"]
    assert isinstance(events[1], CaseReopened)
    assert events[1].handling_due is not None and events[1].verify_due is None
    state = run(evaluating(), evaluate("unsatisfied"))
    assert state.stage == "handling"
    assert state.reopen_count == 1
    assert state.rating is None
    assert state.with_status("reported_in") == list(DEPARTMENTS)
    assert all(part.result is None for part in state.departments.values())


def test_unsatisfied_after_a_grid_resolution_sends_the_case_back_to_the_grid() -> None:
    (_, reopened) = decide(resolved_in_grid(), evaluate("unsatisfied"), NOW)
    assert isinstance(reopened, CaseReopened)
    assert reopened.verify_due == later(hours=2) and reopened.handling_due is None
    state = run(resolved_in_grid(), evaluate("unsatisfied"))
    assert state.stage == "discovered"
    assert not state.resolved_in_grid and state.verified_by is None
    assert [d.kind for d in state.open_deadlines()] == ["verify"]


def test_reopens_stop_at_the_limit_and_escalate_to_the_first_secretary() -> None:
    state = evaluating()
    for count in (1, 2):
        state = run_all(state, [evaluate("unsatisfied"), *(complete(code) for code in DEPARTMENTS)])
        assert state.reopen_count == count
    assert policy().default.max_reopens == 2
    events = decide(state, evaluate("unsatisfied"), NOW)
    assert types(events) == ["ResidentEvaluated", "EscalatedToFirstSecretary"]
    assert isinstance(events[1], EscalatedToFirstSecretary)
    assert events[1].cause == "reopen_limit" and events[1].first_secretary == FIRST_SECRETARY
    state = run(state, evaluate("unsatisfied"))
    assert state.stage == "evaluating"
    assert state.rating == "unsatisfied" and state.reopen_count == 2
    assert state.escalation_level == 1
    assert [d.kind for d in state.open_deadlines()] == ["first_secretary"]
    assert rejected(state, evaluate("satisfied")).field == "rating"


def test_first_secretary_answers_the_reopen_limit_by_ordering_departments_back() -> None:
    state = evaluating(LEAD, case=make_case(sla=policy().model_copy(update={"default": _no_reopens()})))
    state = run(state, evaluate("unsatisfied"))
    assert state.escalation_level == 1
    assert rejected(state, extend("1d")).field == "extend_by"
    state = run(state, order(LEAD, SECOND))
    assert state.stage == "whistled"
    assert state.escalation is None and state.rating is None and state.evaluation is None
    state = run_all(state, [report_in(LEAD), report_in(SECOND), complete(LEAD), complete(SECOND)])
    assert state.stage == "evaluating"


def _no_reopens() -> Any:
    return policy().default.model_copy(update={"max_reopens": 0})
