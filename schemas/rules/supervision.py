"""Supervision (督办): a supervisor urges a case (催办); whoever holds it now hears so, and the urging is on record
against them."""

from __future__ import annotations

from datetime import datetime

from schemas.commands import UrgeCase
from schemas.errors import CommandRejected
from schemas.events import CaseUrged, Event
from schemas.rules.shared import Changes, Rules, Who
from schemas.state import CaseState


def holders(state: CaseState) -> list[str]:
    """Who holds the case now: the grid's workers before the whistle, the departments on it while they work (the
    community secretary when none is), the secretary while the resident rates, and whoever an escalation reached."""
    context = state.case.context
    secretary = context.community.secretary.id
    if state.stage == "discovered":
        held = [worker.id for worker in context.grid.grid_workers]
    elif state.stage in ("whistled", "handling"):
        held = state.with_status("summoned", "reported_in") or [secretary]
    else:
        held = [secretary]
    if state.escalation is not None:
        above = context.community.first_secretary.id if state.escalation.level == 1 else context.street.secretary.id
        held = [*held, above]
    return held


def urge(state: CaseState, command: UrgeCase, now: datetime) -> list[Event]:
    """An urging on an open case; a case takes at most the policy's ``max_urgings``, so its history stays bounded."""
    limit = state.case.policy.max_urgings
    if state.urgings >= limit:
        raise CommandRejected("note", f"the case has been urged {limit} times, the most it takes; escalate it instead")
    return [CaseUrged(at=now, by=command.actor.id, holders=holders(state), note=command.note)]


def any_supervisor(state: CaseState, command: UrgeCase) -> None:
    """Supervisors answer for the whole district (their keys are checked at the edge), so any supervisor may."""
    if command.actor.kind != "supervisor":
        raise CommandRejected("actor", f"{command.actor.kind} {command.actor.id} may not: only a supervisor urges")


WHO: Who = {
    UrgeCase: any_supervisor,
}
"""Who may send each of this concept's commands (``schemas.rules.authority``)."""


RULES: Rules = {
    UrgeCase: urge,
}
"""What each of this concept's commands decides (``schemas.rules.decider``)."""


# The fold: what this concept's events change in a case.


def _case_urged(state: CaseState, event: CaseUrged) -> dict[str, object]:
    return {"urgings": state.urgings + 1}


CHANGES: Changes = {
    CaseUrged: _case_urged,
}
"""What each of this concept's events changes in a case (the fold, ``schemas.fold``)."""
