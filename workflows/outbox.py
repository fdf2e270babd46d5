"""A case's way out: its events to the PostgreSQL store and its notifications to their receivers, in order.

Runs inside ``ComplaintWorkflow`` (deterministic code only). Cases started under the ``store-trails`` patch
send each batch of events, with the notifications decided beside them, to the ordinary ``store`` activity:
its input is recorded in the history before it runs, so the store trails the history, and its retries are
the server's, so an outage of the database costs the history one pending activity however long it lasts. The
store writes the notifications into PostgreSQL's outbox in the same transaction, and the worker's dispatcher
delivers them (``activities/dispatch.py``): no receiver is ever waited on here.

Older cases keep what they began with, so their histories replay unchanged: under ``local-publish`` one local
activity in the deciding workflow task (``publish``) with the retrying ``notify`` for what it could not send;
before it the ordinary ``append_events`` and ``notify`` activities.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
from datetime import timedelta
from typing import Literal

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, FailureError

with workflow.unsafe.imports_passed_through():
    from activities.event_store import AppendEventsInput
    from activities.notify import NotifyInput
    from activities.publish import PUBLISH, PublishInput, PublishReceipt
    from activities.store import STORE, STORE_REFUSED, StoreInput
    from schemas.events import RecordedEvent
    from schemas.notification import Notification

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

Mode = Literal["trailing", "local", "activities"]
"""How the case sends (see the module's docstring): fixed at filing by its generation or its history."""

PUBLISH_TIMEOUT = timedelta(seconds=10)
"""One attempt's limit: a transaction and a webhook POST; a hung database is retried, never waited on."""

PUBLISH_ATTEMPTS = RetryPolicy(initial_interval=timedelta(milliseconds=500), maximum_attempts=3)
"""Retries inside the workflow task (about 1.5 s): a database blip is ridden out before the command answers."""

PUBLISH_BACKOFF_LIMIT = 30.0
"""Seconds between rounds of attempts at most. Between rounds the case waits on a timer of its own, so a
database outage does not hold its workflow task open and commands keep being answered while it lasts.
(The workflow retries rather than the activity's policy past ``local_retry_threshold``: those retries
replay deterministically only as plain timers.)"""

APPEND_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=30))
"""No attempt limit: a database outage delays the read models, it never loses an event."""

NOTIFY_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=2), maximum_interval=timedelta(minutes=5), maximum_attempts=20
)
"""Notifications are at-least-once but not forever: after ~1 h of failures the workflow logs and moves on."""


