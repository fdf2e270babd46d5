"""Every command in every stage: accepted (with the events it records) or refused (naming the field); withdrawal
at any open stage, and the closed case refusing everything."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from schemas.commands import (
    Command,
)
from schemas.rules.decider import decide
from schemas.state import CaseState
from tests.domain_fixtures import (
    blow,
    complete,
    deadline,
    decline,
    evaluate,
    evaluating,
    extend,
    handling,
    later,
    new_case,
    order,
    park,
    report_in,
    run,
    verify,
    whistled,
)
from tests.rules.helpers import (
    EXTRA,
    LEAD,
    closed,
    progress,
    rejected,
    types,
    withdraw,
)

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
        "verify": ["GridVerified"],
        "blow": "stage",
        "report_in": "department",
        "decline": "department",
        "progress": "department",
        "complete": "stage",
        "evaluate": "stage",
        "order": ["DirectiveIssued"],
        "extend": ["DirectiveIssued"],
        "park": PARKED,
        "withdraw": WITHDRAWN,
    },
    "whistled": {
        "verify": "stage",
        "blow": ["WhistleBlown"],
        "report_in": ["DepartmentReportedIn"],
        "decline": ["DepartmentDeclined"],
        "progress": "department",
        "complete": "stage",
        "evaluate": "stage",
        "order": ["DirectiveIssued"],
        "extend": ["DirectiveIssued"],
        "park": PARKED,
        "withdraw": WITHDRAWN,
    },
    "handling": {
        "verify": "stage",
        "blow": ["WhistleBlown"],
        "report_in": "department",
        "decline": "department",
        "progress": ["ProgressRecorded"],
        "complete": ["PartCompleted"],
        "evaluate": "stage",
        "order": ["DirectiveIssued"],
        "extend": ["DirectiveIssued"],
        "park": PARKED,
        "withdraw": WITHDRAWN,
    },
    "evaluating": {
        "verify": "stage",
        "blow": "stage",
        "report_in": "department",
        "decline": "department",
        "progress": "department",
        "complete": "stage",
        "evaluate": ["ResidentEvaluated", "CaseClosed"],
        "order": "stage",
        "extend": "stage",
        "park": "stage",
        "withdraw": WITHDRAWN,
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
