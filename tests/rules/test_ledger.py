"""The long-running ledger (挂账)."""

from __future__ import annotations

from datetime import timedelta

from schemas.events import (
    CaseLedgered,
    LedgerReviewReminded,
)
from schemas.rules.decider import decide
from tests.domain_fixtures import (
    FIRST_SECRETARY,
    NOW,
    STREET_SECRETARY,
    complete,
    deadline,
    evaluate,
    extend,
    handling,
    later,
    park,
    run,
    run_all,
)
from tests.rules.helpers import (
    LEAD,
    rejected,
    types,
)


def test_parking_puts_the_case_on_the_ledger_with_its_owner_and_a_review_clock() -> None:
    events = decide(handling(LEAD), park(), NOW)
    ledgered = events[-1]
    assert isinstance(ledgered, CaseLedgered)
    assert (ledgered.reason, ledgered.owner, ledgered.review_due) == ("parked", FIRST_SECRETARY, later(days=7))
    state = run(handling(LEAD), park())
    assert state.ledger is not None and state.ledger.since == NOW
    assert [d.kind for d in state.open_deadlines()] == ["ledger_review"]


def test_a_case_three_times_past_its_handling_window_goes_on_the_ledger() -> None:
    state = handling(LEAD)
    assert state.handling is not None
    window = state.handling.due - state.handling.start
    (threshold,) = [d.clock.due for d in state.open_deadlines() if d.kind == "ledger"]
    assert threshold == NOW + 3 * window
    assert rejected(state, deadline("ledger"), threshold - timedelta(seconds=1)).field == "kind"
    (event,) = decide(state, deadline("ledger"), threshold)
    assert isinstance(event, CaseLedgered) and event.reason == "long_overdue"
    state = run(state, deadline("ledger"), threshold)
    assert state.ledger is not None and "ledger" not in [d.kind for d in state.open_deadlines()]


def test_the_ledgers_owner_is_reminded_every_period_until_the_case_closes() -> None:
    state = run(handling(LEAD), park())
    for week in (1, 2, 3):
        (event,) = decide(state, deadline("ledger_review"), later(days=7 * week))
        assert isinstance(event, LedgerReviewReminded) and event.owner == FIRST_SECRETARY
        assert event.review_due == later(days=7 * (week + 1))
        state = run(state, deadline("ledger_review"), later(days=7 * week))
    state = run_all(state, [complete(LEAD), evaluate("satisfied")], later(days=22))
    assert state.stage == "closed" and state.ledger is not None and state.open_deadlines() == []


def test_parking_again_does_not_ledger_again() -> None:
    state = run_all(handling(LEAD), [park(), extend("1d")])
    assert not state.parked and state.ledger is not None  # unparked, still on the ledger until it closes
    events = decide(state, park(STREET_SECRETARY), NOW)
    assert types(events) == ["DirectiveIssued", "CaseParked"]
