"""Follow-up calls (回访): after closure a hotline operator records a call; the policy's window asks for one on cases
closed unevaluated; an unsolved verdict reopens the case within the window, counted as a reopen and bounded by
``max_reopens``; a case takes a bounded number of calls."""

from __future__ import annotations

from datetime import datetime

import pytest

from schemas.actors import Actor
from schemas.commands import FollowUpVerdict, Rating, RecordFollowUp
from schemas.common import parse_duration
from schemas.events import CaseReopened, FollowUpRecorded, FollowUpWindowClosed
from schemas.rules import follow_up
from schemas.rules.decider import decide
from schemas.state import CaseState
from tests.domain_fixtures import (
    OPERATOR,
    SECRETARY,
    complete,
    deadline,
    evaluate,
    evaluating,
    later,
    operator,
    resolved_in_grid,
    run,
    run_all,
)
from tests.rules.helpers import case_with, folds, rejected, types, withdraw
from workflows.notices import HOTLINE, notices_for, warning_for

WINDOW = parse_duration("7d")


def call(verdict: FollowUpVerdict = "solved", *, actor: Actor | None = None) -> RecordFollowUp:
    return RecordFollowUp(actor=actor or operator(), verdict=verdict, note="电话回访")


def closing(rating: Rating | None, *, grid: bool = False, **policy: object) -> CaseState:
    """A case just closed under a policy taking follow-up calls (``follow_up`` 7d, and ``policy``), its window not yet
    opened: rated ``rating``, or unevaluated (None: the evaluation window ran out)."""
    case = case_with(follow_up=WINDOW, **policy)
    state = resolved_in_grid(case) if grid else evaluating(case=case)
    rated = deadline("evaluation") if rating is None else evaluate(rating)
    return run(state, rated, later(days=4))


def closed_with(rating: Rating | None, *, grid: bool = False, **policy: object) -> CaseState:
    """``closing``, with the window opened as the workflow opens it."""
    state = closing(rating, grid=grid, **policy)
    assert follow_up.window_opens(state)
    return folds(state, [follow_up.opened(state)])


def test_the_window_opens_at_closure_and_asks_for_a_call_when_unevaluated() -> None:
    state = closed_with(None)
    assert state.stage == "closed" and state.outcome == "unevaluated"
    assert state.follow_up is not None and state.follow_up.asked
    assert state.follow_up.clock.due == state.closed_at + WINDOW.fixed()  # type: ignore[operator]
    assert [d.kind for d in state.open_deadlines()] == ["follow_up"]
    assert state.next_deadline is None  # a closed case stays closed to the lists
    [notice] = notices_for(state, follow_up.opened(closing(None)))
    assert notice.audience == [HOTLINE] and "回访" in notice.message
    rated = closed_with("satisfied")
    assert rated.follow_up is not None and not rated.follow_up.asked
    assert notices_for(rated, follow_up.opened(closing("satisfied"))) == []


def test_no_window_without_the_policy_key_nor_for_a_withdrawn_case() -> None:
    assert not follow_up.window_opens(run(evaluating(), evaluate("satisfied")))
    withdrawn = run(evaluating(case=case_with(follow_up=WINDOW)), withdraw())
    assert withdrawn.outcome == "withdrawn" and not follow_up.window_opens(withdrawn)
    assert rejected(withdrawn, call()).field == "stage"
    assert not follow_up.window_opens(closed_with("satisfied"))  # already open: opened once per closure


def test_a_solved_call_is_recorded_and_reaches_the_resident() -> None:
    state = closed_with(None)
    events = decide(state, call("solved"), later(days=5))
    assert types(events) == ["FollowUpRecorded"]
    [recorded] = events
    assert isinstance(recorded, FollowUpRecorded)
    assert (recorded.by, recorded.verdict, recorded.note) == (OPERATOR, "solved", "电话回访")
    after = folds(state, events)
    assert after.follow_ups == 1 and after.follow_up is not None and after.follow_up.reached
    assert after.stage == "closed" and notices_for(after, recorded) == []


def test_an_unreached_call_is_recorded_and_the_call_is_still_owed() -> None:
    state = run(closed_with(None), call("unreached"), later(days=5))
    assert state.follow_ups == 1 and state.follow_up is not None and not state.follow_up.reached
    [ended] = decide(state, deadline("follow_up"), later(days=12))
    assert isinstance(ended, FollowUpWindowClosed) and ended.missed


