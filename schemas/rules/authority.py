"""Who may act on a case: the one check of a command's ``actor`` against the case's own people. Pure.

The case carries its slice of the org directory (grid workers, secretaries, the first and street
secretaries) and the reporter's reference (``ReporterReference``: a resident acting in person is
``resident:<reference>``, matched to their resident id at the edge), so the check needs nothing but the state.
"""

from __future__ import annotations

from schemas.actors import Actor
from schemas.commands import (
    AnswerExtension,
    AskResident,
    BlowWhistle,
    Command,
    CompletePart,
    DeclineCase,
    EvaluateOutcome,
    IssueDirective,
    ProposeTermination,
    RateDepartment,
    ReachDeadline,
    RecordNote,
    RecordProgress,
    ReportIn,
    ReportInProactively,
    RequestExtension,
    ResidentAnswer,
    ReviewResults,
    ReviewTermination,
    RuleResponsibility,
    VerifyComplaint,
    WithdrawComplaint,
)
from schemas.errors import CommandRejected
from schemas.state import CaseState

RESIDENT_ONLY = "only the resident who filed the case, or a hotline operator for them, may do this"


def check_actor(state: CaseState, command: Command) -> None:
    """Raise ``CommandRejected("actor", why)`` unless ``command.actor`` may send this command to this case."""
    context = state.case.context
    actor = command.actor
    match command:
        case VerifyComplaint():
            workers = {worker.id for worker in context.grid.grid_workers}
            _require(
                actor,
                {("grid_worker", worker) for worker in workers},
                f"only a grid worker of {context.grid.code} verifies or resolves in the grid",
            )
        case BlowWhistle() | RateDepartment() | ReviewResults() | ProposeTermination():
            secretary = context.community.secretary.id
            _require(
                actor, {("community_secretary", secretary)}, f"only the community secretary ({secretary}) may do this"
            )
        case ReportInProactively():
            first = context.community.first_secretary.id
            if command.department is None:
                _require(actor, {("first_secretary", first)}, f"only the first secretary ({first}) comes in person")
            else:
                _require(
                    actor,
                    {("department", command.department)},
                    f"only {command.department} itself reports in for {command.department}",
                )
        case AnswerExtension():
            approver = (state.case.policy.extension_approver, extension_approver(state))
            _require(actor, {approver}, f"only {approver[0].replace('_', ' ')} {approver[1]} answers extensions")
        case ReportIn() | DeclineCase() | RecordProgress() | CompletePart() | RequestExtension():
            _require(
                actor,
                {("department", command.department)},
                f"only {command.department} itself acts for {command.department}",
            )
        case AskResident():
            allowed = {("grid_worker", worker.id) for worker in context.grid.grid_workers}
            allowed.add(("community_secretary", context.community.secretary.id))
            allowed |= {("department", code) for code in state.with_status("summoned", "reported_in")}
            _require(actor, allowed, "only the case's grid workers, secretary or departments ask the resident")
        case EvaluateOutcome() | WithdrawComplaint() | ResidentAnswer():
            resident = state.case.intake.reporter.resident_actor()
            if actor.kind == "operator":
                return
            if actor.kind != "resident" or resident is None or actor.id != resident:
                raise CommandRejected("actor", RESIDENT_ONLY)
        case IssueDirective() | ReviewTermination():
            first, street = context.community.first_secretary.id, context.street.secretary.id
            _require(
                actor,
                {("first_secretary", first), ("street_secretary", street)},
                f"only the first secretary ({first}) or the street secretary ({street}) may do this",
            )
        case RuleResponsibility():
            street = context.street.secretary.id
            _require(actor, {("street_secretary", street)}, f"only the street secretary ({street}) rules a dispute")
        case RecordNote():
            if actor.kind != "operator":
                officials = {("grid_worker", worker.id) for worker in context.grid.grid_workers}
                officials |= {("department", code) for code in state.departments}
                officials |= {
                    ("community_secretary", context.community.secretary.id),
                    ("first_secretary", context.community.first_secretary.id),
                    ("street_secretary", context.street.secretary.id),
                }
                _require(actor, officials, "only the case's own officials, or a hotline operator, put notes on it")
        case ReachDeadline():
            if actor.kind != "system":
                raise CommandRejected("actor", "deadlines are reached by the workflow's own timers only")


def extension_approver(state: CaseState) -> str:
    """Who answers a request for more time on this case: the person the case's policy names."""
    context = state.case.context
    return {
        "community_secretary": context.community.secretary.id,
        "first_secretary": context.community.first_secretary.id,
        "street_secretary": context.street.secretary.id,
    }[state.case.policy.extension_approver]


def _require(actor: Actor, allowed: set[tuple[str, str]], reason: str) -> None:
    if (actor.kind, actor.id) not in allowed:
        raise CommandRejected("actor", f"{actor.kind} {actor.id} may not: {reason}")
