"""Supervision (督办): a supervisor urges a case (催办), whoever holds it now hears so and the urging is on record
against them; or puts it under leader supervision (重点督办), which lists and the dashboard show and the policy may
tie to shorter remaining windows."""

from __future__ import annotations

from datetime import datetime

from schemas.commands import FlagCase, UnflagCase, UrgeCase
from schemas.errors import CommandRejected
from schemas.events import CaseFlagged, CaseUrged, Event, FlagLifted
from schemas.rules.shared import Changes, Rules, Who, moved_clocks, stage_clocks
from schemas.state import CaseState

MAX_FLAGGINGS = 10
"""How many times one case may be put under leader supervision, lifts between them: its history stays bounded."""


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


def flag(state: CaseState, command: FlagCase, now: datetime) -> list[Event]:
    """Leader supervision, once at a time. Each clock still running (not a parked or paused case's) is cut to the
    policy's ``flagged_windows`` of what remains; windows that start later run their usual length."""
    if state.flagged:
        raise CommandRejected("flagged", "the case is under leader supervision already")
    if state.flaggings >= MAX_FLAGGINGS:
        raise CommandRejected("flagged", f"the case has been put under supervision {MAX_FLAGGINGS} times, the most")
    return [CaseFlagged(at=now, by=command.actor.id, note=command.note, new_dues=shortened(state, now))]


def shortened(state: CaseState, now: datetime) -> dict[str, datetime]:
    """The running clocks' new dues under leader supervision (none when the policy does not shorten them)."""
    share = state.case.policy.flagged_windows
    if share >= 1 or state.parked or state.pause is not None:
        return {}
    return {
        key: now + (clock.due - now) * share
        for key, clock in stage_clocks(state).items()
        if not clock.lapsed and clock.due > now
    }


def unflag(state: CaseState, command: UnflagCase, now: datetime) -> list[Event]:
    if not state.flagged:
        raise CommandRejected("flagged", "the case is not under leader supervision")
    return [FlagLifted(at=now, by=command.actor.id, note=command.note)]


def any_supervisor(state: CaseState, command: UrgeCase | FlagCase | UnflagCase) -> None:
    """Supervisors answer for the whole district (their keys are checked at the edge), so any supervisor may."""
    if command.actor.kind != "supervisor":
        raise CommandRejected("actor", f"{command.actor.kind} {command.actor.id} may not: only a supervisor may")


WHO: Who = {
    UrgeCase: any_supervisor,
    FlagCase: any_supervisor,
    UnflagCase: any_supervisor,
}
"""Who may send each of this concept's commands (``schemas.rules.authority``)."""


RULES: Rules = {
    UrgeCase: urge,
    FlagCase: flag,
    UnflagCase: unflag,
}
"""What each of this concept's commands decides (``schemas.rules.decider``)."""


# The fold: what this concept's events change in a case.


def _case_urged(state: CaseState, event: CaseUrged) -> dict[str, object]:
    return {"urgings": state.urgings + 1}


def _case_flagged(state: CaseState, event: CaseFlagged) -> dict[str, object]:
    return {"flagged": True, "flaggings": state.flaggings + 1, **moved_clocks(state, event.at, event.new_dues)}


def _flag_lifted(state: CaseState, event: FlagLifted) -> dict[str, object]:
    return {"flagged": False}


CHANGES: Changes = {
    CaseUrged: _case_urged,
    CaseFlagged: _case_flagged,
    FlagLifted: _flag_lifted,
}
"""What each of this concept's events changes in a case (the fold, ``schemas.fold``)."""