def test_an_unsolved_verdict_reopens_handling_counted_as_a_reopen() -> None:
    state = closed_with("satisfied")
    events = decide(state, call("unsolved"), later(days=6))
    assert types(events) == ["FollowUpRecorded", "CaseReopened"]
    reopened = events[1]
    assert isinstance(reopened, CaseReopened) and reopened.reopen_count == 1
    after = folds(state, events)
    assert (after.stage, after.reopen_count, after.outcome, after.closed_at, after.rating) == (
        "handling", 1, None, None, None,
    )  # fmt: skip
    assert after.follow_up is None and after.handling is not None and after.handling.start == later(days=6)
    assert all(part.status == "reported_in" for part in after.departments.values())
    assert SECRETARY in notices_for(after, events[0])[0].audience  # the community hears it is unsolved
    again = run_all(after, [complete(code) for code in after.departments], later(days=7))
    again = run(again, evaluate("satisfied"), later(days=7))
    assert again.stage == "closed" and follow_up.window_opens(again)  # a new window for the new closure
    assert again.follow_ups == 1  # the calls are counted over the case's life


def test_an_unsolved_verdict_on_a_case_resolved_in_the_grid_sends_it_back_to_the_grid() -> None:
    state = closed_with("basically_satisfied", grid=True)
    after = run(state, call("unsolved"), later(days=5))
    assert (after.stage, after.reopen_count) == ("discovered", 1) and after.verify is not None


def test_an_unsolved_verdict_past_max_reopens_is_recorded_and_the_case_stays_closed() -> None:
    state = closed_with("satisfied", max_reopens=0)
    events = decide(state, call("unsolved"), later(days=5))
    assert types(events) == ["FollowUpRecorded"]
    after = folds(state, events)
    assert after.stage == "closed" and after.reopen_count == 0
    [notice] = notices_for(after, events[0])
    assert notice.audience == [SECRETARY]


def test_the_window_runs_out_missed_when_asked_and_never_reached() -> None:
    state = closed_with(None)
    assert state.follow_up is not None
    due: datetime = state.follow_up.clock.due
    assert rejected(state, deadline("follow_up"), later(days=5)).field == "kind"  # not due yet
    [ended] = decide(state, deadline("follow_up"), due)
    assert isinstance(ended, FollowUpWindowClosed) and ended.missed
    after = folds(state, [ended])
    assert after.open_deadlines() == [] and after.follow_up is not None and after.follow_up.clock.lapsed
    [notice] = notices_for(after, ended)
    assert notice.audience == [HOTLINE, SECRETARY]
    assert rejected(after, call(), due).field == "stage"  # no call after the window
    assert rejected(after, deadline("follow_up"), due).field == "kind"  # and the clock runs out once


def test_the_window_runs_out_quietly_when_not_asked_or_reached() -> None:
    rated = closed_with("satisfied")
    assert rated.follow_up is not None
    [ended] = decide(rated, deadline("follow_up"), rated.follow_up.clock.due)
    assert isinstance(ended, FollowUpWindowClosed) and not ended.missed
    assert notices_for(folds(rated, [ended]), ended) == []
    reached = run(closed_with(None), call("solved"), later(days=5))
    assert reached.follow_up is not None
    [ended] = decide(reached, deadline("follow_up"), reached.follow_up.clock.due)
    assert not ended.missed  # type: ignore[union-attr]


def test_the_hotline_is_warned_before_the_window_runs_out() -> None:
    state = closed_with(None)
    [window] = state.open_deadlines()
    assert warning_for(state, window, later(days=6)).audience == [HOTLINE]


def test_a_case_takes_a_bounded_number_of_calls() -> None:
    state = closed_with(None, max_follow_ups=2)
    state = run_all(state, [call("unreached"), call("unreached")], later(days=5))
    assert rejected(state, call(), later(days=5)).field == "verdict"


def test_a_call_comes_after_closure() -> None:
    assert rejected(evaluating(case=case_with(follow_up=WINDOW)), call()).field == "stage"


def test_a_case_closed_without_the_window_takes_no_call() -> None:
    assert rejected(run(evaluating(), evaluate("satisfied")), call()).field == "stage"


@pytest.mark.parametrize("kind", ["resident", "community_secretary", "supervisor", "grid_worker"])
def test_only_a_hotline_operator_records_a_follow_up(kind: str) -> None:
    command = call(actor=Actor.model_validate({"kind": kind, "id": "someone"}))
    assert rejected(closed_with(None), command).field == "actor"


def test_other_commands_are_still_refused_after_closure() -> None:
    assert rejected(closed_with(None), evaluate("unsatisfied")).field == "stage"
