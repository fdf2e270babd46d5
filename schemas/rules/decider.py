"""The decider: ``decide(state, command, now) -> events``. Pure, no I/O, no clock but the ``now`` it is given.

It raises ``CommandRejected`` (naming the field and the reason) for a command that is not allowed now, and
otherwise returns the events that record what happened, with every deadline they set already computed from the
case's own policy and calendar. Each command's rule lives in the module of its concept (``grid``, ``whistle``,
``report_in``, ``handling``, ``evaluation``, ``escalation``, ``extension``, ``pause``, ``ruling``, ``review``,
``termination``, ``ledger``, ``rating``, ``notes``); a clock that ran out in ``deadlines``; who may act in
``authority``; the small rules they share in ``shared``. This module only checks the actor and dispatches.
"""

from __future__ import annotations

from datetime import datetime

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
from schemas.events import CaseClosed, CaseWithdrawn, Event
from schemas.rules import (
    deadlines,
    escalation,
    evaluation,
    extension,
    grid,
    handling,
    notes,
    pause,
    rating,
    report_in,
    review,
    ruling,
    termination,
    whistle,
)  # fmt: skip
from schemas.rules.authority import check_actor
from schemas.rules.filing import file_complaint
from schemas.state import CaseState

__all__ = ["decide", "file_complaint"]


def decide(state: CaseState, command: Command, now: datetime) -> list[Event]:
    """What ``command`` does to the case at ``now``, or ``CommandRejected`` if it may not."""
    if state.stage == "closed":
        raise CommandRejected("stage", f"the case is closed ({state.outcome})")
    check_actor(state, command)
    match command:
        case VerifyComplaint():
            return grid.verify(state, command, now)
        case BlowWhistle():
            return whistle.blow(state, command, now)
        case ReportIn():
            return report_in.report_in(state, command, now)
        case ReportInProactively():
            return report_in.report_in_proactively(state, command, now)
        case RequestExtension():
            return extension.request_extension(state, command, now)
        case AnswerExtension():
            return extension.answer_extension(state, command, now)
        case RateDepartment():
            return rating.rate_department(state, command, now)
        case ReviewResults():
            return review.review_results(state, command, now)
        case RuleResponsibility():
            return ruling.rule_responsibility(state, command, now)
        case AskResident():
            return pause.ask_resident(state, command, now)
        case ResidentAnswer():
            if state.pause is None:
                raise CommandRejected("note", "the case is not waiting on the resident")
            return [pause.resumed(state, now)]
        case ProposeTermination():
            return termination.propose_termination(state, command, now)
        case ReviewTermination():
            return termination.review_termination(state, command, now)
        case DeclineCase():
            return report_in.decline(state, command, now)
        case RecordProgress():
            return handling.progress(state, command, now)
        case CompletePart():
            return handling.complete(state, command, now)
        case EvaluateOutcome():
            return evaluation.evaluate(state, command, now)
        case IssueDirective():
            return escalation.direct(state, command, now)
        case WithdrawComplaint():
            return [CaseWithdrawn(at=now, reason=command.reason), CaseClosed(at=now, outcome="withdrawn")]
        case RecordNote():
            return notes.note(state, command, now)
        case ReachDeadline():
            return deadlines.reach_deadline(state, command, now)
