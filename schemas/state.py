"""The case state. ``schemas.fold.apply`` is the only way a case's state changes.

The workflow, the event-store projections and any rebuild all fold the same events with the same code, so
the three cannot disagree. Every value that can be derived from the events is derived here. The pieces
the state is made of are in ``schemas.parts``; what each event changes is in its concept's module
(``schemas/rules/<concept>.py``, ``CHANGES``), gathered by ``schemas.fold``.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import AwareDatetime

from schemas.commands import Rating, TerminationReason
from schemas.common import Code, Duration, Model
from schemas.events import Outcome
from schemas.evidence import Photo
from schemas.intake import ComplaintInput
from schemas.parts import (
    PAUSED_KINDS,
    POLICY_WINDOW,
    Clock,
    CommunityRating,
    Deadline,
    DepartmentPart,
    DepartmentStatus,
    Escalation,
    FollowUpWindow,
    LedgerEntry,
    MergeEntry,
    Pause,
    PendingExtension,
    PendingTermination,
    Stage,
)

__all__ = [
    "PAUSED_KINDS",
    "POLICY_WINDOW",
    "CaseState",
    "Clock",
    "CommunityRating",
    "Deadline",
    "DepartmentPart",
    "DepartmentStatus",
    "Escalation",
    "FollowUpWindow",
    "LedgerEntry",
    "MergeEntry",
    "Pause",
    "PendingExtension",
    "PendingTermination",
    "Stage",
]


class CaseState(Model):
    """Everything known about one case, as folded from its events."""

    case: ComplaintInput
    filed_at: AwareDatetime
    updated_at: AwareDatetime
    stage: Stage = "discovered"
    verified_by: str | None = None
    resolved_in_grid: bool = False
    departments: dict[Code, DepartmentPart] = {}
    lead: Code | None = None
    verify: Clock | None = None
    reroute: Clock | None = None
    dispute: Clock | None = None
    pause: Pause | None = None
    paused_seconds: float = 0
    handling: Clock | None = None
    evaluation: Clock | None = None
    escalation: Escalation | None = None
    parked: bool = False
    extension: PendingExtension | None = None
    ledger: LedgerEntry | None = None
    review: Clock | None = None
    termination: PendingTermination | None = None
    closure_reason: TerminationReason | None = None
    first_secretary_present: bool = False
    reopen_count: int = 0
    notes: int = 0
    urgings: int = 0
    flagged: bool = False
    flaggings: int = 0
    recategorisations: int = 0
    rating: Rating | None = None
    outcome: Outcome | None = None
    closed_at: AwareDatetime | None = None
    event_count: int = 1
    photos: tuple[Photo, ...] = ()
    """Photos recorded after filing (progress, completion), each once; the filing's are in the intake."""
    follow_up: FollowUpWindow | None = None
    """After closure: the follow-up window (回访), while the case takes calls, and after it ran out (lapsed)."""
    follow_ups: int = 0
    merge: MergeEntry | None = None
    """Merged into another case (工单合并): into which, since when, from which stage."""
    merges: int = 0
    """How many times the case was merged (at most the policy's ``max_merges``)."""
    linked_reports: list[str] = []
    """The reports merged into this case now: their reporters hear its outcome."""
    links: int = 0
    """How many reports were ever linked to this case (at most the policy's ``max_linked_reports``)."""

    @property
    def complaint_id(self) -> str:
        return self.case.complaint_id

    def all_photos(self) -> tuple[Photo, ...]:
        """Every photo the case carries: the filing's (before) first, then those recorded since, each once."""
        return self.case.intake.photos + self.photos

    @property
    def escalation_level(self) -> int:
        """0 none, 1 first secretary, 2 street secretary; 0 while merged (工单合并), where nobody works it: the
        escalation is kept and holds again if the merge is undone."""
        return self.escalation.level if self.escalation and not self.merge else 0

    def with_status(self, *statuses: DepartmentStatus) -> list[Code]:
        """Departments whose part is in one of ``statuses``, in the order they were summoned."""
        return [code for code, part in self.departments.items() if part.status in statuses]

    def open_deadlines(self) -> list[Deadline]:
        """Clocks the workflow must watch. A parked case keeps only its evaluation and ledger review clocks; a closed
        case only its follow-up window (回访)."""
        if self.stage == "closed":
            window = self.follow_up
            return [Deadline(kind="follow_up", clock=window.clock)] if window and not window.clock.lapsed else []
        if self.merge is not None:  # merged (工单合并): its clocks stand still; only the rating of the outcome runs
            rating = self.evaluation
            return [Deadline(kind="evaluation", clock=rating)] if rating and not rating.lapsed else []
        found: list[Deadline] = []
        if self.evaluation and not self.evaluation.lapsed:
            found.append(Deadline(kind="evaluation", clock=self.evaluation))
        if self.ledger:
            found.append(Deadline(kind="ledger_review", clock=self.ledger.review))
        if self.termination:
            found.append(Deadline(kind="termination", clock=self.termination.review))
        if self.pause:
            found.append(Deadline(kind="pause", clock=self.pause.resume))
        if self.parked:
            return found
        if self.verify and not self.verify.lapsed:
            found.append(Deadline(kind="verify", clock=self.verify))
        if self.reroute and not self.reroute.lapsed:
            found.append(Deadline(kind="reroute", clock=self.reroute))
        if self.dispute and not self.dispute.lapsed:
            found.append(Deadline(kind="ruling", clock=self.dispute))
        for code, part in self.departments.items():
            if part.status == "summoned" and part.report_in and not part.report_in.lapsed:
                found.append(Deadline(kind="report_in", department=code, clock=part.report_in))
        if self.handling and not self.handling.lapsed:
            found.append(Deadline(kind="handling", clock=self.handling))
        if self.review and not self.review.lapsed:
            found.append(Deadline(kind="review", clock=self.review))
        if self.escalation and self.escalation.level == 1 and not self.escalation.respond.lapsed:
            found.append(Deadline(kind="first_secretary", clock=self.escalation.respond))
        if self.extension:
            found.append(Deadline(kind="extension", clock=self.extension.answer))
        if self.handling and self.ledger is None:
            found.append(Deadline(kind="ledger", clock=self.ledger_threshold(self.handling)))
        if self.pause:
            found = [d for d in found if d.kind not in PAUSED_KINDS]
        return found

    def ledger_threshold(self, handling: Clock) -> Clock:
        """When a case still in handling goes on the ledger: ``ledger_after`` times its handling window."""
        window: timedelta = handling.due - handling.start
        return Clock(start=handling.start, due=handling.start + window * self.case.policy.ledger_after)

    def calendar_gaps(self) -> list[int]:
        """Years in which an open working-day clock was counted Monday to Friday for want of calendar data."""
        years: set[int] = set()
        for deadline in self.open_deadlines():
            window: Duration = getattr(self.case.policy, POLICY_WINDOW[deadline.kind])
            if window.unit == "wd":
                years.update(self.case.calendar.missing_years(deadline.clock.start, deadline.clock.due))
        return sorted(years)

    @property
    def next_deadline(self) -> datetime | None:
        """The earliest due time a supervisor should watch, including the street secretary's window."""
        dues = [d.clock.due for d in self.open_deadlines() if d.kind != "follow_up"]  # a closed case is closed to lists
        waiting_above = self.escalation and self.escalation.level == 2 and self.stage != "closed" and not self.merge
        if self.escalation and waiting_above and not (self.parked or self.pause):
            dues.append(self.escalation.respond.due)
        return min(dues, default=None)

    @property
    def overdue_since(self) -> datetime | None:
        """The earliest deadline already missed on a clock that still stands: what makes a case overdue.

        A lapsed clock fires once and leaves ``open_deadlines``, but until its stage moves on (the department
        reports in, handling completes, ...) the case is still late, and supervisors must see it so.
        """
        if self.stage == "closed" or self.parked or self.pause or self.merge:
            return None
        stage_clocks = (self.verify, self.reroute, self.dispute, self.handling, self.review)
        lapsed = [clock.due for clock in stage_clocks if clock and clock.lapsed]
        lapsed += [
            part.report_in.due
            for part in self.departments.values()
            if part.status == "summoned" and part.report_in and part.report_in.lapsed
        ]
        return min(lapsed, default=None)

    @property
    def watched_deadline(self) -> datetime | None:
        """What supervisors' lists filter on: the earliest missed deadline still open, else the next one."""
        return self.overdue_since or self.next_deadline
