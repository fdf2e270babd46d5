"""Who may act: every command carries its actor, and the case checks it."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from schemas.actors import Actor
from schemas.commands import (
    Command,
    ReachDeadline,
    RecordProgress,
    WithdrawComplaint,
)
from schemas.events import (
    DirectiveIssued,
    WhistleBlown,
)
from schemas.intake import ReporterReference
from schemas.rules.decider import decide
from tests.domain_fixtures import (
    FIRST_SECRETARY,
    GRID_WORKER,
    NOW,
    OTHER_FIRST_SECRETARY,
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
    first_secretary,
    grid_worker,
    handling,
    later,
    make_case,
    make_intake,
    new_case,
    operator,
    order,
    report_in,
    resident,
    secretary,
    street_secretary,
    verified,
    verify,
    whistled,
)
from tests.rules.helpers import (
    EXTRA,
    LEAD,
    SECOND,
    progress,
    rejected,
    types,
)

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
    "actor",
    [first_secretary(), secretary(OTHER_SECRETARY), Actor(kind="grid_worker", id=SECRETARY)],
    ids=["first secretary", "another community's secretary", "right id, wrong kind"],
)
def test_only_the_cases_community_secretary_blows(actor: Actor) -> None:
    error = rejected(verified(), blow(actor=actor))
    assert error.field == "actor" and SECRETARY in error.reason


@pytest.mark.parametrize(
    "make", [report_in, decline, complete, progress], ids=["report_in", "decline", "complete", "progress"]
)
@pytest.mark.parametrize(
    "actor",
    [department(SECOND), secretary(), first_secretary(), Actor(kind="resident", id=LEAD)],
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


@pytest.mark.parametrize(
    "actor",
    [resident(), operator(), operator("op-12345-77")],
    ids=["the resident who filed it", "a hotline operator", "any hotline operator"],
)
def test_the_reporter_or_a_hotline_operator_rates_and_withdraws(actor: Actor) -> None:
    assert types(decide(evaluating(), evaluate("satisfied", actor=actor), NOW)) == ["ResidentEvaluated", "CaseClosed"]
    command = WithdrawComplaint(actor=actor, reason="问题已自行解决")
    assert types(decide(whistled(), command, NOW)) == ["CaseWithdrawn", "CaseClosed"]


@pytest.mark.parametrize(
    "actor",
    [resident("app-99999"), secretary(), first_secretary(), Actor(kind="grid_worker", id=RESIDENT)],
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
    [
        secretary(),
        street_secretary("ss-xinghe"),
        first_secretary(OTHER_FIRST_SECRETARY),
        Actor(kind="street_secretary", id=FIRST_SECRETARY),
        Actor(kind="first_secretary", id=STREET_SECRETARY),
    ],
    ids=[
        "the community secretary",
        "another street's secretary",
        "another community's first secretary",
        "first secretary posing as street",
        "street secretary posing as first",
    ],
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
