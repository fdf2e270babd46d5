"""Reviewed termination and closure reasons (终止办理)."""

from __future__ import annotations

from typing import Any

import pytest

from schemas.actors import Actor
from schemas.commands import (
    Command,
    ProposeTermination,
    ReviewTermination,
)
from schemas.events import (
    TerminationRefused,
)
from schemas.fold import apply
from schemas.rules.decider import decide
from tests.domain_fixtures import (
    FIRST_SECRETARY,
    NOW,
    OTHER_FIRST_SECRETARY,
    STREET_SECRETARY,
    complete,
    deadline,
    evaluate,
    first_secretary,
    handling,
    later,
    park,
    run,
    run_all,
    secretary,
    street_secretary,
    whistled,
)
from tests.rules.helpers import (
    LEAD,
    folds,
    rejected,
    types,
)


def propose(reason: Any = "duplicate", *, actor: Actor | None = None) -> ProposeTermination:
    return ProposeTermination(actor=actor or secretary(), reason=reason, note="与12345工单HOTLINE-1重复")


def decide_termination(approve: bool, *, actor: Actor | None = None) -> ReviewTermination:
    return ReviewTermination(actor=actor or first_secretary(), approve=approve)


@pytest.mark.parametrize(
    "reason", ["not_our_responsibility", "duplicate", "unreasonable_demand", "resident_unreachable"]
)
def test_an_approved_termination_closes_the_case_with_its_reason(reason: str) -> None:
    state = run(whistled(LEAD), propose(reason))
    assert state.termination is not None and state.termination.reviewer == FIRST_SECRETARY
    assert ("termination", later(hours=48)) in [(d.kind, d.clock.due) for d in state.open_deadlines()]
    events = decide(state, decide_termination(True), NOW)
    assert types(events) == ["TerminationApproved", "CaseClosed"]
    state = folds(state, events)
    assert (state.stage, state.outcome, state.closure_reason) == ("closed", "terminated", reason)


def test_a_refused_or_unanswered_termination_lets_the_case_go_on() -> None:
    state = run(whistled(LEAD), propose())
    (refused,) = decide(state, decide_termination(False, actor=street_secretary()), NOW)
    assert refused.type == "TerminationRefused" and refused.by == STREET_SECRETARY
    assert run(state, decide_termination(False)).termination is None
    (lapsed,) = decide(state, deadline("termination"), later(hours=48))
    assert isinstance(lapsed, TerminationRefused) and lapsed.lapsed
    state = apply(state, lapsed)
    assert state.termination is None and state.stage == "whistled"


def test_a_parked_case_can_still_be_terminated() -> None:
    state = run_all(handling(LEAD), [park(), propose("resident_unreachable")])
    assert "termination" in [d.kind for d in state.open_deadlines()]
    assert run(state, decide_termination(True)).outcome == "terminated"


@pytest.mark.parametrize(
    ("setup", "command", "field"),
    [
        (lambda: whistled(LEAD), decide_termination(True), "approve"),
        (lambda: run(whistled(LEAD), propose()), propose(), "reason"),
        (lambda: whistled(LEAD), propose(actor=first_secretary()), "actor"),
        (lambda: run(whistled(LEAD), propose()), decide_termination(True, actor=secretary()), "actor"),
        (
            lambda: run(whistled(LEAD), propose()),
            decide_termination(True, actor=first_secretary(OTHER_FIRST_SECRETARY)),
            "actor",
        ),
        (lambda: run_all(handling(LEAD), [complete(LEAD), evaluate("satisfied")]), propose(), "stage"),
    ],
    ids=[
        "nothing proposed",
        "twice",
        "not the community secretary proposes",
        "the secretary reviews own proposal",
        "another first secretary",
        "closed",
    ],
)
def test_termination_refused(setup: Any, command: Command, field: str) -> None:
    assert rejected(setup(), command).field == field
