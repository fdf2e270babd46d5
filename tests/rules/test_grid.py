"""Filing and grid discovery (网格发现)."""

from __future__ import annotations

import pytest

from schemas.events import (
    ComplaintFiled,
)
from schemas.rules.decider import decide, file_complaint
from tests.domain_fixtures import (
    FIRST_SECRETARY,
    GRID_WORKER,
    NOW,
    OTHER_GRID_WORKER,
    SECRETARY,
    evaluate,
    later,
    make_case,
    new_case,
    resolved_in_grid,
    run,
    verified,
    verify,
)
from tests.rules.helpers import (
    rejected,
    types,
)


def test_filing_starts_the_grid_verification_clock() -> None:
    events = file_complaint(make_case(), NOW)
    assert types(events) == ["ComplaintFiled"]
    state = new_case()
    assert state.stage == "discovered"
    assert state.verify is not None and state.verify.due == later(hours=2)
    assert [d.kind for d in state.open_deadlines()] == ["verify"]
    assert state.escalation_level == 0


def test_urgent_complaint_runs_on_urgent_windows() -> None:
    (filed,) = file_complaint(make_case(urgency="urgent"), NOW)
    assert isinstance(filed, ComplaintFiled)
    assert filed.verify_due == later(minutes=30)


def test_grid_worker_of_the_grid_verifies_and_the_clock_keeps_running() -> None:
    events = decide(new_case(), verify(), NOW)
    assert types(events) == ["GridVerified"]
    state = run(new_case(), verify())
    assert state.verified_by == GRID_WORKER
    assert state.stage == "discovered"
    assert [d.kind for d in state.open_deadlines()] == ["verify"]


@pytest.mark.parametrize("person", [OTHER_GRID_WORKER, SECRETARY, FIRST_SECRETARY, "stranger"])
def test_only_a_grid_worker_of_the_grid_verifies(person: str) -> None:
    assert rejected(new_case(), verify(person)).field == "actor"


def test_a_verified_complaint_cannot_be_verified_again() -> None:
    error = rejected(verified(), verify("gw-hongqi-2"))
    assert error.field == "resolved_in_grid"
    assert "already verified" in error.reason


def test_small_matter_resolved_in_the_grid_goes_straight_to_evaluation() -> None:
    events = decide(new_case(), verify(resolved=True), NOW)
    assert types(events) == ["GridVerified", "ResolvedInGrid"]
    state = resolved_in_grid()
    assert state.stage == "evaluating"
    assert state.resolved_in_grid and state.verified_by == GRID_WORKER
    assert state.verify is None
    assert state.evaluation is not None and state.evaluation.due == later(days=3)
    assert [d.kind for d in state.open_deadlines()] == ["evaluation"]


def test_verified_complaint_can_still_be_resolved_in_the_grid() -> None:
    events = decide(verified(), verify("gw-hongqi-2", resolved=True), NOW)
    assert types(events) == ["ResolvedInGrid"]


def test_small_matter_path_ends_satisfied_without_any_department() -> None:
    state = run(resolved_in_grid(), evaluate("satisfied"), later(hours=5))
    assert state.stage == "closed" and state.outcome == "satisfied"
    assert state.departments == {}
    assert state.closed_at == later(hours=5)
