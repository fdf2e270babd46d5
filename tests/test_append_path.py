"""The append path keeps the last folded state of a case in memory; a row another writer moved on is re-read."""

from __future__ import annotations

from activities.event_store import AppendEventsInput, EventStore, Pool, load_case, load_events
from bench.store import happy_batches
from schemas.events import RecordedEvent
from schemas.state import fold


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
