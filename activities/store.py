"""The ``store`` activity: a batch the history has recorded, into the event store and the notification outbox.

It is an ordinary activity, so its input (the batch) is in the case's history before it runs: Temporal
dispatches an activity only once the workflow task that scheduled it is recorded. The store therefore
trails the history and never leads it, and nothing here has to repair a write the history never had. Its
retries are the server's (the activity's retry policy), so a database outage of any length costs the case's
history nothing but the one pending activity.

The write is strict: ``(complaint_id, seq)`` is unique and a seq is written once. A retried batch finds its
rows already there, equal to what it carries, and writes nothing twice; a row that differs, or a batch from
another run of the complaint id, is refused for good (``StoreRefused``): the history and the store would
disagree, which is a fault to surface, not to overwrite.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

import asyncpg
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities import personal_data
from activities.event_store import (
    EVENT,
    Connection,
    OutOfSequence,
    Pool,
    check_batch,
    event_columns,
    fold_one,
    upsert_case,
)
from activities.log import get_logger
from activities.notification_outbox import enqueue
from activities.registry import ForeignRun, bind_run
from activities.resident_notices import resident_notices
from schemas.events import RecordedEvent
from schemas.fold import fold
from schemas.state import CaseState
from workflows.ports import STORE, STORE_REFUSED, StoreInput

FOLDED_CASES_KEPT = 2000
"""Cases whose last folded state a ``BatchStore`` keeps (a few KiB each), about the worker's workflow cache."""

_INSERT_EVENTS = """
insert into events (complaint_id, seq, type, at, payload, workflow_id, run_id)
select $1, batch.seq, batch.type, batch.at, batch.payload, $6, $7
from unnest($2::integer[], $3::text[], $4::timestamptz[], $5::jsonb[]) as batch (seq, type, at, payload)
"""


def refused(reason: str) -> ApplicationError:
    return ApplicationError(reason, type=STORE_REFUSED, non_retryable=True)


class BatchStore:
    """The ``store`` activity over one connection pool, keeping each case's last folded state it wrote."""

    def __init__(self, pool: Pool, *, resident_receivers: Sequence[str] = ()) -> None:
        """``resident_receivers``: the residents' channels this deployment has on (``resident_email``,
        ``resident_sms``); each batch's reporter moments are queued for them beside the workflow's notifications."""
        self._pool = pool
        self._resident_receivers = tuple(resident_receivers)
        self._folded: OrderedDict[str, tuple[int, CaseState]] = OrderedDict()
        """Per case: the ``last_seq`` and state this process last stored. Stored events never change, so the
        state is the stored one whenever the row's ``last_seq`` still says the same."""

    @activity.defn(name=STORE)
    async def store(self, input: StoreInput) -> int:
        """Store the batch's new events and enqueue its notifications in one transaction; return events written.

        Raises ``StoreRefused`` (not retried) for a batch that contradicts the store, and ``OutOfSequence``
        (retried, so the gap stays visible on the pending activity) for one that would skip an event.
        """
        try:
            check_batch(input.complaint_id, input.events)
        except ValueError as error:
            raise refused(str(error)) from None
        async with self._pool.acquire() as connection, connection.transaction():
            await self._check_run(connection, input)
            stored_through = await connection.fetchval(
                "select last_seq from complaints where complaint_id = $1 for update", input.complaint_id
            )
            stored_through = stored_through or 0
            repeated = [recorded for recorded in input.events if recorded.seq <= stored_through]
            fresh = [recorded for recorded in input.events if recorded.seq > stored_through]
            if repeated:
                await _check_repeated(connection, input, repeated)
            if fresh:
                await self._append(connection, input, fresh, stored_through)
            await enqueue(connection, input.notifications)
            await enqueue(connection, resident_notices(input.events), receivers=self._resident_receivers)
        return len(fresh)

    async def _check_run(self, connection: Connection, input: StoreInput) -> None:
        """A complaint id belongs to the run that filed it; another run's batch is refused, not mixed in."""
        try:
            await bind_run(connection, input.complaint_id, input.workflow_id, input.run_id)
        except ForeignRun as error:
            raise refused(str(error)) from None

    async def _append(
        self, connection: Connection, input: StoreInput, fresh: list[RecordedEvent], stored_through: int
    ) -> None:
        first, last = fresh[0].seq, fresh[-1].seq
        if first != stored_through + 1 or last - first + 1 != len(fresh):
            raise OutOfSequence(
                f"case {input.complaint_id} has events up to {stored_through}; the batch's new ones are {first}..{last}"
            )
        events = [recorded.event for recorded in fresh]
        await personal_data.keep(connection, input.complaint_id, events)
        await connection.execute(
            _INSERT_EVENTS, input.complaint_id, [recorded.seq for recorded in fresh], *event_columns(events),
            input.workflow_id, input.run_id,
        )  # fmt: skip
        state = await self._state_through(connection, input.complaint_id, stored_through)
        for event in events:
            state = fold_one(state, event, input.complaint_id)
        assert state is not None
        await upsert_case(connection, state, last)
        self._remember(input, last, state)

    async def _state_through(self, connection: Connection, complaint_id: str, seq: int) -> CaseState | None:
        if seq == 0:
            return None
        kept = self._folded.get(complaint_id)
        if kept is not None and kept[0] == seq:
            return kept[1]
        stored = await connection.fetchval("select state from complaints where complaint_id = $1", complaint_id)
        if stored is not None:
            return CaseState.model_validate(stored)
        rows = await connection.fetch(
            "select payload from events where complaint_id = $1 and seq <= $2 order by seq", complaint_id, seq
        )
        return fold(EVENT.validate_python(row["payload"]) for row in rows)

    def _remember(self, input: StoreInput, last_seq: int, state: CaseState) -> None:
        self._folded[input.complaint_id] = (last_seq, state)
        self._folded.move_to_end(input.complaint_id)
        while len(self._folded) > FOLDED_CASES_KEPT:
            self._folded.popitem(last=False)
        get_logger(complaint_id=input.complaint_id, workflow_id=input.workflow_id, run_id=input.run_id).info(
            "events stored", last_seq=last_seq, stage=state.stage
        )


async def _check_repeated(connection: Connection, input: StoreInput, repeated: list[RecordedEvent]) -> None:
    """A retried batch's rows must be stored exactly as it carries them; anything else is refused."""
    rows = await connection.fetch(
        "select seq, type, at, payload, run_id from events where complaint_id = $1 and seq = any($2::integer[])",
        input.complaint_id, [recorded.seq for recorded in repeated],
    )  # fmt: skip
    stored: dict[int, asyncpg.Record] = {row["seq"]: row for row in rows}
    types, ats, payloads = event_columns([recorded.event for recorded in repeated])
    for recorded, type_, at, payload in zip(repeated, types, ats, payloads, strict=True):
        row = stored.get(recorded.seq)
        given: tuple[Any, ...] = (type_, at, payload, input.run_id)
        if row is None or (row["type"], row["at"], row["payload"], row["run_id"]) != given:
            raise refused(f"case {input.complaint_id} holds a different event at seq {recorded.seq}")
