"""Follow-up calls (回访): after a case closes, the 12345 hotline calls the resident back and records what they say.

Where the policy sets ``follow_up``, a case that closed with a resident-facing outcome (satisfied, basically
satisfied, unevaluated) takes calls for that long after closure (``FollowUpOpened``, recorded by the workflow when
the case closes); one that closed unevaluated must get a call that reaches the resident by then, or the window ends
``missed``. A call that finds the problem unsolved reopens the case (``CaseReopened``, counted as a reopen, up to
``max_reopens``); when the case closes again a new window opens. A withdrawn or terminated case takes no calls.
"""

from __future__ import annotations

from datetime import datetime

from schemas.commands import RecordFollowUp
from schemas.errors import CommandRejected
from schemas.events import Event, FollowUpOpened, FollowUpRecorded, FollowUpWindowClosed
from schemas.parts import Clock, FollowUpWindow
from schemas.rules.evaluation import reopened
from schemas.rules.shared import Changes, Rules, Who, due_after
from schemas.state import CaseState

FOLLOWED_UP_OUTCOMES = frozenset({"satisfied", "basically_satisfied", "unevaluated"})
"""Closures a follow-up call asks about: the work was done and the resident rated it or let the window pass."""


def window_opens(state: CaseState) -> bool:
    """The case has just closed with an outcome that takes follow-up calls, under a policy that asks for them."""
    return (
        state.stage == "closed"
        and state.follow_up is None
        and state.outcome in FOLLOWED_UP_OUTCOMES
        and state.case.policy.follow_up is not None
    )


def opened(state: CaseState) -> FollowUpOpened:
    """The follow-up window from the closure, ``follow_up`` long on the case's calendar (the workflow records it when
    ``window_opens``; it is timed by the closure, never by the task that records it)."""
    window = state.case.policy.follow_up
    assert state.closed_at is not None and window is not None
    due = due_after(state, state.closed_at, window)
    return FollowUpOpened(at=state.closed_at, due=due, asked=state.outcome == "unevaluated")


def record(state: CaseState, command: RecordFollowUp, now: datetime) -> list[Event]:
    """A call while the window is open; an unsolved problem reopens the case while ``max_reopens`` allows. A case
    takes at most ``max_follow_ups`` calls, so its history stays bounded."""
    window = state.follow_up
    if state.stage != "closed":
        raise CommandRejected("stage", f"the case is {state.stage}: a follow-up call comes after it closes")
    if window is None:
        raise CommandRejected("stage", f"the case closed {state.outcome} and takes no follow-up calls")
    if window.clock.lapsed:
        raise CommandRejected("stage", f"the follow-up window closed at {window.clock.due.isoformat()}")
    limit = state.case.policy.max_follow_ups
    if state.follow_ups >= limit:
        raise CommandRejected("verdict", f"the case has had {limit} follow-up calls, the most it takes")
    events: list[Event] = [FollowUpRecorded(at=now, by=command.actor.id, verdict=command.verdict, note=command.note)]
    if command.verdict == "unsolved" and state.reopen_count < state.case.policy.max_reopens:
        events.append(reopened(state, now))
    return events


def window_closed(state: CaseState, now: datetime) -> FollowUpWindowClosed:
    """The window ran out (``schemas.rules.deadlines``): missed if the policy asked for a call and none reached."""
    window = state.follow_up
    assert window is not None
    return FollowUpWindowClosed(at=now, missed=window.asked and not window.reached)


def any_operator(state: CaseState, command: RecordFollowUp) -> None:
    """The hotline answers for every case (operators' keys are checked at the edge), so any operator may call."""
    if command.actor.kind != "operator":
        raise CommandRejected(
            "actor", f"{command.actor.kind} {command.actor.id} may not: only a hotline operator records a follow-up"
        )


WHO: Who = {
    RecordFollowUp: any_operator,
}
"""Who may send each of this concept's commands (``schemas.rules.authority``)."""


RULES: Rules = {
    RecordFollowUp: record,
}
"""What each of this concept's commands decides (``schemas.rules.decider``)."""

AFTER_CLOSURE: frozenset[type] = frozenset({RecordFollowUp})
"""Commands a closed case still takes (``schemas.rules.decider``): the rule checks the window itself."""


# The fold: what this concept's events change in a case.


def _opened(state: CaseState, event: FollowUpOpened) -> dict[str, object]:
    return {"follow_up": FollowUpWindow(clock=Clock(start=event.at, due=event.due), asked=event.asked)}


def _recorded(state: CaseState, event: FollowUpRecorded) -> dict[str, object]:
    changes: dict[str, object] = {"follow_ups": state.follow_ups + 1}
    if state.follow_up is not None and event.verdict != "unreached":
        changes["follow_up"] = state.follow_up.model_copy(update={"reached": True})
    return changes


def _window_closed(state: CaseState, event: FollowUpWindowClosed) -> dict[str, object]:
    if state.follow_up is None:
        return {}
    clock = state.follow_up.clock.model_copy(update={"lapsed": True})
    return {"follow_up": state.follow_up.model_copy(update={"clock": clock})}


CHANGES: Changes = {
    FollowUpOpened: _opened,
    FollowUpRecorded: _recorded,
    FollowUpWindowClosed: _window_closed,
}
"""What each of this concept's events changes in a case (the fold, ``schemas.fold``)."""
