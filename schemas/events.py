"""Domain events: facts in the past tense. Once released, an event is never renamed or reshaped.

Each carries the deadlines it set (``*_due``), computed by the decider from the case's policy and
calendar, so the fold only copies them and a rebuild years later reproduces the same clocks.

Past 300 lines: the catalog of every event, one class each, kept in one place so the ``Event`` union, its order
and ``EVENT_TYPES`` are built from one list.
"""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal, get_args

from pydantic import AwareDatetime, Field

from schemas.actors import Actor
from schemas.commands import DirectiveKind, FollowUpVerdict, Grade, Rating, Score, Seniority, TerminationReason
from schemas.common import Code, ComplaintId, Duration, Model, Name, PersonId, Recorded
from schemas.evidence import Photo, none_attached
from schemas.intake import ComplaintInput
from schemas.org import Category
from schemas.policy import CasePolicy

EscalationCause = Literal[
    "verify", "report_in", "reroute", "handling", "reopen_limit", "first_secretary", "extension", "review",
    "ruling",
]
LedgerReason = Literal["parked", "long_overdue"]
Outcome = Literal["satisfied", "basically_satisfied", "unevaluated", "withdrawn", "terminated", "merged"]
"""How a case closed; ``merged``: it was merged into another case of the same problem (工单合并), whose outcome
its reporter heard and rated."""


class EventBase(Model):
    label: ClassVar[str]
    """What a supervisor reads for the event (CLI timelines, the dashboard)."""

    at: AwareDatetime


class ComplaintFiled(EventBase):
    """The case exists (网格发现 begins); it carries everything it will run under."""

    type: Literal["ComplaintFiled"] = "ComplaintFiled"
    label: ClassVar[str] = "立案"
    case: ComplaintInput
    verify_due: AwareDatetime


class GridVerified(EventBase):
    type: Literal["GridVerified"] = "GridVerified"
    label: ClassVar[str] = "网格核实"
    grid_worker: PersonId
    note: str = ""


class ResolvedInGrid(EventBase):
    """Resolved inside the grid (小事不出网格): straight to the resident's evaluation; ends any escalation."""

    type: Literal["ResolvedInGrid"] = "ResolvedInGrid"
    label: ClassVar[str] = "网格内解决"
    grid_worker: PersonId
    note: str = ""
    evaluation_due: AwareDatetime


class WhistleBlown(EventBase):
    """The community summoned departments (社区吹哨); each must report in by ``report_in_due``."""

    type: Literal["WhistleBlown"] = "WhistleBlown"
    label: ClassVar[str] = "社区吹哨"
    by: PersonId
    departments: list[Code]
    lead: Code
    grade: Grade = "blue"
    note: str = ""
    report_in_due: AwareDatetime


class DepartmentReportedIn(EventBase):
    """A department reported in (部门报到); the last one in starts joint handling (``handling_due``)."""

    type: Literal["DepartmentReportedIn"] = "DepartmentReportedIn"
    label: ClassVar[str] = "部门报到"
    department: Code
    officer: Name
    seniority: Seniority = "section_head"
    on_time: bool
    handling_due: AwareDatetime | None = None


class ProactivelyReportedIn(EventBase):
    """Reported in without waiting for the whistle (主动报到): a department joined the work (it counts as on
    time), or the first secretary came in person (``department`` empty). From grid discovery, or when
    nobody else was working, it starts joint handling (``handling_due``)."""

    type: Literal["ProactivelyReportedIn"] = "ProactivelyReportedIn"
    label: ClassVar[str] = "主动报到"
    department: Code | None = None
    by: str
    officer: Name
    seniority: Seniority = "section_head"
    handling_due: AwareDatetime | None = None


class WhistleGradeRaised(EventBase):
    """A missed report-in raised the department's whistle one grade (哨源升级) instead of escalating: a new
    report-in window, and a more senior officer must come."""

    type: Literal["WhistleGradeRaised"] = "WhistleGradeRaised"
    label: ClassVar[str] = "哨源升级"
    department: Code
    grade: Grade
    report_in_due: AwareDatetime


class ExtensionRequested(EventBase):
    """A working department asked for more time (延期); ``approver`` answers by ``answer_due``."""

    type: Literal["ExtensionRequested"] = "ExtensionRequested"
    label: ClassVar[str] = "申请延期"
    department: Code
    extend_by: Duration
    reason: str
    approver: PersonId
    answer_due: AwareDatetime


