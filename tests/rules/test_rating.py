"""Two-way rating (双考核)."""

from __future__ import annotations

from typing import Any

import pytest

from schemas.commands import (
    Command,
)
from schemas.events import (
    DepartmentRated,
)
from schemas.fold import fold
from schemas.rules.decider import decide, file_complaint
from tests.domain_fixtures import (
    NOW,
    SECRETARY,
    complete,
    deadline,
    evaluate,
    first_secretary,
    handling,
    later,
    park,
    report_in,
    run,
    run_all,
    verify,
    whistled,
)
from tests.rules.helpers import (
    EXTRA,
    LEAD,
    SECOND,
    THIRD,
    answer,
    ask_more_time,
    case_with,
    folds,
    graded,
    proactive,
    rate,
    rejected,
    senior_report_in,
)


def test_the_community_rates_a_department_that_finished_its_part() -> None:
    state = run(handling(LEAD, SECOND), complete(LEAD))
    (event,) = decide(state, rate(LEAD, "fair", in_person=False), NOW)
    assert isinstance(event, DepartmentRated)
    assert (event.on_time, event.in_person, event.result, event.by) == (True, False, "fair", SECRETARY)
    state = run(state, rate(LEAD, "fair", in_person=False))
    rating = state.departments[LEAD].rating
    assert rating is not None and (rating.on_time, rating.in_person, rating.result) == (True, False, "fair")


def test_a_late_report_in_is_rated_late_and_a_proactive_one_on_time() -> None:
    state = run(whistled(LEAD), report_in(LEAD), later(hours=30))
    state = run_all(state, [proactive(EXTRA), complete(EXTRA)], later(hours=31))
    state = run(state, complete(LEAD), later(hours=32))
    (rated_late,) = decide(state, rate(LEAD), later(hours=33))
    (rated_proactive,) = decide(state, rate(EXTRA), later(hours=33))
    assert isinstance(rated_late, DepartmentRated) and not rated_late.on_time
    assert isinstance(rated_proactive, DepartmentRated) and rated_proactive.on_time and rated_proactive.proactive


@pytest.mark.parametrize(
    ("setup", "command", "field"),
    [
        (lambda: handling(LEAD), rate(LEAD), "department"),  # not done yet
        (lambda: run(handling(LEAD, SECOND), complete(LEAD)), rate(THIRD), "department"),  # never summoned
        (lambda: run(handling(LEAD, SECOND), complete(LEAD)), rate(LEAD, actor=first_secretary()), "actor"),
        (lambda: run_all(handling(LEAD, SECOND), [complete(LEAD), rate(LEAD)]), rate(LEAD), "department"),  # twice
        (lambda: run_all(handling(LEAD), [complete(LEAD), evaluate("satisfied")]), rate(LEAD), "stage"),  # closed
    ],
    ids=["not done", "not on the case", "not the community secretary", "rated twice", "closed"],
)
def test_rating_refused(setup: Any, command: Command, field: str) -> None:
    assert rejected(setup(), command).field == field


def test_every_new_event_folds_from_the_stream() -> None:
    case = case_with(raise_grade_on_miss=True)
    (filed,) = file_complaint(case, NOW)
    events = [filed]
    state = fold(events)
    steps: list[tuple[Command, Any]] = [
        (proactive(None), NOW),
        (verify(), NOW),
        (graded("blue", LEAD, SECOND), NOW),
        (deadline("report_in", LEAD), later(hours=24)),
        (deadline("report_in", SECOND), later(hours=24)),
        (senior_report_in(LEAD, "deputy_head"), later(hours=25)),
        (senior_report_in(SECOND, "head"), later(hours=25)),
        (ask_more_time(), later(hours=26)),
        (answer(True), later(hours=27)),
        (complete(LEAD), later(hours=28)),
        (rate(LEAD), later(hours=28)),
        (park(), later(hours=29)),
        (deadline("ledger_review"), later(days=8, hours=5)),
    ]
    for command, now in steps:
        produced = decide(state, command, now)
        events.extend(produced)
        state = folds(state, produced)
        assert fold(events) == state
    assert {
        "ProactivelyReportedIn",
        "WhistleGradeRaised",
        "ExtensionApproved",
        "DepartmentRated",
        "CaseLedgered",
        "LedgerReviewReminded",
    } <= {event.type for event in events}
