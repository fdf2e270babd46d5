"""The messages two cases' workflows exchange for merging (工单合并): which signal an event sends to which other case,
and the sending.

A signal to another workflow is a durable command of the sender's own history (``SignalExternalWorkflowExecution``):
it waits on no receiver's workflow task, only on the server accepting it. It fails only when the other case has no
running workflow (closed, or gone); the sender then decides its ``fallback`` itself (a merged report whose primary
is gone resumes). The receiver decides each signal like a command (``schemas/rules/merging.py``); one it refuses
is answered (a link) or dropped (``reply_to_refusal``). Only events that did not exist before merging send signals,
so recorded histories replay unchanged.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

from temporalio import workflow
from temporalio.exceptions import FailureError

with workflow.unsafe.imports_passed_through():
    from schemas.commands import Command, HearPrimaryOutcome, LinkReport, MergeSignal, ReleaseMerge, UnlinkReport
    from schemas.events import CaseClosed, CaseMerged, Event, MergeUndone
    from schemas.state import CaseState


@dataclass(frozen=True)
class Outgoing:
    """A signal for the case ``complaint_id``; ``fallback`` is decided here when that case has no running workflow."""

    complaint_id: str
    message: MergeSignal
    fallback: Command | None = None


def signals_for(state: CaseState, event: Event) -> list[Outgoing]:
    """What ``event`` (already applied to ``state``) tells other cases."""
    me = state.complaint_id
    match event:
        case CaseMerged():
            gone = ReleaseMerge(primary=event.into, reason=f"{event.into} is closed or unknown")
            link = LinkReport(case=me, community=state.case.intake.community)
            return [Outgoing(event.into, link, fallback=gone)]
        case MergeUndone(by=by) if by is not None:
            return [Outgoing(event.into, UnlinkReport(case=me, reason=event.reason))]
        case CaseClosed() if state.linked_reports:
            heard = HearPrimaryOutcome(primary=me, outcome=event.outcome, closure_reason=event.closure_reason)
            return [Outgoing(case, heard) for case in state.linked_reports]
    return []


def reply_to_refusal(state: CaseState, message: MergeSignal, reason: str) -> Outgoing | None:
    """The answer to a signal this case refused: a report it will not carry is released; others need none."""
    if isinstance(message, LinkReport):
        return Outgoing(message.case, ReleaseMerge(primary=state.complaint_id, reason=reason))
    return None


class Messenger:
    """Sends a case's signals, each from a workflow task of its own, and knows when none is left in flight."""

    def __init__(self, decide_here: Callable[[Command], None]) -> None:
        self._decide_here = decide_here
        self._in_flight: list[asyncio.Task[None]] = []

    def send(self, outgoing: Outgoing) -> None:
        self._in_flight.append(asyncio.create_task(self._send(outgoing)))

    async def _send(self, outgoing: Outgoing) -> None:
        try:
            handle = workflow.get_external_workflow_handle(f"complaint-{outgoing.complaint_id}")
            await handle.signal(outgoing.message.type, outgoing.message)
        except FailureError as error:
            workflow.logger.warning(
                f"{outgoing.message.type} not delivered to {outgoing.complaint_id}: {error}",
                extra={"complaint_id": outgoing.complaint_id},
            )
            if outgoing.fallback is not None:
                self._decide_here(outgoing.fallback)

    async def finished(self) -> None:
        """Return once every signal sent has been accepted (or refused) by the server."""
        while self._in_flight:
            await self._in_flight.pop(0)