class ExtensionApproved(EventBase):
    """The request was approved: handling is now due at ``handling_due``; the resident is told."""

    type: Literal["ExtensionApproved"] = "ExtensionApproved"
    label: ClassVar[str] = "批准延期"
    department: Code
    by: PersonId
    extend_by: Duration
    note: str = ""
    handling_due: AwareDatetime


class ExtensionRefused(EventBase):
    """The request was refused, or went unanswered (``lapsed``: counts as refused, and escalates)."""

    type: Literal["ExtensionRefused"] = "ExtensionRefused"
    label: ClassVar[str] = "不予延期"
    department: Code
    by: PersonId | None = None
    note: str = ""
    lapsed: bool = False


class CaseLedgered(EventBase):
    """The case is on the long-running ledger (挂账, 百日解百难): parked, or ``ledger_after`` times its
    handling window gone. ``owner`` (its first secretary) is reminded at ``review_due`` and every period after."""

    type: Literal["CaseLedgered"] = "CaseLedgered"
    label: ClassVar[str] = "列入挂账台账"
    reason: LedgerReason
    owner: PersonId
    review_due: AwareDatetime


class LedgerReviewReminded(EventBase):
    """The periodic review reminder of a ledger entry went to its owner; the next is due at ``review_due``."""

    type: Literal["LedgerReviewReminded"] = "LedgerReviewReminded"
    label: ClassVar[str] = "挂账督办提醒"
    owner: PersonId
    review_due: AwareDatetime


class DepartmentRated(EventBase):
    """The community rated a department that finished its part (双考核): ``on_time`` from its report-in (a
    proactive one counts as on time), ``in_person`` and ``result`` as the community judged."""

    type: Literal["DepartmentRated"] = "DepartmentRated"
    label: ClassVar[str] = "社区评价部门"
    department: Code
    by: PersonId
    on_time: bool
    proactive: bool = False
    in_person: bool
    result: Score
    comment: str = ""


class DepartmentDeclined(EventBase, Recorded):
    """A department declined (退单). It may start handling, or leave nobody and start a re-route clock.
    ``proposed_category``: the category it believes right, for the community secretary to take up or not."""

    type: Literal["DepartmentDeclined"] = "DepartmentDeclined"
    label: ClassVar[str] = "部门退单"
    department: Code
    reason: str
    handling_due: AwareDatetime | None = None
    reroute_due: AwareDatetime | None = None
    proposed_category: Code | None = None

    ADDED_AFTER_RECORDING: ClassVar[frozenset[str]] = frozenset({"proposed_category"})


class ReportInOverdue(EventBase):
    type: Literal["ReportInOverdue"] = "ReportInOverdue"
    label: ClassVar[str] = "报到超时"
    department: Code
    due: AwareDatetime


class EscalatedToFirstSecretary(EventBase):
    """The case is on the first secretary's desk (第一书记); they answer by ``respond_due``."""

    type: Literal["EscalatedToFirstSecretary"] = "EscalatedToFirstSecretary"
    label: ClassVar[str] = "升级至第一书记"
    cause: EscalationCause
    department: Code | None = None
    first_secretary: PersonId
    respond_due: AwareDatetime


class EscalatedToStreetSecretary(EventBase):
    """The first secretary's window passed (or it was already here): the street secretary is told."""

    type: Literal["EscalatedToStreetSecretary"] = "EscalatedToStreetSecretary"
    label: ClassVar[str] = "升级至街道书记"
    cause: EscalationCause
    department: Code | None = None
    street_secretary: PersonId
    respond_due: AwareDatetime


class DirectiveIssued(EventBase):
    """A secretary's answer; ``new_dues`` holds the clocks it set, keyed ``verify``, ``handling``, ...

    Report-in clocks are keyed ``report_in:<department>``.
    """

    type: Literal["DirectiveIssued"] = "DirectiveIssued"
    label: ClassVar[str] = "书记指令"
    by: PersonId
    kind: DirectiveKind
    departments: list[Code] = []
    extend_by: Duration | None = None
    note: str = ""
    new_dues: dict[str, AwareDatetime] = {}


class ProgressRecorded(EventBase):
    type: Literal["ProgressRecorded"] = "ProgressRecorded"
    label: ClassVar[str] = "处置进展"
    department: Code
    note: str
    photos: tuple[Photo, ...] = Field(default=(), exclude_if=none_attached)
    """Photos of the work in progress (references; absent when none, so events recorded before photos keep their
    JSON)."""


