"""Joint handling (联合处置), and the bounded number of progress notes a department keeps."""

from __future__ import annotations

from schemas.events import (
    HandlingCompleted,
)
from schemas.rules.decider import decide
from tests.domain_fixtures import (
    NOW,
    blow,
    complete,
    deadline,
    handling,
    later,
    make_case,
    policy,
    report_in,
    run,
    run_all,
    whistled,
)
from tests.rules.helpers import (
    EXTRA,
    LEAD,
    SECOND,
    THIRD,
    progress,
    rejected,
    types,
)


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
