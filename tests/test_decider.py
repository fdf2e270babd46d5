"""The decider: which commands each stage allows, the events they record, and the state those events fold to."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest

from schemas.actors import Actor
from schemas.commands import Command, ReachDeadline, RecordProgress, WithdrawComplaint
from schemas.errors import CommandRejected
from schemas.events import (
    CaseClosed,
    CaseParked,
    CaseReopened,
    ComplaintFiled,
    DepartmentDeclined,
    DepartmentReportedIn,
    DirectiveIssued,
    EscalatedToFirstSecretary,
    EscalatedToStreetSecretary,
    HandlingCompleted,
    PartCompleted,
    ResidentEvaluated,
    ResolvedInGrid,
    WhistleBlown,
)
from schemas.intake import ReporterReference
from schemas.rules.decider import decide, file_complaint
from schemas.state import CaseState
from tests.domain_fixtures import (
    CALENDAR,
    DEPARTMENTS,
    FIRST_SECRETARY,
    GRID_WORKER,
    NOW,
    OTHER_FIRST_SECRETARY,
    OTHER_GRID_WORKER,
    OTHER_SECRETARY,
    RESIDENT,
    SECRETARY,
    STREET_SECRETARY,
    blow,
    complete,
    deadline,
    decline,
    department,
    evaluate,
    evaluating,
    extend,
    first_secretary,
    grid_worker,
    handling,
    later,
    make_case,
    make_intake,
    new_case,
    operator,
    order,
    park,
    policy,
    report_in,
    resident,
    resolved_in_grid,
    run,
    run_all,
    secretary,
    seeds,
    street_secretary,
    verified,
    verify,
    whistled,
)

LEAD, SECOND, THIRD = DEPARTMENTS
EXTRA = "public_security"
"""A department routing does not suggest for cooking fumes, to summon on top."""


def types(events: list[Any]) -> list[str]:
    return [event.type for event in events]


def rejected(state: CaseState, command: Command, now: datetime = NOW) -> CommandRejected:
    with pytest.raises(CommandRejected) as caught:
        decide(state, command, now)
    return caught.value


def progress(code: str) -> RecordProgress:
    return RecordProgress(actor=department(code), department=code, note="已约谈店主，限期安装油烟净化器")


def withdraw() -> WithdrawComplaint:
    return WithdrawComplaint(actor=resident(), reason="问题已自行解决")


def closed() -> CaseState:
    return run(evaluating(), evaluate("satisfied"))


# Every command in every stage: accepted (with the events it records) or refused (naming the field).

STAGES: dict[str, Callable[[], CaseState]] = {
    "discovered": new_case,
    "whistled": whistled,
    "handling": handling,
    "evaluating": evaluating,
    "closed": closed,
}
COMMANDS: dict[str, Command] = {
    "verify": verify(),
    "blow": blow(EXTRA),
    "report_in": report_in(LEAD),
    "decline": decline(LEAD),
    "progress": progress(LEAD),
    "complete": complete(LEAD),
    "evaluate": evaluate("satisfied"),
    "order": order(EXTRA),
    "extend": extend("1d"),
    "park": park(),
    "withdraw": withdraw(),
}
WITHDRAWN = ["CaseWithdrawn", "CaseClosed"]
PARKED = ["DirectiveIssued", "CaseParked", "CaseLedgered"]
EXPECTED: dict[str, dict[str, list[str] | str]] = {
    "discovered": {
        "verify": ["GridVerified"], "blow": "stage", "report_in": "department", "decline": "department",
        "progress": "department", "complete": "stage", "evaluate": "stage", "order": ["DirectiveIssued"],
        "extend": ["DirectiveIssued"], "park": PARKED, "withdraw": WITHDRAWN,
    },
    "whistled": {
        "verify": "stage", "blow": ["WhistleBlown"], "report_in": ["DepartmentReportedIn"],
        "decline": ["DepartmentDeclined"], "progress": "department", "complete": "stage", "evaluate": "stage",
        "order": ["DirectiveIssued"], "extend": ["DirectiveIssued"], "park": PARKED, "withdraw": WITHDRAWN,
    },
    "handling": {
        "verify": "stage", "blow": ["WhistleBlown"], "report_in": "department", "decline": "department",
        "progress": ["ProgressRecorded"], "complete": ["PartCompleted"], "evaluate": "stage",
        "order": ["DirectiveIssued"], "extend": ["DirectiveIssued"], "park": PARKED, "withdraw": WITHDRAWN,
    },
    "evaluating": {
        "verify": "stage", "blow": "stage", "report_in": "department", "decline": "department",
        "progress": "department", "complete": "stage", "evaluate": ["ResidentEvaluated", "CaseClosed"],
        "order": "stage", "extend": "stage", "park": "stage", "withdraw": WITHDRAWN,
    },
    "closed": dict.fromkeys(COMMANDS, "stage"),
}


@pytest.mark.parametrize("command_name", COMMANDS)
@pytest.mark.parametrize("stage", STAGES)
def test_each_command_in_each_stage_is_accepted_or_refused_by_name(stage: str, command_name: str) -> None:
    state = STAGES[stage]()
    assert state.stage == stage
    command = COMMANDS[command_name]
    expected = EXPECTED[stage][command_name]
    if isinstance(expected, str):
        assert rejected(state, command).field == expected
    else:
        assert types(decide(state, command, later(minutes=10))) == expected


# Filing and grid discovery (网格发现).


def test_filing_starts_the_grid_verification_clock() -> None:
    events = file_complaint(make_case(), NOW)
    assert types(events) == ["ComplaintFiled"]
    state = new_case()
    assert state.stage == "discovered"
    assert state.verify is not None and state.verify.due == later(hours=2)
    assert [d.kind for d in state.open_deadlines()] == ["verify"]
    assert state.escalation_level == 0


def test_urgent_complaint_runs_on_urgent_windows() -> None:
    (filed,) = file_complaint(make_case(urgency="urgent"), NOW)
    assert isinstance(filed, ComplaintFiled)
    assert filed.verify_due == later(minutes=30)


def test_grid_worker_of_the_grid_verifies_and_the_clock_keeps_running() -> None:
    events = decide(new_case(), verify(), NOW)
    assert types(events) == ["GridVerified"]
    state = run(new_case(), verify())
    assert state.verified_by == GRID_WORKER
    assert state.stage == "discovered"
    assert [d.kind for d in state.open_deadlines()] == ["verify"]


@pytest.mark.parametrize("person", [OTHER_GRID_WORKER, SECRETARY, FIRST_SECRETARY, "stranger"])
def test_only_a_grid_worker_of_the_grid_verifies(person: str) -> None:
    assert rejected(new_case(), verify(person)).field == "actor"


def test_a_verified_complaint_cannot_be_verified_again() -> None:
    error = rejected(verified(), verify("gw-hongqi-2"))
    assert error.field == "resolved_in_grid"
    assert "already verified" in error.reason


def test_small_matter_resolved_in_the_grid_goes_straight_to_evaluation() -> None:
    events = decide(new_case(), verify(resolved=True), NOW)
    assert types(events) == ["GridVerified", "ResolvedInGrid"]
    state = resolved_in_grid()
    assert state.stage == "evaluating"
    assert state.resolved_in_grid and state.verified_by == GRID_WORKER
    assert state.verify is None
    assert state.evaluation is not None and state.evaluation.due == later(days=3)
    assert [d.kind for d in state.open_deadlines()] == ["evaluation"]


def test_verified_complaint_can_still_be_resolved_in_the_grid() -> None:
    events = decide(verified(), verify("gw-hongqi-2", resolved=True), NOW)
    assert types(events) == ["ResolvedInGrid"]


def test_small_matter_path_ends_satisfied_without_any_department() -> None:
    state = run(resolved_in_grid(), evaluate("satisfied"), later(hours=5))
    assert state.stage == "closed" and state.outcome == "satisfied"
    assert state.departments == {}
    assert state.closed_at == later(hours=5)


# The community's whistle (社区吹哨).


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


# Department report-in (部门报到).


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


# Joint handling (联合处置).


def test_department_working_the_case_records_progress() -> None:
    state = run_all(handling(), [progress(LEAD), progress(LEAD)])
    assert state.departments[LEAD].progress_notes == 2


def test_department_still_to_report_in_cannot_record_progress() -> None:
    assert rejected(whistled(), progress(LEAD)).field == "department"


def test_parts_complete_one_by_one_and_the_last_asks_the_resident() -> None:
    state = run_all(handling(), [complete(LEAD), complete(SECOND)])
    assert state.stage == "handling"
    assert state.departments[LEAD].result == "已整改到位"
    events = decide(state, complete(THIRD), later(days=1))
    assert types(events) == ["PartCompleted", "HandlingCompleted"]
    assert isinstance(events[1], HandlingCompleted)
    assert events[1].evaluation_due == later(days=4)
    state = run(state, complete(THIRD), later(days=1))
    assert state.stage == "evaluating"
    assert state.handling is None
    assert [d.kind for d in state.open_deadlines()] == ["evaluation"]


def test_department_cannot_complete_its_part_twice() -> None:
    assert rejected(run(handling(), complete(LEAD)), complete(LEAD)).field == "department"


def test_completing_before_joint_handling_began_is_refused() -> None:
    assert rejected(run(whistled(), report_in(LEAD)), complete(LEAD)).field == "stage"


def test_handling_waits_for_a_department_summoned_during_handling() -> None:
    state = run_all(handling(LEAD), [blow(EXTRA), complete(LEAD)])
    assert state.stage == "handling"
    state = run_all(state, [report_in(EXTRA), complete(EXTRA)])
    assert state.stage == "evaluating"


# Resident evaluation (居民评价).


@pytest.mark.parametrize("rating", ["satisfied", "basically_satisfied"])
def test_a_content_resident_closes_the_case(rating: Any) -> None:
    state = run(evaluating(), evaluate(rating))
    assert state.stage == "closed"
    assert state.outcome == rating and state.rating == rating
    assert state.open_deadlines() == []


def test_unsatisfied_resident_reopens_handling_for_every_department() -> None:
    events = decide(evaluating(), evaluate("unsatisfied"), NOW)
    assert types(events) == ["ResidentEvaluated", "CaseReopened"]
    assert isinstance(events[1], CaseReopened)
    assert events[1].handling_due is not None and events[1].verify_due is None
    state = run(evaluating(), evaluate("unsatisfied"))
    assert state.stage == "handling"
    assert state.reopen_count == 1
    assert state.rating is None
    assert state.with_status("reported_in") == list(DEPARTMENTS)
    assert all(part.result is None for part in state.departments.values())


def test_unsatisfied_after_a_grid_resolution_sends_the_case_back_to_the_grid() -> None:
    (_, reopened) = decide(resolved_in_grid(), evaluate("unsatisfied"), NOW)
    assert isinstance(reopened, CaseReopened)
    assert reopened.verify_due == later(hours=2) and reopened.handling_due is None
    state = run(resolved_in_grid(), evaluate("unsatisfied"))
    assert state.stage == "discovered"
    assert not state.resolved_in_grid and state.verified_by is None
    assert [d.kind for d in state.open_deadlines()] == ["verify"]


def test_reopens_stop_at_the_limit_and_escalate_to_the_first_secretary() -> None:
    state = evaluating()
    for count in (1, 2):
        state = run_all(state, [evaluate("unsatisfied"), *(complete(code) for code in DEPARTMENTS)])
        assert state.reopen_count == count
    assert policy().default.max_reopens == 2
    events = decide(state, evaluate("unsatisfied"), NOW)
    assert types(events) == ["ResidentEvaluated", "EscalatedToFirstSecretary"]
    assert isinstance(events[1], EscalatedToFirstSecretary)
    assert events[1].cause == "reopen_limit" and events[1].first_secretary == FIRST_SECRETARY
    state = run(state, evaluate("unsatisfied"))
    assert state.stage == "evaluating"
    assert state.rating == "unsatisfied" and state.reopen_count == 2
    assert state.escalation_level == 1
    assert [d.kind for d in state.open_deadlines()] == ["first_secretary"]
    assert rejected(state, evaluate("satisfied")).field == "rating"


def test_first_secretary_answers_the_reopen_limit_by_ordering_departments_back() -> None:
    state = evaluating(LEAD, case=make_case(sla=policy().model_copy(update={"default": _no_reopens()})))
    state = run(state, evaluate("unsatisfied"))
    assert state.escalation_level == 1
    assert rejected(state, extend("1d")).field == "extend_by"
    state = run(state, order(LEAD, SECOND))
    assert state.stage == "whistled"
    assert state.escalation is None and state.rating is None and state.evaluation is None
    state = run_all(state, [report_in(LEAD), report_in(SECOND), complete(LEAD), complete(SECOND)])
    assert state.stage == "evaluating"


def _no_reopens() -> Any:
    return policy().default.model_copy(update={"max_reopens": 0})


# Directives from the first (or street) secretary (第一书记 / 街道党工委书记).


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


# Deadlines (时限): each clock refuses to fire early, fires at its due time, and fires once.


def _first_secretary_window() -> CaseState:
    return run(new_case(), deadline("verify"), later(hours=2))


DEADLINES: list[tuple[str, Callable[[], CaseState], Command, datetime, list[str]]] = [
    ("verify", new_case, deadline("verify"), later(hours=2), ["EscalatedToFirstSecretary"]),
    (
        "report_in", lambda: whistled(LEAD, SECOND), deadline("report_in", SECOND), later(hours=24),
        ["ReportInOverdue", "EscalatedToFirstSecretary"],
    ),
    (
        "reroute", lambda: run(whistled(LEAD), decline(LEAD)), deadline("reroute"), later(hours=24),
        ["EscalatedToFirstSecretary"],
    ),
    (
        "handling", handling, deadline("handling"), datetime(2025, 9, 28, 9, 0, tzinfo=NOW.tzinfo),
        ["HandlingOverdue", "EscalatedToFirstSecretary"],
    ),
    ("evaluation", evaluating, deadline("evaluation"), later(days=3), ["EvaluationLapsed", "CaseClosed"]),
    (
        "first_secretary", _first_secretary_window, deadline("first_secretary"), later(hours=26),
        ["EscalatedToStreetSecretary"],
    ),
]


@pytest.mark.parametrize(("kind", "setup", "command", "due", "expected"), DEADLINES, ids=[d[0] for d in DEADLINES])
def test_deadline_refuses_to_fire_early_then_fires_once_at_its_due_time(
    kind: str, setup: Callable[[], CaseState], command: Command, due: datetime, expected: list[str]
) -> None:
    state = setup()
    early = rejected(state, command, due - timedelta(seconds=1))
    assert early.field == "kind"
    assert "not due" in early.reason
    events = decide(state, command, due)
    assert types(events) == expected
    state = run(state, command, due)
    again = rejected(state, command, due + timedelta(days=30))
    if state.stage == "closed":
        assert again.field == "stage"
    else:
        assert again.field == "kind"
        assert "no open" in again.reason


@pytest.mark.parametrize(
    ("setup", "command"),
    [
        (new_case, deadline("handling")),
        (whistled, deadline("report_in")),
        (lambda: run(whistled(), report_in(LEAD)), deadline("report_in", LEAD)),
        (whistled, deadline("evaluation")),
        (whistled, deadline("first_secretary")),
        (handling, deadline("reroute")),
    ],
    ids=["handling before handling", "report-in without a department", "report-in after reporting in",
         "evaluation before evaluating", "first secretary without escalation", "reroute with departments"],
)
def test_deadline_that_is_not_running_is_refused(setup: Callable[[], CaseState], command: Command) -> None:
    assert rejected(setup(), command, later(days=60)).field == "kind"


def test_unanswered_whistle_escalates_to_the_first_secretary() -> None:
    state = run(whistled(LEAD, SECOND), report_in(LEAD))
    state = run(state, deadline("report_in", SECOND), later(hours=24))
    missed = state.departments[SECOND]
    assert missed.status == "summoned"
    assert missed.report_in is not None and missed.report_in.lapsed
    assert state.escalation is not None
    assert state.escalation.level == 1 and state.escalation.causes == ["report_in"]
    assert state.escalation.respond.due == later(hours=48)
    assert [d.kind for d in state.open_deadlines()] == ["first_secretary"]


def test_second_miss_at_level_one_keeps_the_first_secretarys_window() -> None:
    state = run(whistled(LEAD, SECOND), deadline("report_in", LEAD), later(hours=24))
    events = decide(state, deadline("report_in", SECOND), later(hours=30))
    assert isinstance(events[1], EscalatedToFirstSecretary)
    assert events[1].respond_due == later(hours=48)
    state = run(state, deadline("report_in", SECOND), later(hours=30))
    assert state.escalation is not None and state.escalation.causes == ["report_in", "report_in"]


def test_unanswered_first_secretary_escalates_to_the_street_secretary() -> None:
    state = run(_first_secretary_window(), deadline("first_secretary"), later(hours=26))
    assert state.escalation is not None
    assert state.escalation.level == 2
    assert state.escalation.causes == ["verify", "first_secretary"]
    assert state.escalation.respond.due == later(hours=26 + 48)
    assert state.open_deadlines() == []
    assert state.next_deadline == later(hours=26 + 48)


def test_further_miss_at_level_two_tells_the_street_secretary_again() -> None:
    state = run_all(_first_secretary_window(), [verify(), blow(LEAD)], later(hours=3))
    state = run(state, deadline("first_secretary"), later(hours=26))
    events = decide(state, deadline("report_in", LEAD), later(hours=27))
    assert types(events) == ["ReportInOverdue", "EscalatedToStreetSecretary"]
    assert isinstance(events[1], EscalatedToStreetSecretary)
    assert events[1].street_secretary == STREET_SECRETARY
    assert events[1].respond_due == later(hours=26 + 48)


def test_street_secretary_answers_a_level_two_escalation() -> None:
    state = run(_first_secretary_window(), deadline("first_secretary"), later(hours=26))
    state = run(state, extend("4h", by=STREET_SECRETARY), later(hours=30))
    assert state.escalation_level == 0
    assert state.verify is not None and state.verify.due == later(hours=34)


def test_verify_missed_then_whistle_still_needs_a_directive_to_lower_the_escalation() -> None:
    state = run(new_case(), verify(), later(hours=1))
    state = run(state, deadline("verify"), later(hours=2))
    state = run(state, blow(), later(hours=3))
    assert state.stage == "whistled" and state.escalation_level == 1


def test_parked_case_resolved_in_the_grid_leaves_the_long_running_list() -> None:
    parked = run(new_case(), park())
    assert parked.parked and [d.kind for d in parked.open_deadlines()] == ["ledger_review"]
    state = run(parked, verify(resolved=True))
    assert not state.parked
    assert [d.kind for d in state.open_deadlines()] == ["evaluation", "ledger_review"]
    state = run(state, deadline("evaluation"), later(days=3))
    assert state.stage == "closed" and state.outcome == "unevaluated"


def test_finished_handling_ends_the_escalation_it_answered() -> None:
    state = run(handling(), deadline("handling"), later(days=30))
    assert state.escalation_level == 1
    state = run_all(state, [complete(code) for code in state.departments], later(days=30))
    assert state.stage == "evaluating" and state.escalation_level == 0
    assert [d.kind for d in state.open_deadlines()] == ["evaluation"]


def test_unanswered_evaluation_closes_the_case_as_unevaluated() -> None:
    state = run(evaluating(), deadline("evaluation"), later(days=3))
    assert state.stage == "closed" and state.outcome == "unevaluated"
    assert state.rating is None
    assert state.open_deadlines() == [] and state.next_deadline is None


# Withdrawal and the closed case.


@pytest.mark.parametrize("stage", ["discovered", "whistled", "handling", "evaluating"])
def test_reporter_can_withdraw_at_any_open_stage(stage: str) -> None:
    state = run(STAGES[stage](), withdraw(), later(hours=1))
    assert state.stage == "closed" and state.outcome == "withdrawn"
    assert state.closed_at == later(hours=1)
    assert state.open_deadlines() == []


@pytest.mark.parametrize(
    "command",
    [*COMMANDS.values(), *(deadline(kind) for kind in ("verify", "handling", "evaluation", "first_secretary"))],
    ids=[*COMMANDS, "deadline-verify", "deadline-handling", "deadline-evaluation", "deadline-first_secretary"],
)
@pytest.mark.parametrize(
    "setup",
    [closed, lambda: run(new_case(), withdraw()), lambda: run(evaluating(), deadline("evaluation"), later(days=3))],
    ids=["satisfied", "withdrawn", "unevaluated"],
)
def test_closed_case_refuses_everything(setup: Callable[[], CaseState], command: Command) -> None:
    error = rejected(setup(), command, later(days=100))
    assert error.field == "stage"
    assert "closed" in error.reason


# The seed scenarios (seeds.yaml) play through to the outcome their path promises.


def play(seed: dict[str, Any]) -> CaseState:
    """Drive one seed scenario along its ``path`` with the people the directory names for it."""
    case = make_case(intake=make_intake(**seed["intake"]))
    people = case.context
    grid_worker = people.grid.grid_workers[0].id
    secretary = people.community.secretary.id
    first_secretary = people.community.first_secretary.id
    resident_id = case.intake.reporter.resident_actor()
    rater = resident(resident_id) if resident_id else operator()
    path: str = seed["path"]
    departments: list[str] = seed["departments"]
    now = NOW
    state = new_case(case, now)

    def step(command: Command, minutes: float = 10) -> None:
        nonlocal state, now
        now += timedelta(minutes=minutes)
        state = run(state, command, now)

    def fire(kind: Any, department: str | None = None) -> None:
        nonlocal state, now
        (due,) = [d.clock.due for d in state.open_deadlines() if d.kind == kind and d.department == department]
        now = max(now, due)
        state = run(state, deadline(kind, department), now)

    if path == "resolved_in_grid":
        step(verify(grid_worker, resolved=True))
        step(evaluate("satisfied", actor=rater))
        return state
    if path == "first_secretary_order":
        step(order(*departments, by=first_secretary))
    else:
        step(verify(grid_worker))
        step(blow(*departments, by=secretary))
    if path == "report_in_missed":
        *answered, missing = departments
        for code in answered:
            step(report_in(code))
        fire("report_in", missing)
        assert state.escalation_level == 1
        step(order(missing, by=first_secretary))
        step(report_in(missing))
    elif path == "declined":
        step(decline(departments[0]))
        for code in departments[1:]:
            step(report_in(code))
    else:
        for code in departments:
            step(report_in(code))
    assert state.stage == "handling"
    if path == "handling_overdue":
        fire("handling")
        assert state.escalation_level == 1
        step(extend("3wd", by=first_secretary))
    for code in state.with_status("reported_in"):
        step(complete(code))
    if path == "reopened":
        step(evaluate("unsatisfied", actor=rater))
        for code in state.with_status("reported_in"):
            step(complete(code))
    step(evaluate("basically_satisfied" if path == "declined" else "satisfied", actor=rater))
    return state


@pytest.mark.parametrize("seed", seeds(), ids=[seed["key"] for seed in seeds()])
def test_seed_scenario_plays_through_to_its_promised_outcome(seed: dict[str, Any]) -> None:
    state = play(seed)
    assert state.stage == "closed"
    assert state.outcome == ("basically_satisfied" if seed["path"] == "declined" else "satisfied")
    assert state.reopen_count == (1 if seed["path"] == "reopened" else 0)
    assert state.resolved_in_grid == (seed["path"] == "resolved_in_grid")


def test_resolved_in_grid_event_names_the_grid_worker() -> None:
    events = decide(new_case(), verify("gw-hongqi-2", resolved=True), NOW)
    assert isinstance(events[-1], ResolvedInGrid)
    assert events[-1].grid_worker == "gw-hongqi-2"


def test_satisfied_rating_is_recorded_before_the_close() -> None:
    evaluated, closed_event = decide(evaluating(), evaluate("satisfied"), NOW)
    assert isinstance(evaluated, ResidentEvaluated) and isinstance(closed_event, CaseClosed)
    assert closed_event.outcome == "satisfied"


def test_completed_part_records_the_result() -> None:
    (event,) = decide(handling(LEAD, SECOND), complete(LEAD), NOW)
    assert isinstance(event, PartCompleted) and event.result == "已整改到位"


# Who may act (issue 4): every command carries its actor, and the case checks it.

OTHER_COMMUNITY_GRID_WORKER = "gw-anju-1"


@pytest.mark.parametrize(
    ("actor", "why"),
    [
        (secretary(), "grid worker"),
        (grid_worker(OTHER_COMMUNITY_GRID_WORKER), "grid worker of hongqi_1"),
        (Actor(kind="department", id=GRID_WORKER), "grid worker"),
    ],
    ids=["the secretary", "another community's grid worker", "right id, wrong kind"],
)
def test_only_a_grid_worker_of_the_cases_grid_verifies(actor: Actor, why: str) -> None:
    error = rejected(new_case(), verify(actor=actor))
    assert error.field == "actor" and why in error.reason


@pytest.mark.parametrize(
    "actor", [first_secretary(), secretary(OTHER_SECRETARY), Actor(kind="grid_worker", id=SECRETARY)],
    ids=["first secretary", "another community's secretary", "right id, wrong kind"],
)
def test_only_the_cases_community_secretary_blows(actor: Actor) -> None:
    error = rejected(verified(), blow(actor=actor))
    assert error.field == "actor" and SECRETARY in error.reason


@pytest.mark.parametrize("make", [report_in, decline, complete, progress], ids=["report_in", "decline", "complete",
                                                                             "progress"])
@pytest.mark.parametrize(
    "actor", [department(SECOND), secretary(), first_secretary(), Actor(kind="resident", id=LEAD)],
    ids=["another department", "the secretary", "the first secretary", "a resident with the department's name"],
)
def test_only_the_department_itself_acts_for_it(make: Callable[..., Command], actor: Actor) -> None:
    state = handling(LEAD, SECOND) if make in (complete, progress) else whistled(LEAD, SECOND)
    if make is progress:
        command: Command = RecordProgress(actor=actor, department=LEAD, note="代为记录")
    else:
        command = make(LEAD, actor=actor)
    error = rejected(state, command)
    assert error.field == "actor" and LEAD in error.reason


@pytest.mark.parametrize("actor", [resident(), operator(), operator("op-12345-77")],
                         ids=["the resident who filed it", "a hotline operator", "any hotline operator"])
def test_the_reporter_or_a_hotline_operator_rates_and_withdraws(actor: Actor) -> None:
    assert types(decide(evaluating(), evaluate("satisfied", actor=actor), NOW)) == ["ResidentEvaluated", "CaseClosed"]
    command = WithdrawComplaint(actor=actor, reason="问题已自行解决")
    assert types(decide(whistled(), command, NOW)) == ["CaseWithdrawn", "CaseClosed"]


@pytest.mark.parametrize(
    "actor", [resident("app-99999"), secretary(), first_secretary(), Actor(kind="grid_worker", id=RESIDENT)],
    ids=["another resident", "the secretary", "the first secretary", "the resident's id, wrong kind"],
)
def test_nobody_else_rates_or_withdraws(actor: Actor) -> None:
    assert rejected(evaluating(), evaluate("satisfied", actor=actor)).field == "actor"
    assert rejected(whistled(), WithdrawComplaint(actor=actor, reason="不想办了")).field == "actor"


def test_a_case_filed_without_a_resident_id_is_rated_only_through_an_operator() -> None:
    anonymous = make_case(intake=make_intake(reporter={"name": "苏慧敏", "phone": "13000000106"}))
    state = evaluating(case=anonymous)
    assert rejected(state, evaluate("satisfied", actor=resident())).field == "actor"
    assert types(decide(state, evaluate("satisfied", actor=operator()), NOW))[0] == "ResidentEvaluated"


REFERENCE = f"pd-{'ab' * 16}"


def test_a_claim_checked_case_knows_its_resident_by_reference_only() -> None:
    """The case carries a reference, never the resident id: the resident acts as ``resident:<reference>`` (the SDK
    matches their id at the edge), and their own id, which the case no longer holds, is nobody to it."""
    checked = make_case(reporter=ReporterReference(reference=REFERENCE, resident_account=True))
    state = evaluating(case=checked)
    accepted = decide(state, evaluate("satisfied", actor=resident(REFERENCE)), NOW)
    assert types(accepted) == ["ResidentEvaluated", "CaseClosed"]
    assert rejected(state, evaluate("satisfied", actor=resident(RESIDENT))).field == "actor"
    assert types(decide(state, evaluate("satisfied", actor=operator()), NOW))[0] == "ResidentEvaluated"


def test_a_claim_checked_case_without_a_resident_account_is_rated_only_through_an_operator() -> None:
    state = evaluating(case=make_case(reporter=ReporterReference(reference=REFERENCE)))
    assert rejected(state, evaluate("satisfied", actor=resident(REFERENCE))).field == "actor"
    assert types(decide(state, evaluate("satisfied", actor=operator()), NOW))[0] == "ResidentEvaluated"


@pytest.mark.parametrize(
    "actor",
    [secretary(), street_secretary("ss-xinghe"), first_secretary(OTHER_FIRST_SECRETARY),
     Actor(kind="street_secretary", id=FIRST_SECRETARY), Actor(kind="first_secretary", id=STREET_SECRETARY)],
    ids=["the community secretary", "another street's secretary", "another community's first secretary",
         "first secretary posing as street", "street secretary posing as first"],
)
def test_only_the_cases_first_or_street_secretary_directs(actor: Actor) -> None:
    assert rejected(whistled(), order(EXTRA, by=actor)).field == "actor"


def test_only_the_workflows_timers_reach_a_deadline() -> None:
    state = whistled(LEAD)
    command = ReachDeadline(actor=first_secretary(), kind="report_in", department=LEAD)
    assert rejected(state, command, later(hours=25)).field == "actor"
    assert types(decide(state, deadline("report_in", LEAD), later(hours=25)))[0] == "ReportInOverdue"


def test_events_name_the_actor_who_acted() -> None:
    state = verified()
    assert state.verified_by == GRID_WORKER
    (whistle,) = decide(state, blow(), NOW)
    assert isinstance(whistle, WhistleBlown) and whistle.by == SECRETARY
    (directive,) = decide(whistled(), order(EXTRA, by=STREET_SECRETARY), NOW)
    assert isinstance(directive, DirectiveIssued) and directive.by == STREET_SECRETARY


# A bounded history (issue 4): a department keeps at most ``max_progress_notes`` notes per case.


def test_progress_notes_are_capped_per_department_with_a_clear_rejection() -> None:
    capped = policy().model_copy(update={"default": policy().default.model_copy(update={"max_progress_notes": 2})})
    state = run_all(handling(LEAD, SECOND, case=make_case(sla=capped)), [progress(LEAD), progress(LEAD)])
    assert state.departments[LEAD].progress_notes == 2
    error = rejected(state, progress(LEAD))
    assert error.field == "note" and "2" in error.reason
    assert types(decide(state, progress(SECOND), NOW)) == ["ProgressRecorded"]
    assert types(decide(state, complete(LEAD), NOW)) == ["PartCompleted"]



def test_missed_report_in_keeps_the_case_overdue_until_the_department_reports_in() -> None:
    state = whistled("urban_management", "market_regulation")
    due = state.departments["market_regulation"].report_in
    assert due is not None and state.overdue_since is None
    state = run(state, report_in("urban_management"), later(hours=1))
    state = run(state, deadline("report_in", "market_regulation"), later(hours=25))
    assert state.overdue_since == due.due
    assert state.watched_deadline == due.due  # what visibility shows, though the timer will not fire again
    assert state.next_deadline is not None and state.next_deadline > later(hours=25)
    state = run(state, report_in("market_regulation"), later(hours=26))
    assert state.overdue_since is None and state.stage == "handling"
