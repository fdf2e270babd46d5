"""What the SDK checks before a merge (工单合并), and where it finds likely duplicates.

A merge is sent to the report; the primary checks it again when the report's workflow tells it (and the report
resumes if the primary refuses), so the check here is for a clear answer at once: the primary exists, is open and
not merged itself, and is in the report's community. It reads Temporal's record of both cases (``describe``: their
search attributes), no query, so it needs no worker.
"""

from __future__ import annotations

from datetime import datetime

from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.service import RPCError, RPCStatusCode

from activities import duplicates
from activities.event_store import Pool
from schemas.errors import CommandRejected
from schemas.intake import CaseIntake, ComplaintIntake
from schemas.policy import CasePolicy
from workflows import search_attributes


async def check_primary(temporal: Client, complaint_id: str, into: str) -> None:
    """``CommandRejected("into", why)`` unless ``into`` is an open case, not merged, in ``complaint_id``'s community."""
    if into == complaint_id:
        raise CommandRejected("into", "a case is not merged into itself")
    try:
        primary = await temporal.get_workflow_handle(f"complaint-{into}").describe()
        report = await temporal.get_workflow_handle(f"complaint-{complaint_id}").describe()
    except RPCError as error:
        if error.status == RPCStatusCode.NOT_FOUND:
            raise CommandRejected("into", f"no open case {into!r}") from None
        raise
    stage = primary.typed_search_attributes.get(search_attributes.STAGE)
    if primary.status != WorkflowExecutionStatus.RUNNING or stage == "closed":
        raise CommandRejected("into", f"{into} is closed: merge into an open case")
    if stage == "merged":
        raise CommandRejected("into", f"{into} is merged into another case itself: merge into that one")
    theirs = primary.typed_search_attributes.get(search_attributes.COMMUNITY)
    ours = report.typed_search_attributes.get(search_attributes.COMMUNITY)
    if theirs != ours:
        raise CommandRejected("into", f"{into} is in another community ({theirs}), not {ours}")


async def suggest(
    pool: Pool,
    intake: ComplaintIntake | CaseIntake,
    policy: CasePolicy,
    filed_at: datetime,
    *,
    exclude: str = "",
    reach: duplicates.Reach | None = None,
) -> list[duplicates.DuplicateCandidate]:
    """The likely duplicates of ``intake`` filed at ``filed_at``, under ``policy``'s window and distance."""
    window = policy.duplicate_window.fixed()
    assert window is not None  # calendar time, checked when the policy loads
    return await duplicates.find(
        pool, community=intake.community, grid=intake.grid, category=intake.category, location=intake.location,
        filed_at=filed_at, window=window, within_m=policy.duplicate_distance_m, exclude=exclude, reach=reach,
    )  # fmt: skip
