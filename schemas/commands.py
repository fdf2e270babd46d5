"""Commands: what actors ask a case to do, in the imperative. The decider accepts or rejects each.

Every command carries its ``actor`` (``schemas.actors``); the decider checks that actor may send it, so a
command names who acts once, there, and never again in a field of its own.

Past 300 lines: the catalog of every command, one class each with its fields' descriptions, kept in one place so
the ``PersonCommand`` union and ``COMMANDS`` are built from one list.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, ClassVar, Literal, get_args

from pydantic import Field, model_validator

from schemas.actors import SYSTEM, Actor, ActorKind
from schemas.common import Code, ComplaintId, Duration, LongText, Model, Name, Note, ShortText
from schemas.evidence import Photos, none_attached

Rating = Literal["satisfied", "basically_satisfied", "unsatisfied"]
DirectiveKind = Literal["order", "extend", "park"]
DeadlineKind = Literal[
    "verify",
    "report_in",
    "reroute",
    "handling",
    "evaluation",
    "first_secretary",
    "extension",
    "ledger",
    "ledger_review",
    "review",
    "termination",
    "ruling",
    "pause",
    "follow_up",
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


class CaseCommand(Model):
    """What every command a person sends has besides its fields: the one definition every surface is built from.

    ``type`` is the command's name: the workflow's Update, the SDK's call, the CLI command and the HTTP path
    (``report_in``: ``whistle report-in``, ``POST .../report-in``). ``actors``: the kinds of actor that may send it
    (the gateway's keys and the CLI's flags follow it; the decider checks who exactly, ``schemas/rules/authority.py``).
    ``label``: what a supervisor reads, Chinese first."""

    actors: ClassVar[tuple[ActorKind, ...]]
    label: ClassVar[str]
    if TYPE_CHECKING:  # each command declares it after ``type``, so its fields keep their order on the wire
        actor: Actor

    @classmethod
    def name(cls) -> str:
        default: str = cls.model_fields["type"].default
        return default


class VerifyComplaint(CaseCommand):
    """A grid worker confirms the problem (网格发现); ``resolved_in_grid`` closes it inside the grid."""

    actors: ClassVar[tuple[ActorKind, ...]] = ("grid_worker",)
    label: ClassVar[str] = "网格核实 A grid worker verifies the complaint, or resolves it in the grid"
    type: Literal["verify"] = "verify"
    actor: Actor
    resolved_in_grid: bool = Field(
        False, description="Resolved on the spot, inside the grid: the case closes (就地解决)."
    )
    note: Note = Field("", description="A free-text note, kept on the record.")


class BlowWhistle(CaseCommand):
    """The community secretary summons departments (社区吹哨), naming a lead."""

    actors: ClassVar[tuple[ActorKind, ...]] = ("community_secretary",)
    label: ClassVar[str] = "社区吹哨 The community secretary blows the whistle, summoning departments"
    type: Literal["blow"] = "blow"
    actor: Actor
    departments: list[Code] = Field(min_length=1, max_length=10, description="Department codes from the org directory.")
    lead: Code | None = Field(
        None, description="The lead department (牵头部门), one of those named; default: the first."
    )
    grade: Grade = Field(
        "blue",
        description="The whistle's grade (蓝/黄/红哨): how fast, and how senior, the departments must report in.",
    )
    note: Note = Field("", description="A free-text note, kept on the record.")

    @model_validator(mode="after")
    def _distinct(self) -> BlowWhistle:
        if len(set(self.departments)) != len(self.departments):
            raise ValueError("departments: each department may be named once")
        if self.lead is not None and self.lead not in self.departments:
            raise ValueError("lead: the lead must be one of the departments summoned")
        return self


class ReportIn(CaseCommand):
    """A summoned department reports in (部门报到) through a named officer of at least the whistle's seniority."""

    actors: ClassVar[tuple[ActorKind, ...]] = ("department",)
    label: ClassVar[str] = "部门报到 A summoned department reports in through an officer"
    type: Literal["report_in"] = "report_in"
    actor: Actor
    department: Code = Field(description="The department's code.")
    officer: Name = Field(description="The name of the officer who reported in.")
    seniority: Seniority = Field(
        "section_head",
        description="The officer's rank: section_head (科长), deputy_head (分管副职), head (主要负责人).",
    )


