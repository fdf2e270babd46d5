"""A command's ``actors`` (what the CLI's flags and the gateway's keys follow) and the decider's own check of the
actor (``schemas/rules/authority.py``) agree: every actor kind a command does not list is refused, even when it is
the right person of that kind for the case, so no surface can offer a sender the case will not accept."""

from __future__ import annotations

from typing import Any, Literal, get_args, get_origin

import pytest

from schemas.actors import Actor, ActorKind
from schemas.commands import COMMANDS, CaseCommand
from schemas.errors import CommandRejected
from schemas.rules.authority import check_actor
from schemas.state import CaseState
from tests.domain_fixtures import whistled

SAMPLE_FIELDS: dict[str, Any] = {
    "departments": ["urban_management"], "department": "urban_management", "officer": "王科长", "reason": "需核实",
    "extend_by": "1d", "approve": True, "in_person": True, "result": "good", "rating": "satisfied",
    "kind": "park", "note": "备注", "category": "gas_supply", "into": "HOTLINE-2026-000001",
}  # fmt: skip
"""A value for every required field any command has: the actor check reads ``department`` at most."""


def people(state: CaseState) -> dict[ActorKind, str]:
    """The case's own person of each kind: the one who would pass the check if their kind were allowed."""
    context = state.case.context
    resident = state.case.intake.reporter.resident_actor()
    assert resident is not None
    return {
        "grid_worker": context.grid.grid_workers[0].id,
        "community_secretary": context.community.secretary.id,
        "first_secretary": context.community.first_secretary.id,
        "street_secretary": context.street.secretary.id,
        "department": "urban_management",
        "resident": resident,
        "operator": "op-12345-01",
    }


def sample(model: type[CaseCommand], actor: Actor) -> CaseCommand:
    """A valid instance: each required field's last choice when it has a fixed set (``Literal``), else
    ``SAMPLE_FIELDS``'s value for its name."""
    required = {
        name: (get_args(field.annotation) or [SAMPLE_FIELDS.get(name)])[-1]
        if get_origin(field.annotation) is Literal
        else SAMPLE_FIELDS[name]
        for name, field in model.model_fields.items()
        if field.is_required() and name != "actor"
    }
    return model.model_validate({**required, "actor": actor, "type": model.name()})


@pytest.mark.parametrize("name", COMMANDS)
def test_an_actor_kind_a_command_does_not_list_is_refused(name: str) -> None:
    model = COMMANDS[name]
    state = whistled("urban_management")
    for kind, person in people(state).items():
        if kind in model.actors:
            continue
        with pytest.raises(CommandRejected) as refused:
            check_actor(state, sample(model, Actor(kind=kind, id=person)))  # type: ignore[arg-type]
        assert refused.value.field == "actor", (name, kind)

