"""工作备注: an official of the case puts a note on its record. It moves no stage and no clock, only the case's own
officials (or a hotline operator) may, and a case keeps a bounded number of notes."""

from __future__ import annotations

import pytest

from schemas.actors import Actor
from schemas.commands import RecordNote
from schemas.errors import CommandRejected
from schemas.fold import apply
from schemas.rules.decider import decide
from schemas.state import CaseState
from tests.domain_fixtures import (
    OTHER_GRID_WORKER,
    department,
    evaluate,
    evaluating,
    first_secretary,
    grid_worker,
    later,
    operator,
    resident,
    run,
    secretary,
    street_secretary,
    whistled,
)


def note(actor: Actor, text: str = "已电话联系居民，约定周六上门") -> RecordNote:
    return RecordNote(actor=actor, note=text)


def refused(state: CaseState, command: RecordNote) -> CommandRejected:
    with pytest.raises(CommandRejected) as caught:
        decide(state, command, later(minutes=5))
    return caught.value


@pytest.mark.parametrize(
    "actor",
    [grid_worker(), secretary(), first_secretary(), street_secretary(), department("urban_management"), operator()],
    ids=lambda actor: actor.kind,
)
def test_an_official_of_the_case_records_a_note_that_moves_nothing(actor: Actor) -> None:
    state = whistled("urban_management")
    [recorded] = decide(state, note(actor), later(minutes=5))
    assert recorded.type == "NoteRecorded" and recorded.by == actor and recorded.note.startswith("已电话")
    after = apply(state, recorded)
    assert (after.stage, after.open_deadlines(), after.notes) == (state.stage, state.open_deadlines(), 1)


@pytest.mark.parametrize(
    "actor",
    [resident(), grid_worker(OTHER_GRID_WORKER), department("traffic_police")],
    ids=["resident", "another grid's worker", "a department not on the case"],
)
def test_anyone_else_is_refused_naming_the_actor(actor: Actor) -> None:
    assert refused(whistled("urban_management"), note(actor)).field == "actor"


def test_a_case_keeps_a_bounded_number_of_notes() -> None:
    state = whistled("urban_management")
    limit = state.case.policy.max_progress_notes
    for _ in range(limit):
        state = run(state, note(secretary()), later(minutes=5))
    assert state.notes == limit
    assert refused(state, note(secretary())).field == "note"


def test_a_closed_case_takes_no_notes() -> None:
    closed = run(evaluating(), evaluate("satisfied"))
    assert refused(closed, note(operator())).field == "stage"