class ReportInProactively(CaseCommand):
    """Reporting in without waiting for the whistle (不等吹哨、主动报到): a department joins the work on its own
    initiative, or the community's first secretary comes in person (``department`` is then empty)."""

    actors: ClassVar[tuple[ActorKind, ...]] = ("department", "first_secretary")
    label: ClassVar[str] = "主动报到 A department joins unasked, or the first secretary comes in person"
    type: Literal["report_in_proactively"] = "report_in_proactively"
    actor: Actor
    department: Code | None = Field(
        None, description="The department joining; leave it out when the first secretary comes in person."
    )
    officer: Name = Field(description="The name of the officer who reported in.")
    seniority: Seniority = Field(
        "section_head",
        description="The officer's rank: section_head (科长), deputy_head (分管副职), head (主要负责人).",
    )


class RequestExtension(CaseCommand):
    """A working department asks for more time (延期) with a reason."""

    actors: ClassVar[tuple[ActorKind, ...]] = ("department",)
    label: ClassVar[str] = "申请延期 A working department asks for more time"
    type: Literal["request_extension"] = "request_extension"
    actor: Actor
    department: Code = Field(description="The department's code.")
    extend_by: Duration = Field(description="How much more time: hours (24h), days (3d) or working days (5wd).")
    reason: ShortText = Field(description="Why more time is needed.")


class AnswerExtension(CaseCommand):
    """The approver the policy names (the first secretary by default) approves or refuses the request."""

    actors: ClassVar[tuple[ActorKind, ...]] = ("community_secretary", "first_secretary", "street_secretary")
    label: ClassVar[str] = "审批延期 The approver the policy names approves or refuses a request for more time"
    type: Literal["answer_extension"] = "answer_extension"
    actor: Actor
    approve: bool = Field(description="Approve (yes) or refuse (no).")
    note: Note = Field("", description="A free-text note, kept on the record.")


class RateDepartment(CaseCommand):
    """The community rates a department that finished its part (双考核): in person at the seniority asked, and
    the result. Whether it reported in on time is taken from the case itself."""

    actors: ClassVar[tuple[ActorKind, ...]] = ("community_secretary",)
    label: ClassVar[str] = "双考核 The community rates a department that finished its part"
    type: Literal["rate_department"] = "rate_department"
    actor: Actor
    department: Code = Field(description="The department's code.")
    in_person: bool = Field(description="Whether the department came in person at the seniority the whistle asked.")
    result: Score = Field(
        description="The community's rating of the department's work: good (好), fair (一般), poor (差)."
    )
    comment: Note = Field("", description="The community's comment.")


class DeclineCase(CaseCommand):
    """A summoned department declines with a reason (退单, "not ours")."""

    actors: ClassVar[tuple[ActorKind, ...]] = ("department",)
    label: ClassVar[str] = "退单 A summoned department declines with a reason"
    type: Literal["decline"] = "decline"
    actor: Actor
    department: Code = Field(description="The department's code.")
    reason: ShortText = Field(description="Why the case is not the department's (退单理由).")
    category: Code | None = Field(
        None, description="The category the department believes is right: a proposal the community secretary may "
        "take up (recategorise).",
    )  # fmt: skip


class RecordProgress(CaseCommand):
    """A department working the case records what it did (联合处置)."""

    actors: ClassVar[tuple[ActorKind, ...]] = ("department",)
    label: ClassVar[str] = "联合处置 A working department records progress"
    type: Literal["progress"] = "progress"
    actor: Actor
    department: Code = Field(description="The department's code.")
    note: LongText = Field(description="What was done.")
    photos: Photos = Field(
        default=(), exclude_if=none_attached, description="Photos of the work in progress, uploaded first."
    )


class CompletePart(CaseCommand):
    """A department marks its part of the handling done."""

    actors: ClassVar[tuple[ActorKind, ...]] = ("department",)
    label: ClassVar[str] = "办结 A working department marks its part done; the last one ends handling"
    type: Literal["complete"] = "complete"
    actor: Actor
    department: Code = Field(description="The department's code.")
    result: LongText = Field(description="What the department achieved.")
    photos: Photos = Field(
        default=(),
        exclude_if=none_attached,
        description="Photos of the finished work (after), uploaded first; the policy may require one.",
    )


