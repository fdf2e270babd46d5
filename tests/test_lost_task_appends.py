"""The store against a lost workflow task: ``publish`` writes from inside a task that may never be recorded.

A redone task decides its command again later (other timestamps, other deadlines) or not at all; the store
must end up holding what the history holds, and a straggling write from the lost task must change nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from activities.event_store import AppendEventsInput, EventStore, Pool, load_case, load_events
from bench.lifecycle import happy_path
from schemas.events import RecordedEvent
from schemas.state import CaseState, fold, start
from tests.domain_fixtures import make_case
from workflows.decider import decide, file_complaint

FILED_AT = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def story(complaint_id: str, steps: int, redo_last_at: timedelta | None = None) -> list[list[RecordedEvent]]:
    """The happy path's first ``steps`` commands as outbox batches; the last one decided ``redo_last_at`` later."""
    (filed,) = file_complaint(make_case(complaint_id=complaint_id), FILED_AT)
    state: CaseState = start(filed)  # type: ignore[arg-type]
    batches = [[RecordedEvent(complaint_id=complaint_id, seq=1, event=filed)]]
    for step, command in enumerate(happy_path()[:steps], start=1):
        at = FILED_AT + timedelta(minutes=step)
        if step == steps and redo_last_at is not None:
            at += redo_last_at
        batch = []
        for event in decide(state, command, at):
            state = state.apply(event)
            batch.append(RecordedEvent(complaint_id=complaint_id, seq=state.event_count, event=event))
        batches.append(batch)
    return batches


def published(events: list[RecordedEvent], history_length: int, run_id: str = "run-1") -> AppendEventsInput:
    complaint_id = events[0].complaint_id
    return AppendEventsInput(
        complaint_id=complaint_id, workflow_id=f"complaint-{complaint_id}", run_id=run_id, events=events,
        history_length=history_length,
    )  # fmt: skip


async def write_all(store: EventStore, batches: list[list[RecordedEvent]], history_length: int) -> None:
    for number, events in enumerate(batches):
        await store.write(published(events, history_length + 6 * number))


async def assert_store_holds(pool: Pool, complaint_id: str, batches: list[list[RecordedEvent]]) -> None:
    expected = [recorded for events in batches for recorded in events]
    assert await load_events(pool, complaint_id) == expected
    assert await load_case(pool, complaint_id) == fold(recorded.event for recorded in expected)


async def test_a_redone_task_overwrites_what_the_lost_task_stored(pool: Pool) -> None:
    store = EventStore(pool)
    lost = story("lost-1", steps=3)
    await write_all(store, lost, history_length=3)
    redone = story("lost-1", steps=3, redo_last_at=timedelta(seconds=12))
    assert redone[-1] != lost[-1]

    assert await store.write(published(redone[-1], history_length=40)) == len(redone[-1])

    await assert_store_holds(pool, "lost-1", redone)


async def test_a_late_write_from_the_lost_task_is_refused(pool: Pool) -> None:
    store, straggler = EventStore(pool), EventStore(pool)
    lost = story("lost-2", steps=3)
    await write_all(store, lost, history_length=3)
    redone = story("lost-2", steps=3, redo_last_at=timedelta(seconds=12))
    await store.write(published(redone[-1], history_length=40))

    assert await straggler.write(published(lost[-1], history_length=15)) == 0

    await assert_store_holds(pool, "lost-2", redone)


async def test_events_a_redone_task_never_decided_are_removed(pool: Pool) -> None:
    """The lost task's command was not redone (its Update was lost with the server): its events go."""
    store = EventStore(pool)
    longer = story("lost-3", steps=4)
    await write_all(store, longer, history_length=3)
    shorter = longer[:-1]

    await store.write(published(shorter[-1], history_length=60))

    await assert_store_holds(pool, "lost-3", shorter)


async def test_a_retry_inside_the_same_task_changes_nothing(pool: Pool) -> None:
    store = EventStore(pool)
    batches = story("lost-4", steps=5)
    await write_all(store, batches, history_length=3)

    assert await store.write(published(batches[-1], history_length=3 + 6 * 5)) == 0
    assert await EventStore(pool).write(published(batches[-1], history_length=3 + 6 * 5)) == 0

    await assert_store_holds(pool, "lost-4", batches)


async def test_a_worker_that_kept_the_lost_fold_reads_the_rewritten_case_again(pool: Pool) -> None:
    """Worker A folded the lost batch; worker B rewrote it; A's next batch must fold onto B's version."""
    a, b = EventStore(pool), EventStore(pool)
    lost = story("lost-5", steps=3)
    await write_all(a, lost, history_length=3)
    redone = story("lost-5", steps=3, redo_last_at=timedelta(seconds=12))
    await b.write(published(redone[-1], history_length=40))
    state = fold(recorded.event for events in redone for recorded in events)
    next_batch = []
    for event in decide(state, happy_path()[3], FILED_AT + timedelta(minutes=10)):
        state = state.apply(event)
        next_batch.append(RecordedEvent(complaint_id="lost-5", seq=state.event_count, event=event))

    await a.write(published(next_batch, history_length=46))

    await assert_store_holds(pool, "lost-5", [*redone, next_batch])
