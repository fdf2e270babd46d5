"""Deadlines (时限): each clock refuses to fire early, fires at its due time, and fires once."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import pytest

from schemas.commands import (
    Command,
)
from schemas.events import (
    EscalatedToFirstSecretary,
    EscalatedToStreetSecretary,
)
from schemas.rules.decider import decide
from schemas.state import CaseState
from tests.domain_fixtures import (
    NOW,
    STREET_SECRETARY,
    blow,
    complete,
    deadline,
    decline,
    evaluating,
    extend,
    handling,
    later,
    new_case,
    park,
    report_in,
    run,
    run_all,
    verify,
    whistled,
)
from tests.rules.helpers import (
    LEAD,
    SECOND,
    rejected,
    types,
)


def _first_secretary_window() -> CaseState:
    return run(new_case(), deadline("verify"), later(hours=2))


DEADLINES: list[tuple[str, Callable[[], CaseState], Command, datetime, list[str]]] = [
    ("verify", new_case, deadline("verify"), later(hours=2), ["EscalatedToFirstSecretary"]),
    (
        "report_in",
        lambda: whistled(LEAD, SECOND),
        deadline("report_in", SECOND),
        later(hours=24),
        ["ReportInOverdue", "EscalatedToFirstSecretary"],
    ),
    (
        "reroute",
        lambda: run(whistled(LEAD), decline(LEAD)),
        deadline("reroute"),
        later(hours=24),
        ["EscalatedToFirstSecretary"],
    ),
    (
        "handling",
        handling,
        deadline("handling"),
        datetime(2025, 9, 28, 9, 0, tzinfo=NOW.tzinfo),
        ["HandlingOverdue", "EscalatedToFirstSecretary"],
    ),
    ("evaluation", evaluating, deadline("evaluation"), later(days=3), ["EvaluationLapsed", "CaseClosed"]),
    (
        "first_secretary",
        _first_secretary_window,
        deadline("first_secretary"),
        later(hours=26),
        ["EscalatedToStreetSecretary"],
    ),
]


@pytest.mark.parametrize(("kind", "setup", "command", "due", "expected"), DEADLINES, ids=[d[0] for d in DEADLINES])
def test_deadline_refuses_to_fire_early_then_fires_once_at_its_due_time(
    kind: str, setup: Callable[[], CaseState], command: Command, due: datetime, expected: list[str]
) -> None:
    state = setup()
    early = rejected(state, command, due - timedelta(seconds=1))
    assert early.field == "kind"
    assert "not due" in early.reason
    events = decide(state, command, due)
    assert types(events) == expected
    state = run(state, command, due)
    again = rejected(state, command, due + timedelta(days=30))
    if state.stage == "closed":
        assert again.field == "stage"
    else:
        assert again.field == "kind"
        assert "no open" in again.reason


@pytest.mark.parametrize(
    ("setup", "command"),
    [
        (new_case, deadline("handling")),
        (whistled, deadline("report_in")),
        (lambda: run(whistled(), report_in(LEAD)), deadline("report_in", LEAD)),
        (whistled, deadline("evaluation")),
        (whistled, deadline("first_secretary")),
        (handling, deadline("reroute")),
    ],
    ids=[
        "handling before handling",
        "report-in without a department",
        "report-in after reporting in",
        "evaluation before evaluating",
        "first secretary without escalation",
        "reroute with departments",
    ],
)
def test_deadline_that_is_not_running_is_refused(setup: Callable[[], CaseState], command: Command) -> None:
    assert rejected(setup(), command, later(days=60)).field == "kind"


def test_unanswered_whistle_escalates_to_the_first_secretary() -> None:
    state = run(whistled(LEAD, SECOND), report_in(LEAD))
    state = run(state, deadline("report_in", SECOND), later(hours=24))
    missed = state.departments[SECOND]
    assert missed.status == "summoned"
    assert missed.report_in is not None and missed.report_in.lapsed
    assert state.escalation is not None
    assert state.escalation.level == 1 and state.escalation.causes == ["report_in"]
    assert state.escalation.respond.due == later(hours=48)
    assert [d.kind for d in state.open_deadlines()] == ["first_secretary"]


def test_second_miss_at_level_one_keeps_the_first_secretarys_window() -> None:
    state = run(whistled(LEAD, SECOND), deadline("report_in", LEAD), later(hours=24))
    events = decide(state, deadline("report_in", SECOND), later(hours=30))
    assert isinstance(events[1], EscalatedToFirstSecretary)
    assert events[1].respond_due == later(hours=48)
    state = run(state, deadline("report_in", SECOND), later(hours=30))
    assert state.escalation is not None and state.escalation.causes == ["report_in", "report_in"]


def test_unanswered_first_secretary_escalates_to_the_street_secretary() -> None:
    state = run(_first_secretary_window(), deadline("first_secretary"), later(hours=26))
    assert state.escalation is not None
    assert state.escalation.level == 2
    assert state.escalation.causes == ["verify", "first_secretary"]
    assert state.escalation.respond.due == later(hours=26 + 48)
    assert state.open_deadlines() == []
    assert state.next_deadline == later(hours=26 + 48)


def test_further_miss_at_level_two_tells_the_street_secretary_again() -> None:
    state = run_all(_first_secretary_window(), [verify(), blow(LEAD)], later(hours=3))
    state = run(state, deadline("first_secretary"), later(hours=26))
    events = decide(state, deadline("report_in", LEAD), later(hours=27))
    assert types(events) == ["ReportInOverdue", "EscalatedToStreetSecretary"]
    assert isinstance(events[1], EscalatedToStreetSecretary)
    assert events[1].street_secretary == STREET_SECRETARY
    assert events[1].respond_due == later(hours=26 + 48)


def test_street_secretary_answers_a_level_two_escalation() -> None:
    state = run(_first_secretary_window(), deadline("first_secretary"), later(hours=26))
    state = run(state, extend("4h", by=STREET_SECRETARY), later(hours=30))
    assert state.escalation_level == 0
    assert state.verify is not None and state.verify.due == later(hours=34)


def test_verify_missed_then_whistle_still_needs_a_directive_to_lower_the_escalation() -> None:
    state = run(new_case(), verify(), later(hours=1))
    state = run(state, deadline("verify"), later(hours=2))
    state = run(state, blow(), later(hours=3))
    assert state.stage == "whistled" and state.escalation_level == 1


def test_parked_case_resolved_in_the_grid_leaves_the_long_running_list() -> None:
    parked = run(new_case(), park())
    assert parked.parked and [d.kind for d in parked.open_deadlines()] == ["ledger_review"]
    state = run(parked, verify(resolved=True))
    assert not state.parked
    assert [d.kind for d in state.open_deadlines()] == ["evaluation", "ledger_review"]
    state = run(state, deadline("evaluation"), later(days=3))
    assert state.stage == "closed" and state.outcome == "unevaluated"


def test_finished_handling_ends_the_escalation_it_answered() -> None:
    state = run(handling(), deadline("handling"), later(days=30))
    assert state.escalation_level == 1
    state = run_all(state, [complete(code) for code in state.departments], later(days=30))
    assert state.stage == "evaluating" and state.escalation_level == 0
    assert [d.kind for d in state.open_deadlines()] == ["evaluation"]


def test_unanswered_evaluation_closes_the_case_as_unevaluated() -> None:
    state = run(evaluating(), deadline("evaluation"), later(days=3))
    assert state.stage == "closed" and state.outcome == "unevaluated"
    assert state.rating is None
    assert state.open_deadlines() == [] and state.next_deadline is None
