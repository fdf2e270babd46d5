"""Review before evaluation (审核)."""

from __future__ import annotations

from typing import Any

import pytest

from schemas.actors import Actor
from schemas.commands import (
    Command,
    ReviewResults,
)
from schemas.events import (
    EscalatedToFirstSecretary,
)
from schemas.fold import apply
from schemas.intake import ComplaintInput
from schemas.rules.decider import decide
from tests.domain_fixtures import (
    NOW,
    SECRETARY,
    blow,
    complete,
    deadline,
    evaluate,
    extend,
    first_secretary,
    handling,
    later,
    run,
    run_all,
    secretary,
)
from tests.rules.helpers import (
    EXTRA,
    LEAD,
    SECOND,
    ask_more_time,
    case_with,
    folds,
    proactive,
    rejected,
    types,
)


def reviewed_case() -> ComplaintInput:
    return case_with(review_before_evaluation=True)


def review(approve: bool, reason: str = "", *, actor: Actor | None = None) -> ReviewResults:
    return ReviewResults(actor=actor or secretary(), approve=approve, reason=reason)


def test_where_the_policy_asks_the_last_completion_goes_to_the_secretarys_review() -> None:
    state = handling(LEAD, case=reviewed_case())
    completed, submitted = decide(state, complete(LEAD), NOW)
    assert submitted.type == "ResultsSubmitted" and submitted.reviewer == SECRETARY
    assert submitted.review_due == later(hours=24)
    state = folds(state, [completed, submitted])
    assert state.stage == "handling" and state.handling is None and state.review is not None
    assert [d.kind for d in state.open_deadlines()] == ["review"]
    assert rejected(state, evaluate("satisfied")).field == "stage"


def test_accepted_results_go_to_the_resident() -> None:
    state = run(handling(LEAD, case=reviewed_case()), complete(LEAD))
    events = decide(state, review(True), NOW)
    assert types(events) == ["ResultsApproved", "HandlingCompleted"]
    state = folds(state, events)
    assert state.stage == "evaluating" and state.review is None and state.evaluation is not None


def test_rejected_results_send_the_case_back_to_handling_with_the_reason() -> None:
    state = run(handling(LEAD, SECOND, case=reviewed_case()), complete(LEAD))
    state = run(state, complete(SECOND))
    (event,) = decide(state, review(False, "路灯仍有两盏不亮"), NOW)
    assert event.type == "ResultsRejected" and event.reason == "路灯仍有两盏不亮"
    state = apply(state, event)
    assert state.stage == "handling" and state.review is None and state.handling is not None
    assert state.with_status("reported_in") == [LEAD, SECOND]
    assert run_all(state, [complete(LEAD), complete(SECOND)]).review is not None


def test_a_missed_review_escalates_and_a_directive_can_extend_it() -> None:
    state = run(handling(LEAD, case=reviewed_case()), complete(LEAD))
    (escalated,) = decide(state, deadline("review"), later(hours=24))
    assert isinstance(escalated, EscalatedToFirstSecretary) and escalated.cause == "review"
    state = apply(state, escalated)
    assert state.review is not None and state.review.lapsed
    state = run(state, extend("1d"), later(hours=25))
    assert state.review is not None and not state.review.lapsed and state.escalation is None


@pytest.mark.parametrize(
    ("setup", "command", "field"),
    [
        (lambda: handling(LEAD, case=reviewed_case()), review(True), "approve"),  # nothing to review yet
        (
            lambda: run(handling(LEAD, case=reviewed_case()), complete(LEAD)),
            review(True, actor=first_secretary()),
            "actor",
        ),
        (lambda: run(handling(LEAD, case=reviewed_case()), complete(LEAD)), blow(EXTRA), "stage"),
        (lambda: run(handling(LEAD, case=reviewed_case()), complete(LEAD)), proactive(EXTRA), "stage"),
        (lambda: run(handling(LEAD, case=reviewed_case()), complete(LEAD)), ask_more_time(), "stage"),
    ],
    ids=[
        "nothing submitted",
        "not the community secretary",
        "no whistle under review",
        "no joining under review",
        "no extension under review",
    ],
)
def test_review_refused(setup: Any, command: Command, field: str) -> None:
    assert rejected(setup(), command).field == field


def test_a_rejected_review_needs_a_reason() -> None:
    with pytest.raises(ValueError, match="reason"):
        ReviewResults(actor=secretary(), approve=False)
