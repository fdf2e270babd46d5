"""Directives from the first (or street) secretary (第一书记 / 街道党工委书记)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from schemas.events import (
    CaseParked,
    DirectiveIssued,
)
from schemas.rules.decider import decide
from tests.domain_fixtures import (
    FIRST_SECRETARY,
    GRID_WORKER,
    OTHER_FIRST_SECRETARY,
    SECRETARY,
    STREET_SECRETARY,
    complete,
    deadline,
    evaluating,
    extend,
    handling,
    later,
    make_case,
    new_case,
    order,
    park,
    report_in,
    run,
    run_all,
    whistled,
)
from tests.rules.helpers import (
    EXTRA,
    LEAD,
    SECOND,
    rejected,
    types,
)


@pytest.mark.parametrize("person", [SECRETARY, GRID_WORKER, OTHER_FIRST_SECRETARY, "ss-xinghe"])
def test_only_the_first_or_street_secretary_of_the_case_directs(person: str) -> None:
    assert rejected(whistled(), order(EXTRA, by=person)).field == "actor"


@pytest.mark.parametrize("person", [FIRST_SECRETARY, STREET_SECRETARY])
def test_first_secretary_orders_in_a_department_that_missed_its_report_in(person: str) -> None:
    state = run(whistled(LEAD), deadline("report_in", LEAD), later(hours=24))
    assert state.escalation_level == 1
    (event,) = decide(state, order(LEAD, by=person), later(hours=25))
    assert isinstance(event, DirectiveIssued)
    assert event.new_dues == {f"report_in:{LEAD}": later(hours=49)}
    state = run(state, order(LEAD, by=person), later(hours=25))
    assert state.escalation is None
    assert state.departments[LEAD].status == "summoned"
    assert [(d.kind, d.department, d.clock.due) for d in state.open_deadlines()] == [
        ("report_in", LEAD, later(hours=49))
    ]


def test_first_secretary_orders_departments_in_without_waiting_for_the_whistle() -> None:
    case = make_case(category="flood_evacuation", grid="hongqi_2", urgency="urgent")
    state = run(new_case(case), order("emergency_management", "civil_affairs"))
    assert state.stage == "whistled"
    assert state.verify is None and state.verified_by is None
    assert state.lead == "emergency_management"
    assert state.departments["civil_affairs"].report_in is not None
    assert state.departments["civil_affairs"].report_in.due == later(hours=2)


def test_order_cannot_name_a_department_already_working() -> None:
    error = rejected(run(whistled(), report_in(LEAD)), order(LEAD))
    assert error.field == "departments"
    assert "already working" in error.reason


def test_order_naming_an_unknown_department_is_refused() -> None:
    assert rejected(whistled(), order("weather_bureau")).field == "departments"


def test_extension_moves_every_running_clock_of_the_stage_past_its_due() -> None:
    state = run(whistled(LEAD, SECOND), report_in(LEAD))
    (event,) = decide(state, extend("12h"), later(hours=1))
    assert isinstance(event, DirectiveIssued)
    assert event.new_dues == {f"report_in:{SECOND}": later(hours=36)}


def test_extension_after_the_handling_deadline_counts_from_now() -> None:
    state = handling()
    assert state.handling is not None
    overdue = state.handling.due + timedelta(hours=3)
    state = run(state, deadline("handling"), overdue)
    assert state.escalation_level == 1
    state = run(state, extend("2h"), overdue)
    assert state.escalation is None
    assert state.handling is not None and state.handling.due == overdue + timedelta(hours=2)
    assert not state.handling.lapsed
    assert [d.kind for d in state.open_deadlines()] == ["handling", "ledger"]


def test_park_puts_the_case_on_the_long_running_list_and_stops_its_clocks() -> None:
    state = run(handling(), deadline("handling"), later(days=10))
    events = decide(state, park(), later(days=10))
    assert types(events) == ["DirectiveIssued", "CaseParked", "CaseLedgered"]
    assert isinstance(events[1], CaseParked) and events[1].by == FIRST_SECRETARY
    state = run(state, park(), later(days=10))
    assert state.parked and state.escalation is None
    assert [d.kind for d in state.open_deadlines()] == ["ledger_review"]  # only the ledger's review reminder
    assert rejected(state, park()).field == "kind"


def test_parked_case_goes_on_when_the_departments_finish() -> None:
    state = run_all(handling(LEAD), [park(), complete(LEAD)])
    assert not state.parked
    assert [d.kind for d in state.open_deadlines()] == ["evaluation", "ledger_review"]


def test_extension_takes_a_case_off_the_long_running_list() -> None:
    state = run_all(handling(), [park(), extend("5wd")])
    assert not state.parked
    assert [d.kind for d in state.open_deadlines()] == ["ledger_review", "handling"]  # still on the ledger


def test_no_directive_while_the_resident_is_rating() -> None:
    for command in (order(EXTRA), extend("1d"), park()):
        assert rejected(evaluating(), command).field == "stage"
