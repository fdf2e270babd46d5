"""Extensions (延期)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from schemas.commands import (
    Command,
    RequestExtension,
)
from schemas.common import parse_duration
from schemas.events import (
    EscalatedToFirstSecretary,
    ExtensionApproved,
    ExtensionRefused,
    ExtensionRequested,
)
from schemas.rules.decider import decide
from tests.domain_fixtures import (
    FIRST_SECRETARY,
    NOW,
    OTHER_FIRST_SECRETARY,
    SECRETARY,
    complete,
    deadline,
    department,
    first_secretary,
    handling,
    later,
    park,
    run,
    run_all,
    secretary,
    street_secretary,
    whistled,
)
from tests.rules.helpers import (
    LEAD,
    SECOND,
    answer,
    ask_more_time,
    case_with,
    folds,
    rejected,
    types,
)


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
        (
            lambda: handling(LEAD, SECOND),
            RequestExtension(
                actor=department(SECOND), department=LEAD, extend_by=parse_duration("1d"), reason="代为申请"
            ),
            "actor",
        ),
        (lambda: run(handling(LEAD, SECOND), complete(SECOND)), ask_more_time(SECOND), "department"),
        (lambda: run(handling(LEAD, SECOND), ask_more_time()), ask_more_time(SECOND), "department"),
        (lambda: run(handling(LEAD), park()), ask_more_time(), "stage"),
        (lambda: handling(LEAD), answer(True), "approve"),
        (
            lambda: run(handling(LEAD), ask_more_time()),
            answer(True, actor=first_secretary(OTHER_FIRST_SECRETARY)),
            "actor",
        ),
        (lambda: run(handling(LEAD), ask_more_time()), answer(True, actor=street_secretary()), "actor"),
    ],
    ids=[
        "not handling",
        "for another department",
        "part done",
        "one request at a time",
        "parked",
        "nothing to answer",
        "another first secretary",
        "not the approver",
    ],
)
def test_extension_refused(setup: Any, command: Command, field: str) -> None:
    assert rejected(setup(), command).field == field


def test_finishing_the_work_drops_a_pending_request() -> None:
    state = run_all(handling(LEAD), [ask_more_time(), complete(LEAD)])
    assert state.stage == "evaluating" and state.extension is None
    assert "extension" not in [d.kind for d in state.open_deadlines()]
