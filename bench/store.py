"""The event store alone: appends through the activity's code against raw inserts, and a rebuild."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from activities.event_store import EVENT, Pool
from activities.store import BatchStore
from bench.lifecycle import happy_path
from schemas.events import RecordedEvent
from schemas.fold import apply, start
from schemas.rules.decider import decide, file_complaint
from schemas.state import CaseState
from schemas.view import view_of
from tests.domain_fixtures import make_case
from workflows.ports import StoreInput


def happy_batches(complaint_id: str) -> list[list[RecordedEvent]]:
    """The happy path's events as the workflow's outbox would hand them over: one batch per command."""
    now = datetime.now(UTC)
    (filed,) = file_complaint(make_case(complaint_id=complaint_id), now)
    state = start(filed)  # type: ignore[arg-type]
    batches = [[RecordedEvent(complaint_id=complaint_id, seq=1, event=filed)]]
    for step, command in enumerate(happy_path(), start=1):
        batch = []
        for event in decide(state, command, now + timedelta(seconds=step)):
            state = apply(state, event)
            batch.append(RecordedEvent(complaint_id=complaint_id, seq=state.event_count, event=event))
        batches.append(batch)
    return batches


async def _per_case(cases: list[Any], concurrency: int, one: Any) -> float:
    queue: asyncio.Queue[Any] = asyncio.Queue()
    for case in cases:
        queue.put_nowait(case)

    async def lane() -> None:
        while not queue.empty():
            await one(queue.get_nowait())

    started = time.perf_counter()
    await asyncio.gather(*(lane() for _ in range(concurrency)))
    return time.perf_counter() - started


async def append_rates(pool: Pool, cases: int, concurrency: int, tag: str) -> dict[str, Any]:
    """Events/s through the ``store`` activity's write (events, read model and outbox in one transaction, as the
    workflow hands them over: one batch per command) and through bare inserts of the same rows."""
    store = BatchStore(pool)
    activity_cases = [happy_batches(f"S{tag}-{number}") for number in range(cases)]
    events = sum(len(batch) for case in activity_cases for batch in case)

    async def through_activity(batches: list[list[RecordedEvent]]) -> None:
        for batch in batches:
            complaint_id = batch[0].complaint_id
            await store.store(
                StoreInput(complaint_id=complaint_id, workflow_id=f"complaint-{complaint_id}", run_id="bench",
                           events=batch, notifications=[])
            )  # fmt: skip

    activity_seconds = await _per_case(activity_cases, concurrency, through_activity)

    raw_cases = [
        [
            [(f"R{tag}-{number}", r.seq, r.event.type, r.event.at, r.event.model_dump(mode="json")) for r in batch]
            for batch in case
        ]
        for number, case in enumerate(activity_cases)
    ]
    insert = (
        "insert into events (complaint_id, seq, type, at, payload, workflow_id, run_id) "
        "values ($1, $2, $3, $4, $5, 'raw', 'raw')"
    )

    async def raw(batches: list[list[tuple[Any, ...]]]) -> None:
        for batch in batches:
            async with pool.acquire() as connection:
                await connection.executemany(insert, batch)

    raw_seconds = await _per_case(raw_cases, concurrency, raw)
    return {
        "events": events, "activity": events / activity_seconds, "raw": events / raw_seconds,
        "path": "the store activity's write",
    }  # fmt: skip


async def rebuild_rate(pool: Pool) -> dict[str, float]:
    """Fold every stored case from ``events`` (not the raw copies) and write its row to a scratch table."""
    started = time.perf_counter()
    events = cases = 0
    async with pool.acquire() as connection, connection.transaction():
        await connection.execute("create temp table rebuilt (complaint_id text primary key, stage text, state jsonb)")
        current: str | None = None
        state: CaseState | None = None
        rows: list[tuple[Any, ...]] = []
        cursor = connection.cursor(
            "select complaint_id, payload from events where workflow_id <> 'raw' order by complaint_id, seq",
            prefetch=2000,
        )
        async for row in cursor:
            event = EVENT.validate_python(row["payload"])
            if row["complaint_id"] != current:
                if state is not None:
                    rows.append((current, state.stage, state.model_dump(mode="json")))
                current, state = row["complaint_id"], start(event)  # type: ignore[arg-type]
            else:
                assert state is not None
                state = apply(state, event)
            events += 1
        if state is not None:
            rows.append((current, view_of(state).stage, state.model_dump(mode="json")))
        cases = len(rows)
        await connection.executemany("insert into rebuilt values ($1, $2, $3)", rows)
    seconds = time.perf_counter() - started
    return {"events": events, "cases": cases, "events_per_s": events / seconds, "cases_per_s": cases / seconds}
