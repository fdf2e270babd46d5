"""Disputed responsibility (职责争议)."""

from __future__ import annotations

from typing import Any

import pytest

from schemas.actors import Actor
from schemas.commands import (
    Command,
    RuleResponsibility,
)
from schemas.events import (
    EscalatedToFirstSecretary,
    ResponsibilityDisputed,
    ResponsibilityRuled,
)
from schemas.fold import apply
from schemas.intake import ComplaintInput
from schemas.rules.decider import decide
from schemas.state import CaseState
from tests.domain_fixtures import (
    NOW,
    STREET_SECRETARY,
    blow,
    deadline,
    decline,
    first_secretary,
    later,
    report_in,
    run,
    run_all,
    street_secretary,
    whistled,
)
from tests.rules.helpers import (
    EXTRA,
    LEAD,
    SECOND,
    case_with,
    folds,
    rejected,
)


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
