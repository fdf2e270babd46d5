"""Report-in (部门报到), declining (退单), and reporting in without waiting for the whistle (主动报到)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest

from schemas.commands import (
    Command,
)
from schemas.events import (
    DepartmentDeclined,
    DepartmentReportedIn,
    ProactivelyReportedIn,
)
from schemas.rules.decider import decide
from schemas.state import CaseState
from tests.domain_fixtures import (
    CALENDAR,
    NOW,
    OTHER_FIRST_SECRETARY,
    blow,
    complete,
    decline,
    department,
    evaluating,
    first_secretary,
    handling,
    later,
    new_case,
    policy,
    report_in,
    run,
    run_all,
    secretary,
    whistled,
)
from tests.rules.helpers import (
    EXTRA,
    LEAD,
    SECOND,
    THIRD,
    proactive,
    rejected,
    types,
)


def test_department_that_was_not_summoned_cannot_report_in() -> None:
    error = rejected(whistled(LEAD), report_in(SECOND))
    assert error.field == "department"
    assert "not summoned" in error.reason


def test_unknown_department_cannot_report_in() -> None:
    error = rejected(whistled(), report_in("weather_bureau"))
    assert error.field == "department"
    assert "unknown" in error.reason


@pytest.mark.parametrize(
    ("setup", "why"),
    [
        (lambda: run(whistled(LEAD, SECOND), report_in(LEAD)), "reported in"),
        (lambda: run(whistled(LEAD, SECOND), decline(LEAD)), "declined"),
        (lambda: evaluating(LEAD), "done"),
    ],
    ids=["twice", "after declining", "after completing"],
)
def test_department_reports_in_only_while_summoned(setup: Callable[[], CaseState], why: str) -> None:
    error = rejected(setup(), report_in(LEAD))
    assert error.field == "department"
    assert why in error.reason


def test_report_in_while_others_are_awaited_keeps_the_case_whistled() -> None:
    (event,) = decide(whistled(), report_in(LEAD), later(hours=1))
    assert isinstance(event, DepartmentReportedIn)
    assert event.on_time and event.handling_due is None
    state = run(whistled(), report_in(LEAD), later(hours=1))
    assert state.stage == "whistled"
    assert state.departments[LEAD].officer == "值班员"


def test_last_department_to_report_in_starts_joint_handling_in_working_days() -> None:
    state = run_all(whistled(), [report_in(LEAD), report_in(SECOND)])
    (event,) = decide(state, report_in(THIRD), NOW)
    assert isinstance(event, DepartmentReportedIn)
    # Five working days from Monday 22 September: Tuesday to Friday, then the make-up workday Sunday 28th.
    assert event.handling_due == datetime(2025, 9, 28, 9, 0, tzinfo=NOW.tzinfo)
    state = run(state, report_in(THIRD))
    assert state.stage == "handling"
    assert [d.kind for d in state.open_deadlines()] == ["handling", "ledger"]


def test_handling_window_skips_the_national_day_holiday() -> None:
    friday = datetime(2025, 9, 26, 9, 0, tzinfo=NOW.tzinfo)
    (event,) = decide(whistled(LEAD), report_in(LEAD), friday)
    assert isinstance(event, DepartmentReportedIn)
    # 28, 29, 30 September, then nothing until 9 October: the fifth working day is Friday 10 October.
    assert event.handling_due == datetime(2025, 10, 10, 9, 0, tzinfo=NOW.tzinfo)
    assert event.handling_due == CALENDAR.add(friday, policy().default.handling)


def test_late_report_in_is_recorded_as_not_on_time() -> None:
    (event,) = decide(whistled(LEAD), report_in(LEAD), later(hours=24, seconds=1))
    assert isinstance(event, DepartmentReportedIn)
    assert not event.on_time
    on_the_dot = decide(whistled(LEAD), report_in(LEAD), later(hours=24))[0]
    assert isinstance(on_the_dot, DepartmentReportedIn) and on_the_dot.on_time


# Declining (退单).


def test_department_declines_and_the_lead_passes_to_the_next() -> None:
    events = decide(whistled(), decline(LEAD), NOW)
    assert types(events) == ["DepartmentDeclined"]
    state = run(whistled(), decline(LEAD))
    assert state.departments[LEAD].status == "declined"
    assert state.departments[LEAD].decline_reason == "不属于本部门职责"
    assert state.lead == SECOND
    assert state.stage == "whistled"
    assert state.reroute is None


def test_last_awaited_department_declining_starts_handling_for_those_who_came() -> None:
    state = run(whistled(LEAD, SECOND), report_in(LEAD))
    (event,) = decide(state, decline(SECOND), NOW)
    assert isinstance(event, DepartmentDeclined)
    assert event.handling_due is not None and event.reroute_due is None
    assert run(state, decline(SECOND)).stage == "handling"


def test_when_every_department_declines_a_reroute_clock_starts() -> None:
    state = run(whistled(LEAD, SECOND), decline(LEAD))
    (event,) = decide(state, decline(SECOND), NOW)
    assert isinstance(event, DepartmentDeclined)
    assert event.reroute_due == later(hours=24) and event.handling_due is None
    state = run(state, decline(SECOND))
    assert state.stage == "whistled"
    assert state.lead is None
    assert [d.kind for d in state.open_deadlines()] == ["reroute"]


def test_a_new_whistle_reroutes_and_stops_the_reroute_clock() -> None:
    state = run_all(whistled(LEAD), [decline(LEAD), blow(EXTRA)])
    assert state.reroute is None
    assert state.lead == EXTRA
    assert [(d.kind, d.department) for d in state.open_deadlines()] == [("report_in", EXTRA)]


def test_department_that_reported_in_cannot_decline() -> None:
    error = rejected(run(whistled(), report_in(LEAD)), decline(LEAD))
    assert error.field == "department"


def test_department_summoned_during_handling_declining_ends_handling_when_all_else_is_done() -> None:
    state = run_all(handling(LEAD), [blow(EXTRA), complete(LEAD)])
    assert state.stage == "handling"
    events = decide(state, decline(EXTRA), NOW)
    assert types(events) == ["DepartmentDeclined", "HandlingCompleted"]
    assert run(state, decline(EXTRA)).stage == "evaluating"


def test_a_department_reporting_in_before_any_whistle_starts_handling_and_leads() -> None:
    (event,) = decide(new_case(), proactive(LEAD), NOW)
    assert isinstance(event, ProactivelyReportedIn) and event.handling_due is not None
    state = run(new_case(), proactive(LEAD))
    assert state.stage == "handling" and state.lead == LEAD and state.verify is None
    part = state.departments[LEAD]
    assert (part.status, part.proactive, part.reported_on_time, part.report_in) == ("reported_in", True, True, None)
    state = run(state, complete(LEAD))
    assert state.stage == "evaluating"


def test_a_department_joins_a_whistled_case_on_its_own_without_changing_the_stage() -> None:
    state = run(whistled(LEAD), proactive(EXTRA))
    assert state.stage == "whistled" and state.lead == LEAD
    assert state.departments[EXTRA].status == "reported_in"
    state = run(handling(LEAD), proactive(EXTRA))
    assert state.stage == "handling" and state.with_status("reported_in") == [LEAD, EXTRA]


def test_when_every_department_declined_a_proactive_one_starts_handling() -> None:
    state = run(whistled(LEAD), decline(LEAD))
    assert state.reroute is not None
    state = run(state, proactive(SECOND))
    assert state.stage == "handling" and state.reroute is None and state.lead == SECOND


def test_the_first_secretary_comes_in_person_once() -> None:
    state = run(whistled(LEAD), proactive(None))
    assert state.first_secretary_present and state.stage == "whistled"
    assert rejected(state, proactive(None)).field == "department"


@pytest.mark.parametrize(
    ("setup", "command", "field"),
    [
        (lambda: whistled(LEAD), proactive(LEAD), "department"),  # summoned: it reports in the usual way
        (lambda: handling(LEAD), proactive(LEAD), "department"),  # already working
        (lambda: new_case(), proactive("weather_bureau"), "departments"),  # unknown department
        (lambda: run(handling(LEAD), complete(LEAD)), proactive(EXTRA), "stage"),  # the resident is rating
        (lambda: whistled(LEAD), proactive(EXTRA, actor=department(SECOND)), "actor"),  # for another department
        (lambda: whistled(LEAD), proactive(None, actor=first_secretary(OTHER_FIRST_SECRETARY)), "actor"),
        (lambda: whistled(LEAD), proactive(None, actor=secretary()), "actor"),
    ],
    ids=[
        "summoned",
        "working",
        "unknown",
        "evaluating",
        "another department",
        "another first secretary",
        "the community secretary",
    ],
)
def test_proactive_report_in_refused(setup: Any, command: Command, field: str) -> None:
    assert rejected(setup(), command).field == field


def test_a_department_that_declined_may_come_back_on_its_own() -> None:
    state = run(whistled(LEAD, SECOND), decline(SECOND))
    state = run(state, proactive(SECOND))
    assert state.departments[SECOND].status == "reported_in" and state.departments[SECOND].declines == 1
