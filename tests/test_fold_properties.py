"""Properties of decide and fold over any run of a case: plausible commands (valid or not) and deadline firings.

Time moves the way the workflow moves it: when the clock advances, every open deadline that falls due on the
way fires at its own due time, earliest first, exactly as the workflow's timers would fire them.

Past 300 lines: one state machine of plausible commands and firings, with its invariants.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schemas.actors import SYSTEM, Actor
from schemas.commands import (
    SENIORITY_RANK,
    AnswerExtension,
    AskResident,
    BlowWhistle,
    Command,
    CompletePart,
    DeclineCase,
    EvaluateOutcome,
    IssueDirective,
    ProposeTermination,
    RateDepartment,
    ReachDeadline,
    RecordFollowUp,
    RecordProgress,
    ReportIn,
    ReportInProactively,
    RequestExtension,
    ResidentAnswer,
    ReviewResults,
    ReviewTermination,
    RuleResponsibility,
    VerifyComplaint,
    WithdrawComplaint,
)
from schemas.common import parse_duration
from schemas.errors import CommandRejected
from schemas.events import Event
from schemas.fold import apply, fold
from schemas.intake import ComplaintInput
from schemas.rules import follow_up
from schemas.rules.decider import decide, file_complaint
from schemas.state import PAUSED_KINDS, CaseState
from tests.domain_fixtures import (
    FIRST_SECRETARY,
    GRID_WORKER,
    NOW,
    OTHER_FIRST_SECRETARY,
    OTHER_GRID_WORKER,
    RESIDENT,
    SECRETARY,
    STREET_SECRETARY,
    apply_all,
    demo_policy,
    first_secretary,
    grid_worker,
    make_case,
    operator,
    policy,
    resident,
    secretary,
    street_secretary,
)
from tests.fuzzing import examples

PEOPLE = [GRID_WORKER, "gw-hongqi-2", OTHER_GRID_WORKER, SECRETARY, FIRST_SECRETARY, STREET_SECRETARY,
          OTHER_FIRST_SECRETARY]
CODES = ["urban_management", "market_regulation", "justice_office", "public_security", "weather_bureau"]
"""The enforcement team, a department routing does not suggest, and one the directory does not know."""


@dataclass(frozen=True)
class Advance:
    """Let time pass; deadlines falling due on the way fire."""

    by: timedelta


Step = Command | Advance


KINDS = ["grid_worker", "community_secretary", "department", "first_secretary", "street_secretary", "resident",
         "operator"]


def actor(usual: Actor) -> st.SearchStrategy[Actor]:
    """Mostly the actor who may do it, sometimes anyone else as any kind."""
    anyone = st.builds(Actor, kind=st.sampled_from(KINDS), id=st.sampled_from([*PEOPLE, *CODES, RESIDENT]))
    return st.one_of(st.just(usual), st.just(usual), st.just(usual), anyone)


DepartmentCommand = type[ReportIn | DeclineCase | RecordProgress | CompletePart]


def departments_acting(
    make: DepartmentCommand, department: st.SearchStrategy[str], **fields: st.SearchStrategy[str]
) -> st.SearchStrategy[Command]:
    """A department command, mostly sent by the department itself."""
    return department.flatmap(
        lambda code: st.builds(make, actor=actor(Actor(kind="department", id=code)), department=st.just(code), **fields)
    )


any_department = st.sampled_from(CODES)
some_departments = st.lists(any_department, min_size=1, max_size=3, unique=True)
notes = st.sampled_from(["已现场查看", "已约谈店主", "整改中"])


def on_case(state: CaseState) -> st.SearchStrategy[str]:
    """Mostly a department already on the case, sometimes any (suggested, not suggested or unknown)."""
    if not state.departments:
        return any_department
    summoned = st.sampled_from(list(state.departments))
    return st.one_of(summoned, summoned, any_department)


grades = st.sampled_from(["blue", "blue", "yellow", "red"])
seniorities = st.sampled_from(["section_head", "section_head", "deputy_head", "head"])


@st.composite
def whistles(draw: st.DrawFn) -> BlowWhistle:
    summoned = draw(some_departments)
    lead = draw(st.one_of(st.none(), st.sampled_from(summoned)))
    return BlowWhistle(actor=draw(actor(secretary())), departments=summoned, lead=lead, grade=draw(grades))


@st.composite
def practice(draw: st.DrawFn, department: st.SearchStrategy[str]) -> Command:
    """The commands around the stages: proactive report-in, extensions asked and answered, the community's rating."""
    code = draw(department)
    choice = draw(st.sampled_from(["proactive", "first_secretary", "ask", "answer", "rate", "review", "propose",
                                   "terminate", "rule", "ask", "answer_resident"]))
    if choice == "ask":
        return AskResident(actor=draw(actor(grid_worker())), reason="需入户查看")
    if choice == "answer_resident":
        return ResidentAnswer(actor=draw(actor(resident())))
    if choice == "rule":
        return RuleResponsibility(actor=draw(actor(street_secretary())), departments=[code])
    if choice == "review":
        approve = draw(st.booleans())
        return ReviewResults(actor=draw(actor(secretary())), approve=approve, reason="" if approve else "未整改到位")
    if choice == "propose":
        reason = draw(st.sampled_from(["duplicate", "resident_unreachable"]))
        return ProposeTermination(actor=draw(actor(secretary())), reason=reason, note="已核实")
    if choice == "terminate":
        return ReviewTermination(actor=draw(actor(first_secretary())), approve=draw(st.sampled_from([False, False,
                                                                                                       True])))
    if choice == "proactive":
        return ReportInProactively(actor=draw(actor(Actor(kind="department", id=code))), department=code,
                                   officer="李科长", seniority=draw(seniorities))
    if choice == "first_secretary":
        return ReportInProactively(actor=draw(actor(first_secretary())), officer="孙书记")
    if choice == "ask":
        span = draw(st.sampled_from(["2h", "1d", "2wd"]))
        return RequestExtension(actor=draw(actor(Actor(kind="department", id=code))), department=code,
                                extend_by=parse_duration(span), reason="需要协调")
    if choice == "answer":
        return AnswerExtension(actor=draw(actor(first_secretary())), approve=draw(st.booleans()))
    return RateDepartment(actor=draw(actor(secretary())), department=code, in_person=draw(st.booleans()),
                          result=draw(st.sampled_from(["good", "fair", "poor"])))


