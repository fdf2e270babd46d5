"""The decider: ``decide(state, command, now) -> events``. Pure, no I/O, no clock but the ``now`` it is given.

It raises ``CommandRejected`` (naming the field and the reason) for a command that is not allowed now, and
otherwise returns the events that record what happened, with every deadline they set already computed from the
case's own policy and calendar. Each command's rule lives in the module of its concept (``grid``, ``whistle``,
``report_in``, ``handling``, ``evaluation``, ``escalation``, ``extension``, ``pause``, ``ruling``, ``review``,
``termination``, ``ledger``, ``rating``, ``notes``, ``follow_up``); a clock that ran out in ``deadlines``; who may act
in ``authority``; the small rules they share in ``shared``. This module only checks the actor and dispatches.
"""

from __future__ import annotations

from datetime import datetime

from schemas.commands import (
    CaseCommand,
    Command,
)
from schemas.errors import CommandRejected
from schemas.events import Event
from schemas.rules.authority import check_actor
from schemas.rules.concepts import CONCEPTS
from schemas.rules.filing import file_complaint
from schemas.rules.merging import check_merged
from schemas.rules.shared import Rules
from schemas.state import CaseState

__all__ = ["RULES", "WIRE", "decide", "file_complaint"]

RULES: Rules = {
    command: rule
    for concept in CONCEPTS
    for command, rule in getattr(concept, "RULES", {}).items()
}
"""Each command's rule, gathered from the concepts."""

WIRE: dict[type[CaseCommand], type[CaseCommand]] = {
    command: wire for concept in CONCEPTS for command, wire in getattr(concept, "WIRE", {}).items()
}
"""What the workflow's Update takes in place of a command the client completes before sending (``Recategorise``:
``ResolvedRecategorise``), gathered from the concepts."""

AFTER_CLOSURE: frozenset[type] = frozenset(
    command for concept in CONCEPTS for command in getattr(concept, "AFTER_CLOSURE", frozenset())
)
"""The commands a closed case still takes (a follow-up call, the follow-up window's clock), gathered from the
concepts; every other command is refused once the case is closed."""


def decide(state: CaseState, command: Command, now: datetime) -> list[Event]:
    """What ``command`` does to the case at ``now``, or ``CommandRejected`` if it may not."""
    if state.stage == "closed" and type(command) not in AFTER_CLOSURE:
        raise CommandRejected("stage", f"the case is closed ({state.outcome})")
    check_actor(state, command)
    check_merged(state, command)
    return RULES[type(command)](state, command, now)
