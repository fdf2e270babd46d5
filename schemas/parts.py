"""The pieces a case's state is made of: its stage, its clocks, each department's part, what waits on whom.

``schemas.state.CaseState`` holds them; the fold (``schemas.fold``, each concept's ``CHANGES``) builds them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import AwareDatetime

from schemas.actors import Actor
from schemas.commands import DeadlineKind, Grade, Score, Seniority, TerminationReason
from schemas.common import Code, ComplaintId, Duration, Model, Name, PersonId
from schemas.events import EscalationCause, LedgerReason

Stage = Literal["discovered", "whistled", "handling", "evaluating", "closed", "merged"]
"""``merged``: merged into another case of the same problem (工单合并), waiting for it to close."""
DepartmentStatus = Literal["summoned", "reported_in", "declined", "done"]


class Clock(Model):
    """A running window: it started at ``start`` and is due at ``due``; ``lapsed`` once the timer fired."""

    start: AwareDatetime
    due: AwareDatetime
    lapsed: bool = False


class CommunityRating(Model):
    """The community's rating of one department's part (双考核)."""

    on_time: bool
    in_person: bool
    result: Score


class DepartmentPart(Model):
    """One department's part in the case. A part joined proactively (主动报到) has no report-in clock."""

    status: DepartmentStatus
    report_in: Clock | None = None
    grade: Grade = "blue"
    grade_raised: bool = False
    officer: Name | None = None
    seniority: Seniority | None = None
    reported_on_time: bool | None = None
    proactive: bool = False
    ruled: bool = False
    decline_reason: str | None = None
    declines: int = 0
    progress_notes: int = 0
    result: str | None = None
    rating: CommunityRating | None = None


class PendingExtension(Model):
    """A department's request for more time (延期), waiting for ``approver`` until ``answer.due``."""

    department: Code
    extend_by: Duration
    reason: str
    approver: PersonId
    answer: Clock


class PendingTermination(Model):
    """A proposal to end the case without a rating (终止办理), waiting for ``reviewer`` until ``review.due``."""

    reason: TerminationReason
    note: str
    by: PersonId
    reviewer: PersonId
    review: Clock


class Pause(Model):
    """The case waits on the resident since ``since``; ``resume.due`` is when the allowance runs out."""

    since: AwareDatetime
    reason: str
    resume: Clock


class LedgerEntry(Model):
    """The case's place on the long-running ledger (挂账): why, since when, whose, and the next review."""

    reason: LedgerReason
    since: AwareDatetime
    owner: PersonId
    review: Clock


class Escalation(Model):
    """Who holds the case above the community (1 first secretary, 2 street secretary) and by when."""

    level: Literal[1, 2]
    causes: list[EscalationCause]
    respond: Clock


class FollowUpWindow(Model):
    """After closure, follow-up calls (回访) are taken until ``clock.due``; ``asked``: the case closed unevaluated, so
    the policy asks for one; ``reached``: a call has reached the resident."""

    clock: Clock
    asked: bool
    reached: bool = False


class Deadline(Model):
    """An open clock the workflow keeps a timer for."""

    kind: DeadlineKind
    department: Code | None = None
    clock: Clock


POLICY_WINDOW: dict[DeadlineKind, str] = {
    "verify": "verify",
    "report_in": "report_in",
    "reroute": "report_in",
    "handling": "handling",
    "evaluation": "evaluation",
    "first_secretary": "first_secretary",
    "extension": "extension_answer",
    "ledger": "handling",
    "ledger_review": "ledger_review",
    "review": "review",
    "termination": "termination_review",
    "ruling": "ruling",
    "pause": "max_pause",
    "follow_up": "follow_up",
}
"""Which policy window sets each kind of clock."""

PAUSED_KINDS: frozenset[DeadlineKind] = frozenset(
    {"verify", "report_in", "reroute", "ruling", "handling", "review", "evaluation", "first_secretary", "ledger"}
)
"""The clocks that stand still while the case waits on the resident; officials' own answers keep running."""


def with_parts(departments: dict[Code, DepartmentPart], **updates: DepartmentPart) -> dict[Code, DepartmentPart]:
    """``departments`` with the parts in ``updates`` put in (a new dict; the state's own is never changed)."""
    return {**departments, **updates}


def summon(
    departments: dict[Code, DepartmentPart], codes: list[Code], at: datetime, due: datetime, grade: Grade = "blue",
    ruled: bool = False,
) -> dict[Code, DepartmentPart]:
    """``departments`` with each of ``codes`` summoned anew; a department keeps the count of its past declines."""
    clock = Clock(start=at, due=due)
    updates: dict[Code, DepartmentPart] = {}
    for code in codes:
        previous = departments.get(code)
        declines = previous.declines if previous else 0
        updates[code] = DepartmentPart(
            status="summoned", report_in=clock, grade=grade, declines=declines, ruled=ruled
        )
    return with_parts(departments, **updates)


class MergeEntry(Model):
    """The case merged into ``into`` (工单合并) since ``since`` by ``by``, from ``stage``: where it resumes if the
    merge is undone. It stays on the case once the primary closed (the case then closes as ``merged``)."""

    into: ComplaintId
    since: AwareDatetime
    stage: Stage
    by: Actor