@st.composite
def directives(draw: st.DrawFn, department: st.SearchStrategy[str]) -> IssueDirective:
    by = draw(st.one_of(actor(first_secretary()), st.just(street_secretary())))
    kind = draw(st.sampled_from(["order", "extend", "park"]))
    if kind == "order":
        return IssueDirective(actor=by, kind="order", departments=draw(st.lists(department, min_size=1, max_size=2,
                                                                              unique=True)))
    if kind == "extend":
        span = draw(st.sampled_from(["30m", "2h", "1d", "2wd"]))
        return IssueDirective(actor=by, kind="extend", extend_by=parse_duration(span))
    return IssueDirective(actor=by, kind="park")


def commands_for(state: CaseState) -> st.SearchStrategy[Command]:
    """Any command an actor might send now, aimed mostly at this case's people and departments."""
    department = on_case(state)
    return st.one_of(
        st.builds(
            VerifyComplaint, actor=actor(grid_worker()), resolved_in_grid=st.sampled_from([False, False, True])
        ),
        whistles(),
        departments_acting(ReportIn, department, officer=st.just("值班员"), seniority=seniorities),
        practice(department),
        practice(department),
        departments_acting(DeclineCase, department, reason=st.just("不属于本部门职责")),
        departments_acting(RecordProgress, department, note=notes),
        departments_acting(CompletePart, department, result=notes),
        departments_acting(CompletePart, department, result=notes),
        st.builds(EvaluateOutcome, actor=actor(resident()),
                  rating=st.sampled_from(["satisfied", "basically_satisfied", "unsatisfied"])),
        directives(department),
        st.builds(
            ReachDeadline,
            actor=st.sampled_from([SYSTEM, SYSTEM, SYSTEM, first_secretary()]),
            kind=st.sampled_from(["verify", "report_in", "reroute", "handling", "evaluation", "first_secretary",
                                  "extension", "ledger", "ledger_review", "review", "termination",
                                  "ruling", "pause"]),
            department=st.one_of(st.none(), department),
        ),
    )


withdrawals = st.builds(WithdrawComplaint, actor=st.sampled_from([resident(), operator()]),
                        reason=st.just("问题已自行解决"))
