"""Supervision (督办): a supervisor urges a case (催办); whoever holds it now hears so, the urging is on record
against them, and a case takes a bounded number of urgings. A supervisor puts a case under leader supervision
(重点督办): the policy may cut the windows still running, and the flag can be lifted."""

from __future__ import annotations

import pytest

from schemas.actors import Actor
from schemas.commands import FlagCase, UnflagCase, UrgeCase
from schemas.events import CaseFlagged, CaseUrged, FlagLifted
from schemas.rules.decider import decide
from schemas.rules.supervision import MAX_FLAGGINGS
from schemas.state import CaseState
from tests.domain_fixtures import (
    FIRST_SECRETARY,
    GRID_WORKER,
    SECRETARY,
    deadline,
    evaluating,
    later,
    new_case,
    park,
    report_in,
    run,
    whistled,
)
from tests.rules.helpers import LEAD, SECOND, case_with, closed, folds, rejected
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


def flag(note: str = "区领导批示：限期解决") -> FlagCase:
    return FlagCase(actor=SUPERVISOR, note=note)


def unflag() -> UnflagCase:
    return UnflagCase(actor=SUPERVISOR, note="已按期办理")


def test_a_flag_where_the_policy_cuts_no_window_marks_the_case_and_moves_no_clock() -> None:
    state = whistled(LEAD, case=case_with(flagged_windows=1.0))
    [event] = decide(state, flag(), later(hours=1))
    assert isinstance(event, CaseFlagged) and event.new_dues == {}
    after = folds(state, [event])
    assert (after.flagged, after.flaggings) == (True, 1)
    assert after.open_deadlines() == state.open_deadlines()
    [notice] = notices_for(after, event)
    assert notice.audience == [LEAD] and "重点督办" in notice.message and "区领导批示" in notice.message


def test_a_flag_cuts_each_running_window_to_the_policys_share_of_what_remains() -> None:
    state = whistled(LEAD, SECOND)  # the shipped policy: flagged_windows 0.5
    now = later(hours=2)
    remaining = {code: state.departments[code].report_in.due - now for code in (LEAD, SECOND)}  # type: ignore[union-attr]
    [event] = decide(state, flag(), now)
    assert isinstance(event, CaseFlagged)
    assert event.new_dues == {f"report_in:{code}": now + remaining[code] / 2 for code in (LEAD, SECOND)}
    after = folds(state, [event])
    for code in (LEAD, SECOND):
        clock = after.departments[code].report_in
        assert clock is not None and (clock.start, clock.due) == (now, now + remaining[code] / 2)


def test_a_flag_leaves_lapsed_clocks_and_later_windows_alone() -> None:
    state = run(whistled(LEAD, SECOND), report_in(LEAD), later(hours=1))
    lapsed = run(state, deadline("report_in", SECOND), later(days=3))  # SECOND's clock ran out and escalated
    [event] = decide(lapsed, flag(), later(days=3))
    assert isinstance(event, CaseFlagged) and f"report_in:{SECOND}" not in event.new_dues


def test_a_parked_case_is_flagged_without_moving_its_stopped_clocks() -> None:
    escalated = run(new_case(), deadline("verify"), later(hours=3))
    parked = run(escalated, park(), later(hours=4))
    [event] = decide(parked, flag(), later(hours=5))
    assert isinstance(event, CaseFlagged) and event.new_dues == {}


def test_a_flag_is_lifted_and_can_be_set_again_a_bounded_number_of_times() -> None:
    state = whistled(LEAD)
    for _ in range(MAX_FLAGGINGS):
        state = run(state, flag(), later(hours=1))
        assert rejected(state, flag(), later(hours=1)).field == "flagged"  # once at a time
        [lifted] = decide(state, unflag(), later(hours=1))
        assert isinstance(lifted, FlagLifted)
        state = folds(state, [lifted])
        assert not state.flagged
    assert rejected(state, unflag(), later(hours=1)).field == "flagged"  # nothing to lift
    assert rejected(state, flag(), later(hours=1)).field == "flagged"  # the bound


def test_a_flag_needs_the_leaders_reason() -> None:
    with pytest.raises(ValueError, match="note"):
        FlagCase.model_validate({"actor": SUPERVISOR.model_dump(), "note": ""})


@pytest.mark.parametrize("kind", ["community_secretary", "first_secretary", "operator", "department"])
def test_only_a_supervisor_flags_or_lifts(kind: str) -> None:
    actor = Actor.model_validate({"kind": kind, "id": "someone"})
    assert rejected(whistled(LEAD), FlagCase(actor=actor, note="x")).field == "actor"
    flagged = run(whistled(LEAD), flag(), later(hours=1))
    assert rejected(flagged, UnflagCase(actor=actor)).field == "actor"


def test_a_closed_case_is_not_flagged() -> None:
    assert rejected(closed(), flag()).field == "stage"
