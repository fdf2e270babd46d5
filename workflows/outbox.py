"""A case's way out: its events to the PostgreSQL store and its notifications to their receivers, in order.

Runs inside ``ComplaintWorkflow`` (deterministic code only). Each batch of events, with the notifications
decided beside them, goes to the ordinary ``store`` activity: its input is recorded in the history before it
runs, so the store trails the history, and its retries are the server's, so an outage of the database costs
the history one pending activity however long it lasts. The store writes the notifications into PostgreSQL's
outbox in the same transaction, and the worker's dispatcher delivers them (``activities/dispatch.py``): no
receiver is ever waited on here.
"""

from __future__ import annotations

import asyncio
import hashlib
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from schemas.events import RecordedEvent
    from schemas.notification import Notification
    from workflows.ports import STORE, STORE_REFUSED, StoreInput

STORE_TIMEOUT = timedelta(seconds=20)
"""One attempt's limit: one transaction. A worker that dies holding the activity delays the store this long."""

STORE_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=60),
    non_retryable_error_types=[STORE_REFUSED],
)  # fmt: skip
"""No attempt limit: retried by the server, so an outage adds nothing to the history while it lasts and the store
catches up within a minute of the database's return. A batch the store refuses (``STORE_REFUSED``) is not retried."""

STORE_BATCH_LIMIT = 100
"""Events and notifications per ``store`` activity at most, so the backlog of a long outage leaves in batches
well under Temporal's payload limits."""


class Outbox:
    """Events and notifications waiting to leave, and the loop that sends them to ``store``."""

    def __init__(self, first: RecordedEvent) -> None:
        self._complaint_id = first.complaint_id
        self._pending: list[RecordedEvent | Notification] = [first]
        """Events and notifications in the order they were decided, waiting for ``store``."""
        self._batches = 0
        self.refused: ActivityError | None = None
        """Why the store refused a batch for good (another run's complaint id, a contradicting row): the case
        cannot be kept and fails."""
        self._closing = False
        self._loop: asyncio.Task[None] | None = None

    def add_event(self, recorded: RecordedEvent) -> None:
        self._pending.append(recorded)

    def add_notices(self, notices: list[Notification]) -> None:
        self._pending.extend(notices)

    def start(self) -> None:
        """Start the loop that sends the pending items."""
        self._loop = asyncio.create_task(self._store())

    async def close(self) -> None:
        """Send what is left and stop: every event and notification is stored (or the store refused them)."""
        self._closing = True
        if self._loop is not None:
            await self._loop

    async def _store(self) -> None:
        """Send the pending items to ``store`` in decision order, one batch at a time, until closing and empty.

        The activity id carries a digest of the batch, so a replay whose decisions differ from the recorded ones
        fails as non-deterministic instead of silently carrying other events than the history's.
        """
        info = workflow.info()
        while True:
            await workflow.wait_condition(lambda: bool(self._pending) or self._closing)
            if not self._pending:
                return
            batch = self._pending[:STORE_BATCH_LIMIT]
            self._batches += 1
            try:
                await workflow.execute_activity(
                    STORE,
                    StoreInput(
                        complaint_id=self._complaint_id,
                        workflow_id=info.workflow_id,
                        run_id=info.run_id,
                        events=[item for item in batch if isinstance(item, RecordedEvent)],
                        notifications=[item for item in batch if isinstance(item, Notification)],
                    ),
                    activity_id=f"store-{self._batches}-{_digest(batch)}",
                    start_to_close_timeout=STORE_TIMEOUT,
                    retry_policy=STORE_RETRY,
                )
            except ActivityError as error:
                workflow.logger.error("the store refused a batch", extra={"error": str(error.cause or error)})
                self.refused = error
                return
            del self._pending[: len(batch)]


def _digest(batch: list[RecordedEvent | Notification]) -> str:
    """A short fingerprint of what a batch carries, for its activity id."""
    digest = hashlib.blake2s(digest_size=8)
    for item in batch:
        digest.update(item.model_dump_json().encode())
    return digest.hexdigest()