pauses = st.builds(
    Advance,
    st.one_of(
        st.sampled_from([timedelta(minutes=10), timedelta(hours=1), timedelta(hours=3), timedelta(days=1, hours=1)]),
        st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=12)),
    ),
)


def itself(make: DepartmentCommand, codes: list[str], **fields: str) -> st.SearchStrategy[Command]:
    """One of ``codes`` acting for itself."""
    return st.sampled_from(codes).map(
        lambda code: make.model_validate({"actor": {"kind": "department", "id": code}, "department": code, **fields})
    )


def next_move(state: CaseState) -> st.SearchStrategy[Command]:
    """What the right person would most likely do next, so runs reach the later stages often."""
    waiting = state.with_status("summoned")
    working = state.with_status("reported_in")
    match state.stage:
        case "discovered" if state.verified_by is None:
            return st.builds(VerifyComplaint, actor=st.just(grid_worker()),
                             resolved_in_grid=st.sampled_from([False, False, False, True]))
        case "discovered":
            return st.builds(BlowWhistle, actor=st.just(secretary()), departments=st.lists(
                st.sampled_from(CODES[:4]), min_size=1, max_size=3, unique=True))
        case "whistled" | "handling" if waiting:
            return st.one_of(
                itself(ReportIn, waiting, officer="值班员", seniority="head"),
                itself(ReportIn, waiting, officer="值班员", seniority="head"),
                itself(DeclineCase, waiting, reason="不属于本部门职责"),
            )
        case "handling" if state.review is not None:
            return st.builds(ReviewResults, actor=st.just(secretary()), approve=st.sampled_from([True, True, False]),
                             reason=st.just("复核"))
        case "handling" if working:
            return st.one_of(itself(CompletePart, working, result="已整改"), practice(st.sampled_from(working)))
        case "evaluating" if state.rating is None:
            raters = st.sampled_from([resident(), operator()])
            return st.builds(EvaluateOutcome, actor=raters, rating=st.sampled_from(["satisfied", "basically_satisfied",
                                                                      "unsatisfied", "unsatisfied"]))
        case _:
            return directives(on_case(state))


def steps_for(state: CaseState) -> st.SearchStrategy[Step]:
    """The likely next move, any command, or a pause, in about equal shares; rarely a withdrawal."""
    return st.sampled_from(CHOICES).flatmap(
        lambda choice: withdrawals if choice == "withdraw"
        else pauses if choice == "pause"
        else commands_for(state) if choice == "any"
        else next_move(state)
    )


CHOICES = ["move"] * 40 + ["any"] * 30 + ["pause"] * 29 + ["withdraw"]


@st.composite
def cases(draw: st.DrawFn) -> ComplaintInput:
    return make_case(
        category=draw(st.sampled_from(["cooking_fumes", "gas_supply"])),
        urgency=draw(st.sampled_from(["normal", "urgent"])),
        sla=draw(st.sampled_from([policy(), DEMO, RAISING, REVIEWING, FOLLOWING])),
    )


DEMO = demo_policy().model_copy(update={"default": demo_policy().default.model_copy(
    update={"ledger_review": parse_duration("1d")})})
"""The demo policy, with a daily ledger review: its 10 s reminders would fire thousands of times in the
days a run lets pass (each is one event, as it should be, but too many for the runs to stay quick)."""


RAISING = policy().model_copy(update={"default": policy().default.model_copy(
    update={"raise_grade_on_miss": True, "extension_approver": "first_secretary"})})
"""The shipped policy with 哨源升级 switched on."""

REVIEWING = policy().model_copy(update={"default": policy().default.model_copy(
    update={"review_before_evaluation": True})})
"""The shipped policy with the community's review (审核) before every evaluation."""

FOLLOWING = policy().model_copy(update={"default": policy().default.model_copy(
    update={"follow_up": parse_duration("3d")})})
"""The shipped policy taking follow-up calls (回访) for 3 days after closure."""

after_closure: st.SearchStrategy[Step] = st.one_of(
    st.builds(RecordFollowUp, actor=st.just(operator()), verdict=st.sampled_from(["solved", "unsolved", "unreached"])),
    st.builds(Advance, by=st.sampled_from([timedelta(days=1), timedelta(days=4)])),
)
"""While a closed case takes follow-up calls: a call, or time passing."""


