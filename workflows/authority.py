"""Who may act on a case: the one check of a command's ``actor`` against the case's own people. Pure.

The case carries its slice of the org directory (grid workers, secretaries, the first and street
secretaries) and the resident id the integrator gave, so the check needs nothing but the state.
"""

from __future__ import annotations

from schemas.actors import Actor
from schemas.commands import (
    BlowWhistle,
    Command,
    CompletePart,
    DeclineCase,
    EvaluateOutcome,
    IssueDirective,
    ReachDeadline,
    RecordProgress,
    ReportIn,
    VerifyComplaint,
    WithdrawComplaint,
)
from schemas.errors import CommandRejected
from schemas.state import CaseState


def check_actor(state: CaseState, command: Command) -> None:
    """Raise ``CommandRejected("actor", why)`` unless ``command.actor`` may send this command to this case."""
    context = state.case.context
    actor = command.actor
    match command:
        case VerifyComplaint():
            workers = {worker.id for worker in context.grid.grid_workers}
            _require(actor, {("grid_worker", worker) for worker in workers},
                     f"only a grid worker of {context.grid.code} verifies or resolves in the grid")
        case BlowWhistle():
            secretary = context.community.secretary.id
            _require(actor, {("community_secretary", secretary)},
                     f"only the community secretary ({secretary}) blows the whistle")
        case ReportIn() | DeclineCase() | RecordProgress() | CompletePart():
            _require(actor, {("department", command.department)},
                     f"only {command.department} itself acts for {command.department}")
        case EvaluateOutcome() | WithdrawComplaint():
            resident = state.case.intake.reporter.resident_id
            if actor.kind == "operator":
                return
            if actor.kind != "resident" or resident is None or actor.id != resident:
                raise CommandRejected(
                    "actor", "only the resident who filed the case, or a hotline operator for them, may do this"
                )
        case IssueDirective():
            first, street = context.community.first_secretary.id, context.street.secretary.id
            _require(actor, {("first_secretary", first), ("street_secretary", street)},
                     f"only the first secretary ({first}) or the street secretary ({street}) directs")
        case ReachDeadline():
            if actor.kind != "system":
                raise CommandRejected("actor", "deadlines are reached by the workflow's own timers only")


def _require(actor: Actor, allowed: set[tuple[str, str]], reason: str) -> None:
    if (actor.kind, actor.id) not in allowed:
        raise CommandRejected("actor", f"{actor.kind} {actor.id} may not: {reason}")
