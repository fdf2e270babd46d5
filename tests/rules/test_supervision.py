"""Supervision (督办): a supervisor urges a case (催办); whoever holds it now hears so, the urging is on record
against them, and a case takes a bounded number of urgings."""

from __future__ import annotations

import pytest

from schemas.actors import Actor
from schemas.commands import UrgeCase
from schemas.events import CaseUrged
from schemas.rules.decider import decide
from schemas.state import CaseState
from tests.domain_fixtures import (
    FIRST_SECRETARY,
    GRID_WORKER,
    SECRETARY,
    deadline,
    evaluating,
    later,
    new_case,
    report_in,
    run,
    whistled,
)
from tests.rules.helpers import LEAD, SECOND, closed, folds, rejected
from workflows.notices import notices_for

SUPERVISOR = Actor(kind="supervisor", id="dubanchu-01")


def urge(note: str = "请加快办理") -> UrgeCase:
    return UrgeCase(actor=SUPERVISOR, note=note)


def urged(state: CaseState) -> CaseUrged:
    [event] = decide(state, urge(), later(hours=1))
    assert isinstance(event, CaseUrged)
    return event


def test_an_urging_reaches_whoever_holds_the_case_now() -> None:
    assert GRID_WORKER in urged(new_case()).holders  # before the whistle: the grid's workers
    assert urged(whistled(LEAD, SECOND)).holders == [LEAD, SECOND]  # the departments summoned
    assert urged(run(whistled(LEAD, SECOND), report_in(LEAD))).holders == [LEAD, SECOND]  # and working
    assert urged(evaluating()).holders == [SECRETARY]  # while the resident rates


def test_an_escalated_case_is_urged_on_its_secretary_above_too() -> None:
    escalated = run(new_case(), deadline("verify"), later(hours=3))
    assert escalated.escalation_level == 1
    assert FIRST_SECRETARY in urged(escalated).holders


def test_the_urging_is_counted_and_its_holders_hear_of_it() -> None:
    state = whistled(LEAD)
    event = urged(state)
    assert (event.by, event.note) == ("dubanchu-01", "请加快办理")
    after = folds(state, [event])
    assert after.urgings == 1 and (after.stage, after.open_deadlines()) == (state.stage, state.open_deadlines())
    [notice] = notices_for(after, event)
    assert notice.audience == [LEAD] and "催办" in notice.message


def test_a_case_takes_a_bounded_number_of_urgings() -> None:
    state = whistled(LEAD)
    for _ in range(state.case.policy.max_urgings):
        state = run(state, urge(), later(hours=1))
    assert rejected(state, urge(), later(hours=1)).field == "note"


@pytest.mark.parametrize("kind", ["community_secretary", "first_secretary", "operator", "resident"])
def test_only_a_supervisor_urges(kind: str) -> None:
    command = UrgeCase(actor=Actor.model_validate({"kind": kind, "id": "someone"}), note="")
    assert rejected(whistled(LEAD), command).field == "actor"


def test_a_closed_case_is_not_urged() -> None:
    assert rejected(closed(), urge()).field == "stage"