class PartCompleted(EventBase):
    type: Literal["PartCompleted"] = "PartCompleted"
    label: ClassVar[str] = "部门办结"
    department: Code
    result: str
    photos: tuple[Photo, ...] = Field(default=(), exclude_if=none_attached)
    """Photos of the finished work, after (references; absent when none, as for ``ProgressRecorded``)."""


class HandlingOverdue(EventBase):
    type: Literal["HandlingOverdue"] = "HandlingOverdue"
    label: ClassVar[str] = "处置超时"
    due: AwareDatetime


class HandlingCompleted(EventBase):
    """Every department on the case is done: the resident is asked to rate it (居民评价).

    The stall that any escalation was about is over, so the escalation (and any parking) ends here.
    """

    type: Literal["HandlingCompleted"] = "HandlingCompleted"
    label: ClassVar[str] = "处置完成"
    evaluation_due: AwareDatetime


class ResidentEvaluated(EventBase):
    type: Literal["ResidentEvaluated"] = "ResidentEvaluated"
    label: ClassVar[str] = "居民评价"
    rating: Rating
    comment: str = ""


class CaseReopened(EventBase):
    """An unsatisfied rating sent the case back: to handling, or to the grid if it was resolved there."""

    type: Literal["CaseReopened"] = "CaseReopened"
    label: ClassVar[str] = "重新处置"
    reopen_count: int
    handling_due: AwareDatetime | None = None
    verify_due: AwareDatetime | None = None


class EvaluationLapsed(EventBase):
    type: Literal["EvaluationLapsed"] = "EvaluationLapsed"
    label: ClassVar[str] = "评价超时"


class CaseParked(EventBase):
    """Put on the public long-running list (挂账); its escalation clocks stop until a new directive."""

    type: Literal["CaseParked"] = "CaseParked"
    label: ClassVar[str] = "挂账"
    by: PersonId
    note: str = ""


class CaseWithdrawn(EventBase):
    type: Literal["CaseWithdrawn"] = "CaseWithdrawn"
    label: ClassVar[str] = "撤回"
    reason: str


class CaseClosed(EventBase):
    """The end. A ``terminated`` case (终止办理) carries its ``closure_reason``, counted apart in the rates."""

    type: Literal["CaseClosed"] = "CaseClosed"
    label: ClassVar[str] = "办结"
    outcome: Outcome
    closure_reason: TerminationReason | None = None


class ResponsibilityDisputed(EventBase):
    """Every summoned department declined (职责争议): the street office rules by ``ruling_due``. ``declines``
    counts each department's declines on this case, the measure kept per department."""

    type: Literal["ResponsibilityDisputed"] = "ResponsibilityDisputed"
    label: ClassVar[str] = "职责争议"
    street_secretary: PersonId
    declines: dict[Code, int]
    ruling_due: AwareDatetime


class ResponsibilityRuled(EventBase):
    """The street office ruled: the departments named must report in by ``report_in_due`` and may not decline."""

    type: Literal["ResponsibilityRuled"] = "ResponsibilityRuled"
    label: ClassVar[str] = "街道裁定"
    by: PersonId
    departments: list[Code]
    lead: Code
    note: str = ""
    report_in_due: AwareDatetime


class ClocksPaused(EventBase):
    """The case waits on the resident: its stage clocks stop; they run again by ``resume_due`` at the latest
    (what is left of the case's pause allowance)."""

    type: Literal["ClocksPaused"] = "ClocksPaused"
    label: ClassVar[str] = "等待居民，时限暂停"
    by: str
    reason: str
    resume_due: AwareDatetime


class ClocksResumed(EventBase):
    """The resident answered (or the allowance ran out: ``lapsed``); each stopped clock is moved by the time it
    stood still, and ``new_dues`` holds the moved due times (keys as in ``DirectiveIssued``, ``escalation``
    for the escalation's answer clock)."""

    type: Literal["ClocksResumed"] = "ClocksResumed"
    label: ClassVar[str] = "时限恢复"
    paused_seconds: float
    new_dues: dict[str, AwareDatetime] = {}
    lapsed: bool = False


