"""Commands: what actors ask a case to do, in the imperative. The decider accepts or rejects each.

Every command carries its ``actor`` (``schemas.actors``); the decider checks that actor may send it, so a
command names who acts once, there, and never again in a field of its own.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from schemas.actors import SYSTEM, Actor
from schemas.common import Code, Duration, LongText, Model, Name, Note, ShortText

Rating = Literal["satisfied", "basically_satisfied", "unsatisfied"]
DirectiveKind = Literal["order", "extend", "park"]
DeadlineKind = Literal[
    "verify", "report_in", "reroute", "handling", "evaluation", "first_secretary", "extension", "ledger",
    "ledger_review", "review", "termination", "ruling", "pause",
]
TerminationReason = Literal["not_our_responsibility", "duplicate", "unreasonable_demand", "resident_unreachable"]
"""Why a case may end without a rating (终止办理): not the community's responsibility, a duplicate, an
unreasonable demand after explanation, the resident not reachable."""
Grade = Literal["blue", "yellow", "red"]
"""The whistle's grade (蓝/黄/红哨): how fast, and how senior, the departments must report in."""
Seniority = Literal["section_head", "deputy_head", "head"]
"""Who reports in for a department: a section head (科长), the deputy in charge (分管副职), the head (主要负责人)."""
SENIORITY_RANK: dict[Seniority, int] = {"section_head": 0, "deputy_head": 1, "head": 2}
Score = Literal["good", "fair", "poor"]
"""The community's rating of a department's work (双考核): 好, 一般, 差."""


class VerifyComplaint(Model):
    """A grid worker confirms the problem (网格发现); ``resolved_in_grid`` closes it inside the grid."""

    type: Literal["verify"] = "verify"
    actor: Actor
    resolved_in_grid: bool = False
    note: Note = ""


class BlowWhistle(Model):
    """The community secretary summons departments (社区吹哨), naming a lead."""

    type: Literal["blow"] = "blow"
    actor: Actor
    departments: list[Code] = Field(min_length=1, max_length=10)
    lead: Code | None = None
    grade: Grade = "blue"
    note: Note = ""

    @model_validator(mode="after")
    def _distinct(self) -> BlowWhistle:
        if len(set(self.departments)) != len(self.departments):
            raise ValueError("departments: each department may be named once")
        if self.lead is not None and self.lead not in self.departments:
            raise ValueError("lead: the lead must be one of the departments summoned")
        return self


class ReportIn(Model):
    """A summoned department reports in (部门报到) through a named officer of at least the whistle's seniority."""

    type: Literal["report_in"] = "report_in"
    actor: Actor
    department: Code
    officer: Name
    seniority: Seniority = "section_head"


class ReportInProactively(Model):
    """Reporting in without waiting for the whistle (不等吹哨、主动报到): a department joins the work on its own
    initiative, or the community's first secretary comes in person (``department`` is then empty)."""

    type: Literal["report_in_proactively"] = "report_in_proactively"
    actor: Actor
    department: Code | None = None
    officer: Name
    seniority: Seniority = "section_head"


class RequestExtension(Model):
    """A working department asks for more time (延期) with a reason."""

    type: Literal["request_extension"] = "request_extension"
    actor: Actor
    department: Code
    extend_by: Duration
    reason: ShortText


class AnswerExtension(Model):
    """The approver the policy names (the first secretary by default) approves or refuses the request."""

    type: Literal["answer_extension"] = "answer_extension"
    actor: Actor
    approve: bool
    note: Note = ""


class RateDepartment(Model):
    """The community rates a department that finished its part (双考核): in person at the seniority asked, and
    the result. Whether it reported in on time is taken from the case itself."""

    type: Literal["rate_department"] = "rate_department"
    actor: Actor
    department: Code
    in_person: bool
    result: Score
    comment: Note = ""


class DeclineCase(Model):
    """A summoned department declines with a reason (退单, "not ours")."""

    type: Literal["decline"] = "decline"
    actor: Actor
    department: Code
    reason: ShortText


class RecordProgress(Model):
    """A department working the case records what it did (联合处置)."""

    type: Literal["progress"] = "progress"
    actor: Actor
    department: Code
    note: LongText