class Run:
    """One case as the workflow holds it: the state, every event so far, and when handling last began."""

    def __init__(self, case: ComplaintInput) -> None:
        self.now = NOW
        self.events: list[Event] = list(file_complaint(case, NOW))
        self.state = fold(self.events)
        self.handling_began: datetime | None = None

    def record(self, events: list[Event]) -> None:
        assert events, "an accepted command records at least one event"
        for event in events:
            assert event.at == self.now
            before = self.state.stage
            self.state = apply(self.state, event)
            if self.state.stage == "handling" and before != "handling":
                self.handling_began = event.at
        if follow_up.window_opens(self.state):  # as the workflow opens it, when the case has just closed
            events = [*events, follow_up.opened(self.state)]
            self.state = apply(self.state, events[-1])
        self.events.extend(events)
        check_invariants(self)

    def command(self, command: Command) -> None:
        before = self.state
        try:
            events = decide(self.state, command, self.now)
        except CommandRejected as rejection:
            assert rejection.field and rejection.reason
            assert self.state == before and len(self.events) == before.event_count
            return
        self.record(events)

    def advance(self, by: timedelta) -> None:
        """Fire each deadline that falls due before ``now + by`` at its due time, then arrive there."""
        until = self.now + by
        for _ in range(100):
            due = sorted((d for d in self.state.open_deadlines() if d.clock.due <= until), key=lambda d: d.clock.due)
            if not due:
                break
            fired = due[0]
            self.now = max(self.now, fired.clock.due)
            command = ReachDeadline(kind=fired.kind, department=fired.department)
            self.record(decide(self.state, command, self.now))  # a due deadline is never refused
            still_open = [(d.kind, d.department, d.clock.due) for d in self.state.open_deadlines()]
            assert (fired.kind, fired.department, fired.clock.due) not in still_open, "a deadline fires once"
        else:
            raise AssertionError("deadlines kept firing without end")
        self.now = until