class ResultsSubmitted(EventBase):
    """Every part is done where the policy asks for review (审核): the community secretary reviews by ``review_due``."""

    type: Literal["ResultsSubmitted"] = "ResultsSubmitted"
    label: ClassVar[str] = "提交审核"
    reviewer: PersonId
    review_due: AwareDatetime


class ResultsApproved(EventBase):
    """The reviewer accepted the results; ``HandlingCompleted`` follows and the resident is asked."""

    type: Literal["ResultsApproved"] = "ResultsApproved"
    label: ClassVar[str] = "审核通过"
    by: PersonId
    note: str = ""


class ResultsRejected(EventBase):
    """The reviewer sent the results back with a reason: every part reopens, handling is due at ``handling_due``."""

    type: Literal["ResultsRejected"] = "ResultsRejected"
    label: ClassVar[str] = "审核退回"
    by: PersonId
    reason: str
    handling_due: AwareDatetime


class TerminationProposed(EventBase):
    """The community proposed ending the case without a rating (终止办理); the reviewer answers by ``review_due``."""

    type: Literal["TerminationProposed"] = "TerminationProposed"
    label: ClassVar[str] = "申请终止办理"
    by: PersonId
    reason: TerminationReason
    note: str
    reviewer: PersonId
    review_due: AwareDatetime


class TerminationApproved(EventBase):
    """The reviewer approved; ``CaseClosed`` (outcome ``terminated``, with the reason) follows."""

    type: Literal["TerminationApproved"] = "TerminationApproved"
    label: ClassVar[str] = "批准终止办理"
    by: PersonId
    note: str = ""


class TerminationRefused(EventBase):
    """The reviewer refused, or did not answer in time (``lapsed``): the case goes on."""

    type: Literal["TerminationRefused"] = "TerminationRefused"
    label: ClassVar[str] = "不予终止"
    by: PersonId | None = None
    note: str = ""
    lapsed: bool = False


class NoteRecorded(EventBase):
    type: Literal["NoteRecorded"] = "NoteRecorded"
    label: ClassVar[str] = "工作备注"
    by: Actor
    note: str


class CaseUrged(EventBase):
    """A supervisor urged the case (催办); ``holders`` are who held it then, whom the urging is counted against."""

    type: Literal["CaseUrged"] = "CaseUrged"
    label: ClassVar[str] = "催办"
    by: str
    holders: list[str]
    note: str = ""


class CaseFlagged(EventBase):
    """A supervisor put the case under leader supervision (重点督办); ``new_dues`` holds the running clocks the
    policy's ``flagged_windows`` shortened, keyed as ``DirectiveIssued.new_dues`` (``report_in:<department>``)."""

    type: Literal["CaseFlagged"] = "CaseFlagged"
    label: ClassVar[str] = "重点督办"
    by: str
    note: str
    new_dues: dict[str, AwareDatetime] = {}


class FlagLifted(EventBase):
    type: Literal["FlagLifted"] = "FlagLifted"
    label: ClassVar[str] = "解除督办"
    by: str
    note: str = ""


class CaseRecategorised(EventBase):
    """The case's category was corrected (改类): ``suggested_departments`` and ``policy`` are the new category's, so
    windows that start from now on run under it; clocks already running keep their dues."""

    type: Literal["CaseRecategorised"] = "CaseRecategorised"
    label: ClassVar[str] = "改类"
    by: str
    previous: Code
    category: Category
    reason: str
    suggested_departments: list[Code]
    policy: CasePolicy


class FollowUpOpened(EventBase):
    """The case closed and takes follow-up calls (回访) until ``due``; ``asked``: it closed unevaluated, so the policy
    asks for a call that reaches the resident by then."""

    type: Literal["FollowUpOpened"] = "FollowUpOpened"
    label: ClassVar[str] = "回访期开始"
    due: AwareDatetime
    asked: bool


class FollowUpRecorded(EventBase):
    """A hotline operator's follow-up call (回访): ``verdict`` solved, unsolved (``CaseReopened`` follows while the case
    may be reopened) or unreached."""

    type: Literal["FollowUpRecorded"] = "FollowUpRecorded"
    label: ClassVar[str] = "回访"
    by: str
    verdict: FollowUpVerdict
    note: str = ""


class FollowUpWindowClosed(EventBase):
    """The follow-up window ran out; ``missed``: the policy asked for a call (closed unevaluated) and none reached
    the resident. The case's workflow ends here."""

    type: Literal["FollowUpWindowClosed"] = "FollowUpWindowClosed"
    label: ClassVar[str] = "回访期结束"
    missed: bool


