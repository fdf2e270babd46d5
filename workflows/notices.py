"""Who hears about what: the notifications an event or a near deadline (预警) sends. Pure, no I/O."""

from __future__ import annotations

from datetime import datetime

from schemas.events import (
    CaseClosed,
    CaseFlagged,
    CaseLedgered,
    CaseMerged,
    CaseReopened,
    CaseUrged,
    ClocksPaused,
    ClocksResumed,
    DirectiveIssued,
    EscalatedToFirstSecretary,
    EscalatedToStreetSecretary,
    Event,
    ExtensionApproved,
    ExtensionRefused,
    ExtensionRequested,
    FollowUpOpened,
    FollowUpRecorded,
    FollowUpWindowClosed,
    HandlingCompleted,
    HandlingOverdue,
    LedgerReviewReminded,
    MergeUndone,
    PrimaryClosed,
    ProactivelyReportedIn,
    ReportInOverdue,
    ReportLinked,
    ResolvedInGrid,
    ResponsibilityDisputed,
    ResponsibilityRuled,
    ResultsRejected,
    ResultsSubmitted,
    TerminationProposed,
    WhistleBlown,
    WhistleGradeRaised,
)
from schemas.notification import Notification
from schemas.rules.supervision import holders
from schemas.state import CaseState, Deadline

REPORTER = "reporter"
"""The resident who filed the case; the notifier resolves the address, the workflow never holds it."""

HOTLINE = "hotline"
"""The 12345 hotline's follow-up desk (回访), which calls residents back after closure."""


def notices_for(state: CaseState, event: Event) -> list[Notification]:
    """Notifications for ``event``, given the state right after it was applied."""
    context = state.case.context
    secretary = context.community.secretary.id
    title = state.case.intake.title
    audience: list[str]
    due: datetime | None = None
    match event:
        case WhistleBlown():
            audience, message, due = event.departments, f"社区吹哨，请按时报到：{title}", event.report_in_due
        case DirectiveIssued(kind="order"):
            audience, message = event.departments, f"第一书记令即报到：{title}"
        case ReportInOverdue():
            audience, message, due = [event.department, secretary], f"报到超时：{title}", event.due
        case HandlingOverdue():
            audience, message, due = [*state.with_status("reported_in"), secretary], f"处置超时：{title}", event.due
        case EscalatedToFirstSecretary():
            audience, message, due = [event.first_secretary], f"案件升级至第一书记：{title}", event.respond_due
        case EscalatedToStreetSecretary():
            audience, message, due = [event.street_secretary], f"案件升级至街道党工委书记：{title}", event.respond_due
        case ResolvedInGrid() | HandlingCompleted():
            audience, message, due = [REPORTER], f"您反映的问题已处置，请评价：{title}", event.evaluation_due
        case CaseReopened():
            audience, message = [*state.with_status("reported_in"), secretary], f"居民不满意，重新处置：{title}"
        case CaseClosed():
            audience, message = [REPORTER, secretary], f"案件已办结（{event.outcome}）：{title}"
        case WhistleGradeRaised():
            audience, message, due = [event.department, secretary], f"哨源升级为{event.grade}，请按时报到：{title}", (
                event.report_in_due
            )
        case ProactivelyReportedIn():
            audience, message = [secretary], f"{event.department or '第一书记'}主动报到：{title}"
        case ExtensionRequested():
            audience, message, due = [event.approver], f"{event.department}申请延期：{title}", event.answer_due
        case ExtensionApproved():
            audience, message, due = [REPORTER, event.department], f"办理期限已延长：{title}", event.handling_due
        case ExtensionRefused():
            audience, message = [event.department, secretary], f"延期申请未获批准：{title}"
        case CaseLedgered():
            audience, message, due = [event.owner, secretary], f"案件列入挂账台账：{title}", event.review_due
        case ResponsibilityDisputed():
            audience, message, due = [event.street_secretary, secretary], f"职责争议，请街道裁定：{title}", (
                event.ruling_due
            )
        case ResponsibilityRuled():
            audience, message, due = event.departments, f"街道裁定由你部门办理，请按时报到：{title}", (
                event.report_in_due
            )
        case ClocksPaused():
            audience, message, due = [REPORTER, secretary], f"需要您补充信息或配合入户，办理时限暂停：{title}", (
                event.resume_due
            )
        case ClocksResumed():
            working = state.with_status("summoned", "reported_in")
            audience, message = [*working, secretary], f"居民已答复，时限恢复：{title}"
        case ResultsSubmitted():
            audience, message, due = [event.reviewer], f"各部门已办结，请审核：{title}", event.review_due
        case ResultsRejected():
            audience, message, due = state.with_status("reported_in"), f"审核未通过，重新处置：{title}", (
                event.handling_due
            )
        case TerminationProposed():
            audience, message, due = [event.reviewer], f"申请终止办理（{event.reason}），请审核：{title}", (
                event.review_due
            )
        case CaseUrged():
            audience, message = event.holders, f"督办催办：{title}" + (f"（{event.note}）" if event.note else "")
        case CaseFlagged():
            audience, message = holders(state), f"列为重点督办：{title}（{event.note}）"
        case FollowUpOpened(asked=True):
            audience, message, due = [HOTLINE], f"案件未评价办结，请回访：{title}", event.due
        case FollowUpRecorded(verdict="unsolved"):
            audience, message = [secretary], f"回访：居民反映问题未解决：{title}"
        case FollowUpWindowClosed(missed=True):
            audience, message = [HOTLINE, secretary], f"应回访案件未回访：{title}"
        case LedgerReviewReminded():
            audience, message, due = [event.owner], f"挂账案件定期督办提醒：{title}", event.review_due
        case CaseMerged():
            working = state.with_status("summoned", "reported_in")
            audience, message = [REPORTER, secretary, *working], f"已并入工单{event.into}统一办理：{title}"
        case MergeUndone():
            working = state.with_status("summoned", "reported_in")
            audience, message = [REPORTER, secretary, *working], f"工单合并已撤销，恢复办理（{event.reason}）：{title}"
        case ReportLinked():
            audience, message = [secretary], f"重复工单{event.case}已并入本案：{title}"
        case PrimaryClosed(evaluation_due=rating_due) if rating_due is not None:
            audience, message, due = [REPORTER], f"您反映的问题已随工单{event.primary}办结，请评价：{title}", rating_due
        case _:
            return []
    return [
        Notification(
            key=f"{state.complaint_id}/{state.event_count}",
            complaint_id=state.complaint_id,
            kind="event",
            topic=event.type,
            audience=audience,
            message=message,
            at=event.at,
            due=due,
        )
    ]


