"""The community's whistle (社区吹哨) and its grades (蓝/黄/红哨)."""

from __future__ import annotations

import pytest

from schemas.actors import Actor
from schemas.commands import (
    Grade,
    RaiseGrade,
    Seniority,
)
from schemas.events import (
    WhistleBlown,
    WhistleGradeRaised,
)
from schemas.intake import ComplaintInput
from schemas.rules.decider import decide
from tests.domain_fixtures import (
    DEPARTMENTS,
    FIRST_SECRETARY,
    GRID_WORKER,
    NOW,
    OTHER_SECRETARY,
    STREET_SECRETARY,
    blow,
    deadline,
    decline,
    handling,
    later,
    new_case,
    report_in,
    run,
    secretary,
    verified,
    whistled,
)
from tests.rules.helpers import (
    EXTRA,
    LEAD,
    SECOND,
    case_with,
    folds,
    graded,
    rejected,
    senior_report_in,
    types,
)


def test_whistle_summons_each_department_with_a_report_in_clock() -> None:
    state = verified()
    (event,) = decide(state, blow(), NOW)
    assert isinstance(event, WhistleBlown)
    assert event.lead == LEAD and event.report_in_due == later(hours=24)
    state = run(state, blow())
    assert state.stage == "whistled"
    assert state.verify is None
    assert state.with_status("summoned") == list(DEPARTMENTS)
    assert [(d.kind, d.department) for d in state.open_deadlines()] == [("report_in", code) for code in DEPARTMENTS]


def test_whistle_may_name_a_lead_other_than_the_first() -> None:
    assert run(verified(), blow(LEAD, SECOND, lead=SECOND)).lead == SECOND


def test_whistle_before_the_grid_worker_verified_is_refused() -> None:
    error = rejected(new_case(), blow())
    assert error.field == "stage"
    assert "verify" in error.reason


@pytest.mark.parametrize("person", [FIRST_SECRETARY, STREET_SECRETARY, GRID_WORKER, OTHER_SECRETARY])
def test_only_the_community_secretary_blows_the_whistle(person: str) -> None:
    assert rejected(verified(), blow(by=person)).field == "actor"


def test_whistle_naming_an_unknown_department_is_refused() -> None:
    assert rejected(verified(), blow("weather_bureau")).field == "departments"


def test_whistle_cannot_summon_a_department_already_on_the_case() -> None:
    error = rejected(whistled(LEAD), blow(LEAD))
    assert error.field == "departments"
    assert LEAD in error.reason


def test_whistle_can_summon_again_a_department_that_declined() -> None:
    state = run(whistled(LEAD, SECOND), decline(SECOND))
    state = run(state, blow(SECOND))
    assert state.departments[SECOND].status == "summoned"
    assert state.departments[SECOND].declines == 1


def test_whistle_during_handling_adds_a_department_without_leaving_handling() -> None:
    state = run(handling(LEAD), blow(EXTRA))
    assert state.stage == "handling"
    assert state.lead == LEAD
    assert state.departments[EXTRA].status == "summoned"
    assert ("report_in", EXTRA) in [(d.kind, d.department) for d in state.open_deadlines()]


@pytest.mark.parametrize(("grade", "hours"), [("blue", 24), ("yellow", 12), ("red", 4)])
def test_a_graded_whistle_sets_its_report_in_window(grade: Grade, hours: int) -> None:
    (event,) = decide(verified(), graded(grade), NOW)
    assert event.type == "WhistleBlown" and event.grade == grade
    assert event.report_in_due == later(hours=hours)
    state = run(verified(), graded(grade))
    assert state.departments[LEAD].grade == grade


