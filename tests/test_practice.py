"""The decider on the practice around the five stages (issue 6): graded whistles, proactive report-in,
extensions, the long-running ledger and the community's rating of departments. Every command allowed and
refused, and the state the events fold to."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from schemas.actors import Actor
from schemas.commands import (
    AnswerExtension,
    AskResident,
    BlowWhistle,
    Command,
    Grade,
    ProposeTermination,
    RateDepartment,
    ReportIn,
    ReportInProactively,
    RequestExtension,
    ResidentAnswer,
    ReviewResults,
    ReviewTermination,
    RuleResponsibility,
    Score,
    Seniority,
)
from schemas.common import parse_duration
from schemas.errors import CommandRejected
from schemas.events import (
    CaseLedgered,
    ClocksPaused,
    ClocksResumed,
    DepartmentRated,
    EscalatedToFirstSecretary,
    ExtensionApproved,
    ExtensionRefused,
    ExtensionRequested,
    LedgerReviewReminded,
    ProactivelyReportedIn,
    ResponsibilityDisputed,
    ResponsibilityRuled,
    TerminationRefused,
    WhistleGradeRaised,
)
from schemas.fold import apply, fold
from schemas.intake import ComplaintInput
from schemas.rules.decider import decide, file_complaint
from schemas.state import CaseState
from tests.domain_fixtures import (
    DEPARTMENTS,
    FIRST_SECRETARY,
    NOW,
    OTHER_FIRST_SECRETARY,
    SECRETARY,
    STREET_SECRETARY,
    blow,
    complete,
    deadline,
    decline,
    department,
    evaluate,
    extend,
    first_secretary,
    grid_worker,
    handling,
    later,
    make_case,
    new_case,
    operator,
    park,
    policy,
    report_in,
    resident,
    run,
    run_all,
    secretary,
    street_secretary,
    verified,
    verify,
    whistled,
)

LEAD, SECOND, THIRD = DEPARTMENTS
EXTRA = "public_security"


def types(events: list[Any]) -> list[str]:
    return [event.type for event in events]


def rejected(state: CaseState, command: Command, now: Any = NOW) -> CommandRejected:
    with pytest.raises(CommandRejected) as caught:
        decide(state, command, now)
    return caught.value


def case_with(**changes: Any) -> ComplaintInput:
    """The usual case under the shipped policy with some default keys changed."""
    sla = policy().model_copy(update={"default": policy().default.model_copy(update=changes)})
    return make_case(sla=sla)


def graded(grade: Grade, *codes: str) -> BlowWhistle:
    return BlowWhistle(actor=secretary(), departments=list(codes or [LEAD]), grade=grade)


def senior_report_in(code: str, seniority: Seniority) -> ReportIn:
    return ReportIn(actor=department(code), department=code, officer="王局长", seniority=seniority)


def proactive(code: str | None = LEAD, *, actor: Actor | None = None) -> ReportInProactively:
    if actor is None:
        actor = department(code) if code else first_secretary()
    return ReportInProactively(actor=actor, department=code, officer="李科长")


def ask_more_time(code: str = LEAD, span: str = "2d") -> RequestExtension:
    return RequestExtension(actor=department(code), department=code, extend_by=parse_duration(span),
                            reason="需协调燃气公司停气施工")


def answer(approve: bool, *, actor: Actor | None = None) -> AnswerExtension:
    return AnswerExtension(actor=actor or first_secretary(), approve=approve, note="同意" if approve else "不同意")


def rate(code: str, result: Score = "good", *, in_person: bool = True, actor: Actor | None = None) -> RateDepartment:
    return RateDepartment(actor=actor or secretary(), department=code, in_person=in_person, result=result)


def folds(state: CaseState, events: list[Any]) -> CaseState:
    """Apply ``events`` and check the fold of the whole stream agrees (fold(events) == state)."""
    for event in events:
        state = apply(state, event)
    return state


# 1. Graded whistles (蓝/黄/红哨).


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
        ("blue", "section_head", True), ("yellow", "section_head", False), ("yellow", "deputy_head", True),
        ("yellow", "head", True), ("red", "deputy_head", False), ("red", "head", True),
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


# 9. Reporting in without waiting for the whistle (不等吹哨、主动报到).


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
    ids=["summoned", "working", "unknown", "evaluating", "another department", "another first secretary",
         "the community secretary"],
)
def test_proactive_report_in_refused(setup: Any, command: Command, field: str) -> None:
    assert rejected(setup(), command).field == field


def test_a_department_that_declined_may_come_back_on_its_own() -> None:
    state = run(whistled(LEAD, SECOND), decline(SECOND))
    state = run(state, proactive(SECOND))
    assert state.departments[SECOND].status == "reported_in" and state.departments[SECOND].declines == 1


# 2. Extensions (延期).


def test_a_working_department_asks_for_more_time_and_the_first_secretary_approves() -> None:
    state = handling(LEAD)
    (asked,) = decide(state, ask_more_time(), later(hours=1))
    assert isinstance(asked, ExtensionRequested)
    assert asked.approver == FIRST_SECRETARY and asked.answer_due == later(hours=25)
    state = run(state, ask_more_time(), later(hours=1))
    assert state.extension is not None
    assert ("extension", later(hours=25)) in [(d.kind, d.clock.due) for d in state.open_deadlines()]
    assert state.handling is not None
    before = state.handling.due
    (approved,) = decide(state, answer(True), later(hours=2))
    assert isinstance(approved, ExtensionApproved)
    assert approved.handling_due == before + timedelta(days=2)
    state = run(state, answer(True), later(hours=2))
    assert state.extension is None and state.handling is not None and state.handling.due == before + timedelta(days=2)


def test_a_refused_extension_leaves_the_deadline() -> None:
    state = run(handling(LEAD), ask_more_time())
    due = state.handling.due if state.handling else None
    (refused,) = decide(state, answer(False), NOW)
    assert isinstance(refused, ExtensionRefused) and not refused.lapsed and refused.by == FIRST_SECRETARY
    state = run(state, answer(False))
    assert state.extension is None and state.handling is not None and state.handling.due == due


def test_an_unanswered_extension_counts_as_refused_and_escalates() -> None:
    state = run(handling(LEAD), ask_more_time())
    refused, escalated = decide(state, deadline("extension"), later(hours=24))
    assert isinstance(refused, ExtensionRefused) and refused.lapsed
    assert isinstance(escalated, EscalatedToFirstSecretary) and escalated.cause == "extension"
    state = folds(state, [refused, escalated])
    assert state.extension is None and state.escalation_level == 1


def test_the_policy_names_who_answers() -> None:
    state = run(handling(LEAD, case=case_with(extension_approver="community_secretary")), ask_more_time())
    assert state.extension is not None and state.extension.approver == SECRETARY
    assert rejected(state, answer(True)).field == "actor"
    assert types(decide(state, answer(True, actor=secretary()), NOW)) == ["ExtensionApproved"]


@pytest.mark.parametrize(
    ("setup", "command", "field"),
    [
        (lambda: whistled(LEAD), ask_more_time(), "stage"),
        (lambda: handling(LEAD, SECOND), RequestExtension(actor=department(SECOND), department=LEAD,
                                                          extend_by=parse_duration("1d"), reason="代为申请"), "actor"),
        (lambda: run(handling(LEAD, SECOND), complete(SECOND)), ask_more_time(SECOND), "department"),
        (lambda: run(handling(LEAD, SECOND), ask_more_time()), ask_more_time(SECOND), "department"),
        (lambda: run(handling(LEAD), park()), ask_more_time(), "stage"),
        (lambda: handling(LEAD), answer(True), "approve"),
        (lambda: run(handling(LEAD), ask_more_time()), answer(True, actor=first_secretary(OTHER_FIRST_SECRETARY)),
         "actor"),
        (lambda: run(handling(LEAD), ask_more_time()), answer(True, actor=street_secretary()), "actor"),
    ],
    ids=["not handling", "for another department", "part done", "one request at a time", "parked",
         "nothing to answer", "another first secretary", "not the approver"],
)
def test_extension_refused(setup: Any, command: Command, field: str) -> None:
    assert rejected(setup(), command).field == field


def test_finishing_the_work_drops_a_pending_request() -> None:
    state = run_all(handling(LEAD), [ask_more_time(), complete(LEAD)])
    assert state.stage == "evaluating" and state.extension is None
    assert "extension" not in [d.kind for d in state.open_deadlines()]


# 7. The long-running ledger (挂账).


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


# 8. Two-way rating (双考核).


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
    assert {"ProactivelyReportedIn", "WhistleGradeRaised", "ExtensionApproved", "DepartmentRated", "CaseLedgered",
            "LedgerReviewReminded"} <= {event.type for event in events}


# 5. Review before evaluation (审核).


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
        (lambda: run(handling(LEAD, case=reviewed_case()), complete(LEAD)), review(True, actor=first_secretary()),
         "actor"),
        (lambda: run(handling(LEAD, case=reviewed_case()), complete(LEAD)), blow(EXTRA), "stage"),
        (lambda: run(handling(LEAD, case=reviewed_case()), complete(LEAD)), proactive(EXTRA), "stage"),
        (lambda: run(handling(LEAD, case=reviewed_case()), complete(LEAD)), ask_more_time(), "stage"),
    ],
    ids=["nothing submitted", "not the community secretary", "no whistle under review",
         "no joining under review", "no extension under review"],
)
def test_review_refused(setup: Any, command: Command, field: str) -> None:
    assert rejected(setup(), command).field == field


def test_a_rejected_review_needs_a_reason() -> None:
    with pytest.raises(ValueError, match="reason"):
        ReviewResults(actor=secretary(), approve=False)


# 6. Reviewed termination and closure reasons (终止办理).


def propose(reason: Any = "duplicate", *, actor: Actor | None = None) -> ProposeTermination:
    return ProposeTermination(actor=actor or secretary(), reason=reason, note="与12345工单HOTLINE-1重复")


def decide_termination(approve: bool, *, actor: Actor | None = None) -> ReviewTermination:
    return ReviewTermination(actor=actor or first_secretary(), approve=approve)


@pytest.mark.parametrize("reason", ["not_our_responsibility", "duplicate", "unreasonable_demand",
                                    "resident_unreachable"])
def test_an_approved_termination_closes_the_case_with_its_reason(reason: str) -> None:
    state = run(whistled(LEAD), propose(reason))
    assert state.termination is not None and state.termination.reviewer == FIRST_SECRETARY
    assert ("termination", later(hours=48)) in [(d.kind, d.clock.due) for d in state.open_deadlines()]
    events = decide(state, decide_termination(True), NOW)
    assert types(events) == ["TerminationApproved", "CaseClosed"]
    state = folds(state, events)
    assert (state.stage, state.outcome, state.closure_reason) == ("closed", "terminated", reason)


def test_a_refused_or_unanswered_termination_lets_the_case_go_on() -> None:
    state = run(whistled(LEAD), propose())
    (refused,) = decide(state, decide_termination(False, actor=street_secretary()), NOW)
    assert refused.type == "TerminationRefused" and refused.by == STREET_SECRETARY
    assert run(state, decide_termination(False)).termination is None
    (lapsed,) = decide(state, deadline("termination"), later(hours=48))
    assert isinstance(lapsed, TerminationRefused) and lapsed.lapsed
    state = apply(state, lapsed)
    assert state.termination is None and state.stage == "whistled"


def test_a_parked_case_can_still_be_terminated() -> None:
    state = run_all(handling(LEAD), [park(), propose("resident_unreachable")])
    assert "termination" in [d.kind for d in state.open_deadlines()]
    assert run(state, decide_termination(True)).outcome == "terminated"


@pytest.mark.parametrize(
    ("setup", "command", "field"),
    [
        (lambda: whistled(LEAD), decide_termination(True), "approve"),
        (lambda: run(whistled(LEAD), propose()), propose(), "reason"),
        (lambda: whistled(LEAD), propose(actor=first_secretary()), "actor"),
        (lambda: run(whistled(LEAD), propose()), decide_termination(True, actor=secretary()), "actor"),
        (lambda: run(whistled(LEAD), propose()), decide_termination(True, actor=first_secretary(OTHER_FIRST_SECRETARY)),
         "actor"),
        (lambda: run_all(handling(LEAD), [complete(LEAD), evaluate("satisfied")]), propose(), "stage"),
    ],
    ids=["nothing proposed", "twice", "not the community secretary proposes", "the secretary reviews own proposal",
         "another first secretary", "closed"],
)
def test_termination_refused(setup: Any, command: Command, field: str) -> None:
    assert rejected(setup(), command).field == field


# 4. Disputed responsibility (职责争议).


def disputing() -> ComplaintInput:
    return case_with(rule_disputes=True)


def ruling(*codes: str, actor: Actor | None = None) -> RuleResponsibility:
    return RuleResponsibility(actor=actor or street_secretary(), departments=list(codes), note="经街道协调会裁定")


def all_declined() -> CaseState:
    return run_all(whistled(LEAD, SECOND, case=disputing()), [decline(LEAD), decline(SECOND)])


def test_when_every_department_declined_the_street_office_rules_with_its_own_deadline() -> None:
    state = run(whistled(LEAD, SECOND, case=disputing()), decline(LEAD))
    declined, disputed = decide(state, decline(SECOND), NOW)
    assert isinstance(disputed, ResponsibilityDisputed)
    assert (disputed.street_secretary, disputed.declines) == (STREET_SECRETARY, {LEAD: 1, SECOND: 1})
    assert disputed.ruling_due == later(hours=48)
    state = folds(state, [declined, disputed])
    assert state.reroute is None and state.dispute is not None
    assert [d.kind for d in state.open_deadlines()] == ["ruling"]


def test_the_ruling_summons_the_departments_named_and_they_may_not_decline() -> None:
    (event,) = decide(all_declined(), ruling(SECOND, EXTRA), NOW)
    assert isinstance(event, ResponsibilityRuled) and event.lead == SECOND and event.by == STREET_SECRETARY
    state = run(all_declined(), ruling(SECOND, EXTRA))
    assert state.dispute is None and state.lead == SECOND
    assert state.with_status("summoned") == [SECOND, EXTRA]
    assert state.departments[SECOND].declines == 1 and state.departments[SECOND].ruled
    error = rejected(state, decline(SECOND))
    assert error.field == "department" and "ruled" in error.reason
    state = run_all(state, [report_in(SECOND), report_in(EXTRA)])
    assert state.stage == "handling"


def test_a_missed_ruling_escalates() -> None:
    (event,) = decide(all_declined(), deadline("ruling"), later(hours=48))
    assert isinstance(event, EscalatedToFirstSecretary) and event.cause == "ruling"
    state = apply(all_declined(), event)
    assert state.dispute is not None and state.dispute.lapsed and state.escalation_level == 1


def test_the_community_may_still_reroute_a_disputed_case() -> None:
    state = run(all_declined(), blow(EXTRA))
    assert state.dispute is None and state.with_status("summoned") == [EXTRA]


@pytest.mark.parametrize(
    ("setup", "command", "field"),
    [
        (lambda: whistled(LEAD, case=disputing()), ruling(SECOND), "departments"),  # no dispute
        (all_declined, ruling(SECOND, actor=first_secretary()), "actor"),
        (all_declined, ruling(SECOND, actor=street_secretary("ss-xinghe")), "actor"),
        (all_declined, ruling("weather_bureau"), "departments"),
    ],
    ids=["no dispute", "the first secretary", "another street's secretary", "unknown department"],
)
def test_ruling_refused(setup: Any, command: Command, field: str) -> None:
    assert rejected(setup(), command).field == field


def test_without_the_policy_the_community_reroutes_as_before() -> None:
    state = run_all(whistled(LEAD), [decline(LEAD)])
    assert state.reroute is not None and state.dispute is None


# 3. Paused clocks: waiting on the resident.


def ask(actor: Actor | None = None) -> AskResident:
    return AskResident(actor=actor or grid_worker(), reason="需入户查看管线，请居民约定时间")


def answered(actor: Actor | None = None) -> ResidentAnswer:
    return ResidentAnswer(actor=actor or resident(), note="周六上午在家")


def test_waiting_on_the_resident_stops_the_clocks_and_the_answer_moves_them() -> None:
    state = whistled(LEAD)
    (paused,) = decide(state, ask(), later(hours=2))
    assert isinstance(paused, ClocksPaused) and paused.resume_due == later(days=7, hours=2)
    state = apply(state, paused)
    assert [d.kind for d in state.open_deadlines()] == ["pause"]
    (resumed,) = decide(state, answered(), later(hours=12))
    assert isinstance(resumed, ClocksResumed) and resumed.paused_seconds == 10 * 3600 and not resumed.lapsed
    assert resumed.new_dues == {f"report_in:{LEAD}": later(hours=34)}
    state = apply(state, resumed)
    assert state.pause is None and state.paused_seconds == 10 * 3600
    clock = state.departments[LEAD].report_in
    assert clock is not None and (clock.start, clock.due) == (later(hours=10), later(hours=34))


def test_a_clock_started_during_the_pause_moves_only_by_its_own_wait() -> None:
    state = run(whistled(LEAD), ask(), later(hours=1))
    state = run(state, report_in(LEAD), later(hours=3))  # handling starts mid-pause
    assert state.handling is not None
    handling_due = state.handling.due
    (resumed,) = decide(state, answered(), later(hours=5))
    assert isinstance(resumed, ClocksResumed)
    assert resumed.new_dues["handling"] == handling_due + timedelta(hours=2)


def test_the_total_pause_is_bounded() -> None:
    state = run(whistled(LEAD), ask(), NOW)
    (lapsed,) = decide(state, deadline("pause"), later(days=7))
    assert isinstance(lapsed, ClocksResumed) and lapsed.lapsed
    state = apply(state, lapsed)
    assert state.paused_seconds == 7 * 86400
    error = rejected(state, ask(), later(days=7, hours=1))
    assert error.field == "reason" and "whole pause" in error.reason


def test_the_allowance_is_shared_by_every_pause() -> None:
    state = run_all(whistled(LEAD), [ask()], NOW)
    state = run(state, answered(), later(days=3))
    (paused,) = decide(state, ask(), later(days=3, hours=1))
    assert isinstance(paused, ClocksPaused) and paused.resume_due == later(days=7, hours=1)


@pytest.mark.parametrize(
    ("setup", "command", "field"),
    [
        (lambda: whistled(LEAD), answered(), "note"),  # not waiting
        (lambda: run(whistled(LEAD), ask()), ask(), "reason"),  # already waiting
        (lambda: evaluating_case(), ask(), "stage"),
        (lambda: whistled(LEAD), ask(first_secretary()), "actor"),
        (lambda: whistled(LEAD), ask(department(SECOND)), "actor"),  # a department not on the case
        (lambda: run(whistled(LEAD), ask()), answered(resident("app-99999")), "actor"),
    ],
    ids=["not waiting", "twice", "while rating", "first secretary", "department not on the case",
         "another resident"],
)
def test_pause_refused(setup: Any, command: Command, field: str) -> None:
    assert rejected(setup(), command).field == field


def evaluating_case() -> CaseState:
    return run(handling(LEAD), complete(LEAD))


def test_a_department_on_the_case_or_the_secretary_may_ask_and_an_operator_may_answer() -> None:
    state = run(whistled(LEAD), ask(department(LEAD)))
    assert state.pause is not None
    assert run(state, answered(operator())).pause is None
    assert run(whistled(LEAD), ask(secretary())).pause is not None


def test_a_parked_case_waiting_on_the_resident_still_resumes_when_the_allowance_runs_out() -> None:
    state = run_all(whistled(LEAD), [ask(), park()])
    assert ("pause", later(days=7)) in [(d.kind, d.clock.due) for d in state.open_deadlines()]
    (resumed,) = decide(state, deadline("pause"), later(days=7))
    assert isinstance(resumed, ClocksResumed) and resumed.lapsed and resumed.paused_seconds == 7 * 86400