class EvaluateOutcome(CaseCommand):
    """The reporter rates the result (居民评价)."""

    actors: ClassVar[tuple[ActorKind, ...]] = ("resident", "operator")
    label: ClassVar[str] = "居民评价 The reporter (or a hotline operator for them) rates the result"
    type: Literal["evaluate"] = "evaluate"
    actor: Actor
    rating: Rating = Field(description="The resident's rating: satisfied, basically_satisfied or unsatisfied.")
    comment: Note = Field("", description="The resident's comment.")


class IssueDirective(CaseCommand):
    """The first (or street) secretary answers an escalation: order departments in, extend, or park (挂账)."""

    actors: ClassVar[tuple[ActorKind, ...]] = ("first_secretary", "street_secretary")
    label: ClassVar[str] = "指令 A first or street secretary orders departments in, extends or parks (挂账)"
    type: Literal["direct"] = "direct"
    actor: Actor
    kind: DirectiveKind = Field(description="order (departments in), extend (the running deadlines) or park (挂账).")
    departments: list[Code] = Field(
        default_factory=list, max_length=10, description="The departments an order summons (only with kind order)."
    )
    extend_by: Duration | None = Field(None, description="By how long (only with kind extend): 24h, 3d, 5wd.")
    note: Note = Field("", description="A free-text note, kept on the record.")

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


class WithdrawComplaint(CaseCommand):
    """The reporter withdraws the complaint; the case closes."""

    actors: ClassVar[tuple[ActorKind, ...]] = ("resident", "operator")
    label: ClassVar[str] = "撤回 The reporter (or a hotline operator for them) withdraws the complaint"
    type: Literal["withdraw"] = "withdraw"
    actor: Actor
    reason: ShortText = Field(description="Why the complaint is withdrawn.")


class ReachDeadline(Model):
    """Issued by the workflow's own timer, never by a person: a stage clock has run out."""

    type: Literal["deadline"] = "deadline"
    actor: Actor = SYSTEM
    kind: DeadlineKind
    department: Code | None = None


class RuleResponsibility(CaseCommand):
    """The street office rules a disputed case (职责争议): it names the departments that must handle it."""

    actors: ClassVar[tuple[ActorKind, ...]] = ("street_secretary",)
    label: ClassVar[str] = "职责裁定 The street office rules a case every department declined"
    type: Literal["rule_responsibility"] = "rule_responsibility"
    actor: Actor
    departments: list[Code] = Field(min_length=1, max_length=10, description="Department codes from the org directory.")
    lead: Code | None = Field(None, description="The lead department, one of those named; default: the first.")
    note: Note = Field("", description="A free-text note, kept on the record.")

    @model_validator(mode="after")
    def _distinct(self) -> RuleResponsibility:
        if len(set(self.departments)) != len(self.departments):
            raise ValueError("departments: each department may be named once")
        if self.lead is not None and self.lead not in self.departments:
            raise ValueError("lead: the lead must be one of the departments named")
        return self


class AskResident(CaseCommand):
    """The case waits on the resident (more information, access to their home): its clocks stop until they answer."""

    actors: ClassVar[tuple[ActorKind, ...]] = ("grid_worker", "community_secretary", "department")
    label: ClassVar[str] = "等待居民 The case waits on the resident: its clocks stop"
    type: Literal["ask_resident"] = "ask_resident"
    actor: Actor
    reason: ShortText = Field(description="What the case waits for from the resident.")


class ResidentAnswer(CaseCommand):
    """The resident (or a hotline operator for them) answered: the clocks run again."""

    actors: ClassVar[tuple[ActorKind, ...]] = ("resident", "operator")
    label: ClassVar[str] = "居民答复 The resident answered: the clocks run again"
    type: Literal["resident_answer"] = "resident_answer"
    actor: Actor
    note: Note = Field("", description="A free-text note, kept on the record.")


class ReviewResults(CaseCommand):
    """The community secretary reviews the departments' results before the resident is asked (审核)."""

    actors: ClassVar[tuple[ActorKind, ...]] = ("community_secretary",)
    label: ClassVar[str] = "审核 The community secretary accepts the results or sends them back"
    type: Literal["review_results"] = "review_results"
    actor: Actor
    approve: bool = Field(description="Approve (yes) or refuse (no).")
    reason: Note = Field("", description="Why the results go back (required when not approved).")

    @model_validator(mode="after")
    def _reason_when_rejected(self) -> ReviewResults:
        if not self.approve and not self.reason:
            raise ValueError("reason: a rejected result says why")
        return self


