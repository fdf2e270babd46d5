"""The append path keeps the last folded state of a case in memory; a row another writer moved on is re-read."""

from __future__ import annotations

from activities.event_store import AppendEventsInput, EventStore, Pool, load_case, load_events
from bench.store import happy_batches
from schemas.events import Event, RecordedEvent
from schemas.state import fold
from tests.test_lost_task_appends import published


def batch(events: list[RecordedEvent]) -> AppendEventsInput:
    complaint_id = events[0].complaint_id
    return AppendEventsInput(
        complaint_id=complaint_id, workflow_id=f"complaint-{complaint_id}", run_id="run", events=events
    )


async def test_two_writers_taking_turns_leave_the_fold_of_every_event(pool: Pool) -> None:
    batches = happy_batches("two-writers-1")
    mine, theirs = EventStore(pool), EventStore(pool)  # as two worker processes would
    for number, events in enumerate(batches):
        writer = mine if number % 3 != 1 else theirs
        assert await writer.append_events(batch(events)) == len(events)

    stored = await load_events(pool, "two-writers-1")
    assert [recorded.seq for recorded in stored] == list(range(1, len(stored) + 1))
    assert await load_case(pool, "two-writers-1") == fold(recorded.event for recorded in stored)


class CountingStore(EventStore):
    """Counts the writes the one-statement path took and those it left to the full path."""

    def __init__(self, pool: Pool) -> None:
        super().__init__(pool)
        self.advanced = self.fell_back = 0

    async def _advance(self, input: AppendEventsInput, by_seq: dict[int, Event], first: int, last: int) -> int | None:
        written = await super()._advance(input, by_seq, first, last)
        if written is None:
            self.fell_back += 1
        else:
            self.advanced += 1
        return written


async def test_a_case_published_by_one_worker_moves_on_in_one_statement_per_batch(pool: Pool) -> None:
    batches = happy_batches("one-statement-1")
    store = CountingStore(pool)
    for number, events in enumerate(batches):
        assert await store.write(published(events, 3 + 6 * number)) == len(events)

    assert (store.advanced, store.fell_back) == (len(batches) - 1, 1)  # the filing has nothing kept to go on from
    stored = await load_events(pool, "one-statement-1")
    assert stored == [recorded for events in batches for recorded in events]
    assert await load_case(pool, "one-statement-1") == fold(recorded.event for recorded in stored)


async def test_a_kept_state_another_writer_moved_past_is_not_written_over(pool: Pool) -> None:
    batches = happy_batches("one-statement-2")
    mine, theirs = CountingStore(pool), CountingStore(pool)
    await mine.write(published(batches[0], 3))
    await mine.write(published(batches[1], 9))
    await theirs.write(published(batches[2], 15))  # the case moved to another worker for one task
    await mine.write(published(batches[3], 21))  # mine still keeps the state after batch 1

    assert mine.fell_back == 2  # the filing, and the batch after the other worker's
    stored = await load_events(pool, "one-statement-2")
    assert stored == [recorded for events in batches[:4] for recorded in events]
    assert await load_case(pool, "one-statement-2") == fold(recorded.event for recorded in stored)


async def test_a_new_run_does_not_take_the_last_runs_kept_state(pool: Pool) -> None:
    batches = happy_batches("one-statement-3")
    store = CountingStore(pool)
    await store.write(published(batches[0], 3, run_id="run-1"))
    await store.write(published(batches[1], 9, run_id="run-1"))
    await store.write(published(batches[2], 4, run_id="run-2"))  # a reset run: shorter history, other run id

    assert store.fell_back == 2
    stored = await load_events(pool, "one-statement-3")
    assert stored == [recorded for events in batches[:3] for recorded in events]
    assert await load_case(pool, "one-statement-3") == fold(recorded.event for recorded in stored)