# Merging duplicates (工单合并): ``schemas/rules/merging.py``.


class CaseMerged(EventBase):
    """Merged into another open case of the same problem (工单合并): this case's clocks stop and it waits, in stage
    ``merged``, for ``into`` to close; its reporter then hears that outcome and rates it."""

    type: Literal["CaseMerged"] = "CaseMerged"
    label: ClassVar[str] = "工单合并"
    into: ComplaintId
    by: Actor
    note: str = ""


class MergeUndone(EventBase):
    """The merge is undone: by ``by`` (a mistaken merge), or, with ``by`` None, because the primary refused the link,
    was gone or was withdrawn. The case resumes in the stage it was merged from, each stopped clock moved by the time
    it stood still (``new_dues``, keys as in ``ClocksResumed``)."""

    type: Literal["MergeUndone"] = "MergeUndone"
    label: ClassVar[str] = "撤销合并"
    into: ComplaintId
    by: Actor | None = None
    reason: str
    merged_seconds: float
    new_dues: dict[str, AwareDatetime] = {}


class ReportLinked(EventBase):
    """Another report of this problem (``case``) was merged into this case: its reporter hears this case's outcome."""

    type: Literal["ReportLinked"] = "ReportLinked"
    label: ClassVar[str] = "关联重复工单"
    case: ComplaintId


class ReportUnlinked(EventBase):
    """A report merged into this case (``case``) was taken back out (its merge undone)."""

    type: Literal["ReportUnlinked"] = "ReportUnlinked"
    label: ClassVar[str] = "解除关联"
    case: ComplaintId
    reason: str


class PrimaryClosed(EventBase):
    """The case this one was merged into (``primary``) closed with ``outcome``: this case's reporter hears it and is
    asked to rate it by ``evaluation_due`` (None for a terminated primary, which is not rated: the case closes)."""

    type: Literal["PrimaryClosed"] = "PrimaryClosed"
    label: ClassVar[str] = "主工单办结"
    primary: ComplaintId
    outcome: Outcome
    closure_reason: TerminationReason | None = None
    evaluation_due: AwareDatetime | None = None


Event = Annotated[
    ComplaintFiled
    | GridVerified
    | ResolvedInGrid
    | WhistleBlown
    | DepartmentReportedIn
    | DepartmentDeclined
    | ReportInOverdue
    | EscalatedToFirstSecretary
    | EscalatedToStreetSecretary
    | DirectiveIssued
    | ProgressRecorded
    | PartCompleted
    | HandlingOverdue
    | HandlingCompleted
    | ResidentEvaluated
    | CaseReopened
    | EvaluationLapsed
    | CaseParked
    | CaseWithdrawn
    | CaseClosed
    | ProactivelyReportedIn
    | WhistleGradeRaised
    | ExtensionRequested
    | ExtensionApproved
    | ExtensionRefused
    | CaseLedgered
    | LedgerReviewReminded
    | DepartmentRated
    | ResultsSubmitted
    | ResultsApproved
    | ResultsRejected
    | TerminationProposed
    | TerminationApproved
    | TerminationRefused
    | ResponsibilityDisputed
    | ResponsibilityRuled
    | ClocksPaused
    | ClocksResumed
    | NoteRecorded
    | CaseUrged
    | CaseFlagged
    | FlagLifted
    | CaseRecategorised
    | FollowUpOpened
    | FollowUpRecorded
    | FollowUpWindowClosed
    | CaseMerged
    | MergeUndone
    | ReportLinked
    | ReportUnlinked
    | PrimaryClosed,
    Field(discriminator="type"),
]

EVENT_CLASSES: tuple[type[EventBase], ...] = get_args(get_args(Event)[0])
EVENT_TYPES: tuple[str, ...] = tuple(event.model_fields["type"].default for event in EVENT_CLASSES)
EVENT_LABELS: dict[str, str] = {event.model_fields["type"].default: event.label for event in EVENT_CLASSES}
"""The domain events in the words a supervisor reads (each event's ``label``)."""


class RecordedEvent(Model):
    """An event with its place in the case: ``seq`` is assigned in the workflow and unique per case."""

    complaint_id: ComplaintId
    seq: int = Field(ge=1)
    event: Event