class ProposeTermination(CaseCommand):
    """The community secretary proposes ending the case without a rating (终止办理), with a reason."""

    actors: ClassVar[tuple[ActorKind, ...]] = ("community_secretary",)
    label: ClassVar[str] = "申请终止 The community secretary proposes ending the case without a rating"
    type: Literal["propose_termination"] = "propose_termination"
    actor: Actor
    reason: TerminationReason = Field(
        description="Why the case ends without a rating (not ours, a duplicate, an unreasonable demand, unreachable)."
    )
    note: ShortText = Field(description="The explanation, in words.")


class ReviewTermination(CaseCommand):
    """The first (or street) secretary approves the proposed termination, which closes the case, or refuses it."""

    actors: ClassVar[tuple[ActorKind, ...]] = ("first_secretary", "street_secretary")
    label: ClassVar[str] = "审批终止 The first or street secretary approves or refuses a proposed termination"
    type: Literal["review_termination"] = "review_termination"
    actor: Actor
    approve: bool = Field(description="Approve (yes) or refuse (no).")
    note: Note = Field("", description="A free-text note, kept on the record.")


class RecordNote(CaseCommand):
    """An official of the case puts a note on its record (工作备注): a call to the resident, a visit, what was
    agreed. It moves no stage and no clock; a case keeps at most the policy's ``max_progress_notes`` of them."""

    actors: ClassVar[tuple[ActorKind, ...]] = (
        "grid_worker", "community_secretary", "first_secretary", "street_secretary", "department", "operator",
    )  # fmt: skip
    label: ClassVar[str] = "工作备注 An official of the case records a note: a call, a visit, what was agreed"
    type: Literal["record_note"] = "record_note"
    actor: Actor
    note: LongText = Field(description="What happened, in words.")


class RaiseGrade(CaseCommand):
    """The community secretary raises the whistle for a department that has not reported in yet (升哨): a higher
    grade, so a shorter report-in window from now and a more senior officer. Once per department, as a miss
    would raise it once."""

    actors: ClassVar[tuple[ActorKind, ...]] = ("community_secretary",)
    label: ClassVar[str] = "升哨 The community secretary raises the whistle for a department still to report in"
    type: Literal["raise_grade"] = "raise_grade"
    actor: Actor
    department: Code = Field(description="The summoned department that has not reported in.")
    grade: Grade = Field(description="The new grade, above the department's: yellow (黄哨) or red (红哨).")


class UrgeCase(CaseCommand):
    """A supervisor urges a case (催办): whoever holds it now hears so, and the urging is counted against them."""

    actors: ClassVar[tuple[ActorKind, ...]] = ("supervisor",)
    label: ClassVar[str] = "催办 A supervisor urges whoever holds the case now"
    type: Literal["urge"] = "urge"
    actor: Actor
    note: Note = Field("", description="What the supervisor asks for, in words.")


class FlagCase(CaseCommand):
    """A supervisor puts a case under leader supervision (重点督办): lists and the dashboard show it, and the policy's
    ``flagged_windows`` shortens the windows still running."""

    actors: ClassVar[tuple[ActorKind, ...]] = ("supervisor",)
    label: ClassVar[str] = "重点督办 A supervisor puts the case under leader supervision"
    type: Literal["flag"] = "flag"
    actor: Actor
    note: Note = Field(min_length=1, description="Why the case is under leader supervision (the leader's instruction).")


class UnflagCase(CaseCommand):
    """A supervisor lifts leader supervision (解除督办); the shortened windows stay as they were set."""

    actors: ClassVar[tuple[ActorKind, ...]] = ("supervisor",)
    label: ClassVar[str] = "解除督办 A supervisor lifts leader supervision"
    type: Literal["unflag"] = "unflag"
    actor: Actor
    note: Note = Field("", description="Why supervision is lifted.")


class Recategorise(CaseCommand):
    """The community secretary, or the street office ruling on a dispute, corrects the case's category (改类/改派).

    The client completes it before it is sent (``schemas.rules.category.ResolvedRecategorise``): the new category's
    directory entry, routing suggestions and windows, resolved from the client's directory and policy as at filing."""

    actors: ClassVar[tuple[ActorKind, ...]] = ("community_secretary", "street_secretary")
    label: ClassVar[str] = "改类 The community secretary or the street office corrects the case's category"
    type: Literal["recategorise"] = "recategorise"
    actor: Actor
    category: Code = Field(description="The right category; routing suggestions and later windows follow it.")
    reason: Note = Field(min_length=1, description="Why the category was wrong, on the record.")