def check_invariants(run: Run) -> None:
    """What must hold of any case after any accepted command or deadline."""
    state = run.state
    max_reopens = state.case.policy.max_reopens
    assert state.event_count == len(run.events)
    assert fold(run.events) == state
    assert state.updated_at == run.events[-1].at

    # Escalation: a level beside the stage, 0..2; the street secretary only after the first secretary's miss.
    assert state.escalation_level in (0, 1, 2)
    if state.escalation is not None:
        assert state.escalation.causes
        if state.escalation.level == 2:
            assert "first_secretary" in state.escalation.causes
    assert 0 <= state.reopen_count <= max_reopens

    # Closed means an outcome and nothing left to watch.
    closed = state.stage == "closed"
    assert closed == (state.outcome is not None) == (state.closed_at is not None)
    # A terminated case, and only that, carries its closure reason; a proposal waits only while open.
    assert (state.outcome == "terminated") == (state.closure_reason is not None)
    if state.termination is not None:
        assert not closed
    if closed:  # at most the follow-up window (回访), which no list watches
        assert [d.kind for d in state.open_deadlines()] in ([], ["follow_up"]) and state.next_deadline is None
        assert state.escalation is None and not state.parked

    # Each stage's own clock exists exactly while the case is in that stage; handling's is replaced by the
    # review clock while the community reviews the results (审核), and only where the policy asks for review.
    assert (state.verify is not None) == (state.stage == "discovered")
    assert (state.handling is not None or state.review is not None) == (state.stage == "handling")
    assert state.handling is None or state.review is None
    if state.review is not None:
        assert state.case.policy.review_before_evaluation
        assert not state.with_status("summoned", "reported_in")
    if state.evaluation is not None:
        assert state.stage == "evaluating" and state.rating is None and not state.evaluation.lapsed
    if state.stage == "evaluating" and state.evaluation is None:
        # Rated unsatisfied with no reopen left: the case waits for a secretary's directive.
        assert state.rating == "unsatisfied" and state.reopen_count == max_reopens
    if state.rating is not None and not closed:
        assert state.stage == "evaluating" and state.rating == "unsatisfied"

    # Departments: nobody in grid discovery; someone on the case once the whistle has blown.
    statuses = {code: part.status for code, part in state.departments.items()}
    if state.stage == "discovered":
        assert statuses == {} and not state.resolved_in_grid
    if state.stage in ("whistled", "handling"):
        assert statuses
    if state.resolved_in_grid:
        assert statuses == {}
    if state.reroute is not None or state.dispute is not None:
        assert state.stage == "whistled" and set(statuses.values()) == {"declined"}
        assert state.reroute is None or state.dispute is None
    if state.dispute is not None:
        assert state.case.policy.rule_disputes

    # Paused clocks: only while the case is open and before the rating; the total stays within the allowance,
    # and none of the stage clocks is watched meanwhile.
    allowance = state.case.policy.max_pause.fixed()
    if allowance is not None:
        assert state.paused_seconds <= allowance.total_seconds() + 1e-6
    if state.pause is not None:
        assert state.stage in ("discovered", "whistled", "handling", "evaluating")
        assert not PAUSED_KINDS & {d.kind for d in state.open_deadlines()}
    if state.stage == "whistled":
        assert "summoned" in statuses.values() or state.reroute is not None or state.dispute is not None
    if state.stage == "handling":
        # Only a department summoned (by whistle or order) after handling began is still to report in.
        assert run.handling_began is not None
        for code in state.with_status("summoned"):
            clock = state.departments[code].report_in
            assert clock is not None and clock.start >= run.handling_began

    for part in state.departments.values():
        assert part.report_in is not None or part.proactive
        assert (part.officer is not None) == (part.status in ("reported_in", "done"))
        assert (part.result is not None) == (part.status == "done")
        # Graded whistles: a raised grade is above blue; whoever reported in met the grade's seniority.
        if part.grade_raised:
            assert part.grade != "blue"
        if part.status in ("reported_in", "done"):
            assert part.reported_on_time is not None and part.seniority is not None
            if not part.proactive:
                required = state.case.policy.grade(part.grade).seniority
                assert SENIORITY_RANK[part.seniority] >= SENIORITY_RANK[required]
        # Two-way rating: only a department that finished (perhaps since reopened) carries a rating.
        if part.rating is not None:
            assert part.status in ("done", "reported_in")

    # Extensions wait only during handling; the ledger has its first secretary, and every parked case is on it.
    if state.extension is not None:
        assert state.stage == "handling"
        assert state.extension.department in state.departments
    if state.parked:
        assert state.ledger is not None
    if state.ledger is not None:
        assert state.ledger.owner == state.case.context.community.first_secretary.id
        assert state.ledger.since >= state.filed_at

    # The lead is an active department whenever there is one.
    active = [code for code, status in statuses.items() if status != "declined"]
    if active:
        assert state.lead in active
    else:
        assert state.lead is None

    # Open clocks run forward, one timer each.
    keys = [(d.kind, d.department) for d in state.open_deadlines()]
    assert len(keys) == len(set(keys))
    for open_deadline in state.open_deadlines():
        assert open_deadline.clock.due > open_deadline.clock.start
        assert not open_deadline.clock.lapsed


@settings(max_examples=examples(300), suppress_health_check=[HealthCheck.too_slow])
@given(case=cases(), data=st.data())
def test_any_run_of_commands_and_deadlines_keeps_the_case_consistent(case: ComplaintInput, data: st.DataObject) -> None:
    run = Run(case)
    check_invariants(run)
    for _ in range(data.draw(st.integers(min_value=0, max_value=60), label="steps")):
        if run.state.stage == "closed" and run.state.open_deadlines():
            step = data.draw(after_closure, label="while taking follow-up calls")
        elif run.state.stage == "closed":
            # A closed case refuses whatever comes next.
            run.command(data.draw(commands_for(run.state), label="after closing"))
            break
        else:
            step = data.draw(steps_for(run.state))
        if isinstance(step, Advance):
            run.advance(step.by)
        else:
            run.command(step)
    assert apply_all(fold(run.events[:1]), run.events[1:]) == run.state


def test_every_event_but_the_filing_has_its_fold() -> None:
    """Each concept's ``CHANGES`` together cover every event a case can record after it is filed."""
    from schemas.events import EVENT_CLASSES, ComplaintFiled
    from schemas.fold import CHANGES

    assert set(EVENT_CLASSES) - {ComplaintFiled} <= set(CHANGES)