class CompletePart(Model):
    """A department marks its part of the handling done."""

    type: Literal["complete"] = "complete"
    actor: Actor
    department: Code
    result: LongText


class EvaluateOutcome(Model):
    """The reporter rates the result (居民评价)."""

    type: Literal["evaluate"] = "evaluate"
    actor: Actor
    rating: Rating
    comment: Note = ""


class IssueDirective(Model):
    """The first (or street) secretary answers an escalation: order departments in, extend, or park (挂账)."""

    type: Literal["direct"] = "direct"
    actor: Actor
    kind: DirectiveKind
    departments: list[Code] = Field(default_factory=list, max_length=10)
    extend_by: Duration | None = None
    note: Note = ""

    @model_validator(mode="after")
    def _fits_kind(self) -> IssueDirective:
        if self.kind == "order" and not self.departments:
            raise ValueError("departments: an order names at least one department")
        if self.kind != "order" and self.departments:
            raise ValueError("departments: only an order names departments")
        if self.kind == "extend" and self.extend_by is None:
            raise ValueError("extend_by: an extension says by how long")
        if self.kind != "extend" and self.extend_by is not None:
            raise ValueError("extend_by: only an extension takes a duration")
        if len(set(self.departments)) != len(self.departments):
            raise ValueError("departments: each department may be named once")
        return self


class WithdrawComplaint(Model):
    """The reporter withdraws the complaint; the case closes."""

    type: Literal["withdraw"] = "withdraw"
    actor: Actor
    reason: ShortText


class ReachDeadline(Model):
    """Issued by the workflow's own timer, never by a person: a stage clock has run out."""

    type: Literal["deadline"] = "deadline"
    actor: Actor = SYSTEM
    kind: DeadlineKind
    department: Code | None = None


class RuleResponsibility(Model):
    """The street office rules a disputed case (职责争议): it names the departments that must handle it."""

    type: Literal["rule_responsibility"] = "rule_responsibility"
    actor: Actor
    departments: list[Code] = Field(min_length=1, max_length=10)
    lead: Code | None = None
    note: Note = ""

    @model_validator(mode="after")
    def _distinct(self) -> RuleResponsibility:
        if len(set(self.departments)) != len(self.departments):
            raise ValueError("departments: each department may be named once")
        if self.lead is not None and self.lead not in self.departments:
            raise ValueError("lead: the lead must be one of the departments named")
        return self


class AskResident(Model):
    """The case waits on the resident (more information, access to their home): its clocks stop until they answer."""

    type: Literal["ask_resident"] = "ask_resident"
    actor: Actor
    reason: ShortText


class ResidentAnswer(Model):
    """The resident (or a hotline operator for them) answered: the clocks run again."""

    type: Literal["resident_answer"] = "resident_answer"
    actor: Actor
    note: Note = ""


class ReviewResults(Model):
    """The community secretary reviews the departments' results before the resident is asked (审核)."""

    type: Literal["review_results"] = "review_results"
    actor: Actor
    approve: bool
    reason: Note = ""

    @model_validator(mode="after")
    def _reason_when_rejected(self) -> ReviewResults:
        if not self.approve and not self.reason:
            raise ValueError("reason: a rejected result says why")
        return self


class ProposeTermination(Model):
    """The community secretary proposes ending the case without a rating (终止办理), with a reason."""

    type: Literal["propose_termination"] = "propose_termination"
    actor: Actor
    reason: TerminationReason
    note: ShortText


class ReviewTermination(Model):
    """The first (or street) secretary approves the proposed termination, which closes the case, or refuses it."""

    type: Literal["review_termination"] = "review_termination"
    actor: Actor
    approve: bool
    note: Note = ""


PersonCommand = (
    VerifyComplaint
    | BlowWhistle
    | ReportIn
    | ReportInProactively
    | RequestExtension
    | AnswerExtension
    | RateDepartment
    | ReviewResults
    | RuleResponsibility
    | AskResident
    | ResidentAnswer
    | ProposeTermination
    | ReviewTermination
    | DeclineCase
    | RecordProgress
    | CompletePart
    | EvaluateOutcome
    | IssueDirective
    | WithdrawComplaint
)
"""Every command a person can send; ``ReachDeadline`` is the workflow's own."""

Command = Annotated[PersonCommand | ReachDeadline, Field(discriminator="type")]