FollowUpVerdict = Literal["solved", "unsolved", "unreached"]
"""What a follow-up call (回访) found: the resident says the problem is solved (已解决) or not (未解决), or the call did
not reach them (未接通)."""


class RecordFollowUp(CaseCommand):
    """A hotline operator records a follow-up call after closure (回访): whether it reached the resident and what they
    said; an unsolved problem reopens the case while it may still be reopened."""

    actors: ClassVar[tuple[ActorKind, ...]] = ("operator",)
    label: ClassVar[str] = "回访 A hotline operator records a follow-up call after closure"
    type: Literal["record_follow_up"] = "record_follow_up"
    actor: Actor
    verdict: FollowUpVerdict = Field(
        description=(
            "What the call found: solved (已解决), unsolved (未解决: the case reopens, up to max_reopens) or "
            "unreached (未接通)."
        )
    )
    note: Note = Field("", description="What the resident said, in words.")


class MergeCase(CaseCommand):
    """This case reports a problem another open case already carries (工单合并, "me too"): it is merged into that
    case, its clocks stop, and its reporter hears the other case's outcome and rates it."""

    actors: ClassVar[tuple[ActorKind, ...]] = ("community_secretary", "operator")
    label: ClassVar[str] = "工单合并 Merge this case into another open case of the same problem"
    type: Literal["merge"] = "merge"
    actor: Actor
    into: ComplaintId = Field(
        description="The primary case's complaint id: open, in the same community, not merged itself."
    )
    note: Note = Field("", description="A free-text note, kept on the record.")


class UnmergeCase(CaseCommand):
    """A mistaken merge is undone while the primary case is open: the case resumes where it was, its clocks moved by
    the time it stood merged."""

    actors: ClassVar[tuple[ActorKind, ...]] = ("community_secretary", "operator")
    label: ClassVar[str] = "撤销合并 Undo a mistaken merge while the primary case is open"
    type: Literal["unmerge"] = "unmerge"
    actor: Actor
    reason: ShortText = Field(description="Why the merge was a mistake.")


# The cases' own messages for merging: signals one case's workflow sends another, never sent by a person. Each is
# decided like a command (``schemas/rules/merging.py``), so what it records is an event of the receiving case.


class LinkReport(Model):
    """To the primary: the report ``case`` was merged into you (answered with ``ReleaseMerge`` if refused)."""

    type: Literal["link_report"] = "link_report"
    actor: Actor = SYSTEM
    case: ComplaintId
    community: Code


class UnlinkReport(Model):
    """To the primary: the report ``case`` is no longer merged into you."""

    type: Literal["unlink_report"] = "unlink_report"
    actor: Actor = SYSTEM
    case: ComplaintId
    reason: str


class HearPrimaryOutcome(Model):
    """To each merged report: the primary closed with ``outcome``."""

    type: Literal["primary_closed"] = "primary_closed"
    actor: Actor = SYSTEM
    primary: ComplaintId
    outcome: str
    closure_reason: TerminationReason | None = None


class ReleaseMerge(Model):
    """To a merged report: the primary cannot carry you (``reason``); resume."""

    type: Literal["release_merge"] = "release_merge"
    actor: Actor = SYSTEM
    primary: ComplaintId
    reason: str


MergeSignal = LinkReport | UnlinkReport | HearPrimaryOutcome | ReleaseMerge


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
    | RecordNote
    | RaiseGrade
    | UrgeCase
    | FlagCase
    | UnflagCase
    | Recategorise
    | RecordFollowUp
    | MergeCase
    | UnmergeCase
)
"""Every command a person can send; ``ReachDeadline`` is the workflow's own."""

Command = Annotated[PersonCommand | ReachDeadline | MergeSignal, Field(discriminator="type")]

COMMANDS: dict[str, type[CaseCommand]] = {model.name(): model for model in get_args(PersonCommand)}
"""Every command a person can send, by name: what the workflow, the SDK, the CLI and the gateway are built from."""

MERGE_SIGNALS: dict[str, type[Model]] = {model.model_fields["type"].default: model for model in get_args(MergeSignal)}
"""The signals between two cases' workflows for merging, by name."""