def warning_time(state: CaseState, deadline: Deadline) -> datetime:
    """When the warning for ``deadline`` goes out: ``warn_at`` of the way through its window."""
    clock = deadline.clock
    return clock.start + (clock.due - clock.start) * state.case.policy.warn_at


def warning_for(state: CaseState, deadline: Deadline, now: datetime) -> Notification:
    """The 预警 sent once per clock, before it runs out."""
    context = state.case.context
    owners = {
        "verify": [context.grid.grid_workers[0].id, context.community.secretary.id],
        "reroute": [context.community.secretary.id],
        "report_in": [deadline.department or ""],
        "handling": state.with_status("reported_in"),
        "evaluation": [REPORTER],
        "first_secretary": [context.community.first_secretary.id],
        "extension": [state.extension.approver if state.extension else context.community.first_secretary.id],
        "ledger": [context.community.first_secretary.id, *state.with_status("reported_in")],
        "ledger_review": [context.community.first_secretary.id],
        "review": [context.community.secretary.id],
        "termination": [context.community.first_secretary.id],
        "ruling": [context.street.secretary.id],
        "pause": [REPORTER, context.community.secretary.id],
        "follow_up": [HOTLINE],
    }
    return Notification(
        key=f"{state.complaint_id}/warn/{warning_key(deadline)}",
        complaint_id=state.complaint_id,
        kind="warning",
        topic=f"{deadline.kind}_due_soon",
        audience=owners[deadline.kind],
        message=f"预警：{deadline.kind} 即将到期（{deadline.clock.due.isoformat()}）：{state.case.intake.title}",
        at=now,
        due=deadline.clock.due,
    )


def warning_key(deadline: Deadline) -> str:
    """Identifies one clock's warning, so it goes out once even as the case keeps changing."""
    department = f"/{deadline.department}" if deadline.department else ""
    return f"{deadline.kind}{department}/{deadline.clock.due.isoformat()}"