class Outbox:
    """Events and notifications waiting to leave, and the loops that send them."""

    def __init__(self, first: RecordedEvent, *, mode: Mode) -> None:
        self._complaint_id = first.complaint_id
        self._mode = mode
        self._pending: list[RecordedEvent | Notification] = []
        """Under ``trailing``: events and notifications in the order they were decided, waiting for ``store``."""
        self._batches = 0
        self.refused: ActivityError | None = None
        """Why the store refused a batch for good (another run's complaint id, a contradicting row): the case
        cannot be kept and fails."""
        self._events: list[RecordedEvent] = []
        self._fresh_notices: list[Notification] = []
        """Notifications waiting for the next ``publish`` (when the case publishes locally)."""
        self._notices: list[Notification] = []
        """Notifications for the retrying ``notify`` activity: all of them in cases started before
        ``local-publish``, else those ``publish`` could not deliver."""
        self._closing = False
        self._events_sent = False
        self._loops: list[asyncio.Task[None]] = []
        self.add_event(first)

    def add_event(self, recorded: RecordedEvent) -> None:
        (self._pending if self._mode == "trailing" else self._events).append(recorded)

    def add_notices(self, notices: list[Notification]) -> None:
        if self._mode == "trailing":
            self._pending.extend(notices)
        else:
            (self._fresh_notices if self._mode == "local" else self._notices).extend(notices)

    def start(self) -> None:
        """Start the loops (events first, then notifications: the order their commands were always issued in)."""
        if self._mode == "trailing":
            self._loops = [asyncio.create_task(self._store())]
            return
        self._loops = [
            asyncio.create_task(self._publish() if self._mode == "local" else self._drain_events()),
            asyncio.create_task(self._drain_notices()),
        ]

    async def close(self) -> None:
        """Send what is left and stop: every event is stored and every notification sent or given up on."""
        self._closing = True
        if self._mode == "trailing":
            await self._loops[0]
            return
        events, notices = self._loops
        await events
        self._events_sent = True
        await notices

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

    async def _publish(self) -> None:
        """Store the events and send the fresh notifications, in order, through ``publish``.

        A local activity runs inside the workflow task that decided its events, before that task is recorded,
        so a lost task's events may reach the store. The task is then redone from a longer history; the
        store lets the redone batch overwrite the lost one's seqs and refuses the lost task's late writes
        (``EventStore.write``), so the store ends equal to the history.
        """
        while True:
            await workflow.wait_condition(lambda: bool(self._events or self._fresh_notices) or self._closing)
            if not (self._events or self._fresh_notices):
                return
            events, notices = list(self._events), list(self._fresh_notices)
            result = await self._publish_batch(events, notices)
            del self._events[: len(events)]
            del self._fresh_notices[: len(notices)]
            self._notices.extend(result.undelivered)

    async def _publish_batch(self, events: list[RecordedEvent], notices: list[Notification]) -> PublishReceipt:
        """Run ``publish`` until it stores the batch: a few quick attempts, then rounds spaced by timers."""
        info = workflow.info()
        for round_number in itertools.count():
            try:
                result: PublishReceipt = await workflow.execute_local_activity(
                    PUBLISH,
                    PublishInput(
                        complaint_id=self._complaint_id,
                        workflow_id=info.workflow_id,
                        run_id=info.run_id,
                        events=events,
                        history_length=info.get_current_history_length(),
                        notifications=notices,
                    ),
                    result_type=PublishReceipt,
                    start_to_close_timeout=PUBLISH_TIMEOUT,
                    retry_policy=PUBLISH_ATTEMPTS,
                )
                return result
            except FailureError as error:
                # A local activity's last failure can arrive bare (an ApplicationError), not as an ActivityError.
                pause = min(2.0**round_number, PUBLISH_BACKOFF_LIMIT)
                workflow.logger.warning(
                    "publish failed, retrying", extra={"round": round_number, "pause_s": pause, "error": str(error)}
                )
                await workflow.sleep(pause)
        raise AssertionError("unreachable")

    async def _drain_events(self) -> None:
        """Append the events to the store in order; ``(complaint_id, seq)`` makes retries harmless."""
        info = workflow.info()
        while True:
            await workflow.wait_condition(lambda: bool(self._events) or self._closing)
            if not self._events:
                return
            batch = list(self._events)
            await workflow.execute_activity(
                "append_events",
                AppendEventsInput(
                    complaint_id=self._complaint_id, workflow_id=info.workflow_id, run_id=info.run_id, events=batch
                ),
                start_to_close_timeout=timedelta(seconds=30),
                retry_policy=APPEND_RETRY,
            )
            del self._events[: len(batch)]

    async def _drain_notices(self) -> None:
        """Send notifications; one that keeps failing is logged and dropped so it cannot hold the case."""

        def last_call() -> bool:
            # Under local-publish, publish can still hand back undelivered notices while the case closes.
            return self._events_sent if self._mode == "local" else self._closing

        while True:
            await workflow.wait_condition(lambda: bool(self._notices) or last_call())
            if not self._notices:
                return
            batch = list(self._notices)
            try:
                await workflow.execute_activity(
                    "notify",
                    NotifyInput(notifications=batch),
                    start_to_close_timeout=timedelta(seconds=30),
                    retry_policy=NOTIFY_RETRY,
                )
            except ActivityError:
                workflow.logger.error("notifications dropped after retries", extra={"keys": [n.key for n in batch]})
            del self._notices[: len(batch)]


def _digest(batch: list[RecordedEvent | Notification]) -> str:
    """A short fingerprint of what a batch carries, for its activity id."""
    digest = hashlib.blake2s(digest_size=8)
    for item in batch:
        digest.update(item.model_dump_json().encode())
    return digest.hexdigest()