@pytest.mark.parametrize(
    ("grade", "seniority", "allowed"),
    [
        ("blue", "section_head", True),
        ("yellow", "section_head", False),
        ("yellow", "deputy_head", True),
        ("yellow", "head", True),
        ("red", "deputy_head", False),
        ("red", "head", True),
    ],
)
def test_report_in_below_the_grades_seniority_is_refused(grade: Grade, seniority: Seniority, allowed: bool) -> None:
    state = run(verified(), graded(grade))
    command = senior_report_in(LEAD, seniority)
    if allowed:
        (event,) = decide(state, command, NOW)
        assert event.type == "DepartmentReportedIn" and event.seniority == seniority
        assert run(state, command).departments[LEAD].seniority == seniority
    else:
        error = rejected(state, command)
        assert error.field == "seniority" and grade in error.reason


def test_a_missed_report_in_raises_the_grade_once_then_escalates_when_the_policy_says() -> None:
    state = run(verified(make_case_raising()), graded("blue", LEAD))
    overdue, raised = decide(state, deadline("report_in", LEAD), later(hours=24))
    assert isinstance(raised, WhistleGradeRaised) and raised.grade == "yellow"
    assert raised.report_in_due == later(hours=36)
    state = folds(state, [overdue, raised])
    part = state.departments[LEAD]
    assert (part.grade, part.grade_raised, part.status) == ("yellow", True, "summoned")
    assert state.escalation_level == 0
    assert [(d.kind, d.clock.due) for d in state.open_deadlines()] == [("report_in", later(hours=36))]
    assert rejected(state, report_in(LEAD), later(hours=30)).field == "seniority"
    events = decide(state, deadline("report_in", LEAD), later(hours=36))
    assert types(events) == ["ReportInOverdue", "EscalatedToFirstSecretary"]


def make_case_raising() -> ComplaintInput:
    return case_with(raise_grade_on_miss=True)


def test_a_red_whistle_missed_escalates_at_once() -> None:
    state = run(verified(make_case_raising()), graded("red", LEAD))
    events = decide(state, deadline("report_in", LEAD), later(hours=4))
    assert types(events) == ["ReportInOverdue", "EscalatedToFirstSecretary"]


def test_without_the_policy_a_missed_report_in_escalates_as_before() -> None:
    events = decide(whistled(LEAD), deadline("report_in", LEAD), later(hours=24))
    assert types(events) == ["ReportInOverdue", "EscalatedToFirstSecretary"]


# 升哨: the community secretary raises the whistle for a department still to report in.


def raise_to(grade: Grade, code: str = LEAD, actor: Actor | None = None) -> RaiseGrade:
    return RaiseGrade(actor=actor or secretary(), department=code, grade=grade)


@pytest.mark.parametrize(("grade", "hours"), [("yellow", 12), ("red", 4)])
def test_the_secretary_raises_the_whistle_for_a_department_still_to_report_in(grade: Grade, hours: int) -> None:
    state = whistled(LEAD)
    [raised] = decide(state, raise_to(grade), later(hours=1))
    assert isinstance(raised, WhistleGradeRaised)
    assert (raised.department, raised.grade, raised.report_in_due) == (LEAD, grade, later(hours=1 + hours))
    part = folds(state, [raised]).departments[LEAD]
    assert (part.grade, part.grade_raised) == (grade, True)
    assert part.report_in is not None and part.report_in.due == later(hours=1 + hours)


def test_a_raise_is_refused_naming_the_field() -> None:
    state = whistled(LEAD, SECOND)
    reported = run(state, report_in(LEAD))
    assert rejected(reported, raise_to("red", LEAD)).field == "department"  # it came already
    assert rejected(state, raise_to("red", EXTRA)).field == "department"  # never summoned
    assert rejected(run(verified(), graded("yellow")), raise_to("yellow")).field == "grade"  # not above
    once = run(state, raise_to("yellow"))
    assert rejected(once, raise_to("red")).field == "grade"  # once per department
    assert rejected(state, raise_to("red", actor=secretary(OTHER_SECRETARY))).field == "actor"
    assert rejected(verified(), raise_to("red")).field == "stage"
