"""The ``store`` activity writes strictly: a seq once, a retry changes nothing, a contradiction is refused for good.

Its batches are recorded in the history before it runs, so it never has to tell a lost workflow task's write
from the history's: anything that differs from what is stored is a fault, surfaced, never overwritten.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from temporalio.client import WorkflowFailureError
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from activities.event_store import OutOfSequence, Pool, load_case, load_events
from activities.personal_data import new_reference
from activities.registry import bind_run
from activities.store import BatchStore
from bench.lifecycle import happy_path
from schemas.events import RecordedEvent
from schemas.fold import apply, fold, start
from schemas.intake import ReporterReference
from schemas.rules.decider import decide, file_complaint
from schemas.state import CaseState
from tests.domain_fixtures import make_case
from tests.helpers import new_intake, running_worker
from whistle.client import workflow_id_for
from workflows.complaint import ComplaintWorkflow
from workflows.ports import STORE_REFUSED, StoreInput

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
            state = apply(state, event)
            batch.append(RecordedEvent(complaint_id=complaint_id, seq=state.event_count, event=event))
        batches.append(batch)
    return batches


def batch(events: list[RecordedEvent], run_id: str = "run-1") -> StoreInput:
    complaint_id = events[0].complaint_id
    return StoreInput(
        complaint_id=complaint_id, workflow_id=f"complaint-{complaint_id}", run_id=run_id, events=events,
        notifications=[],
    )  # fmt: skip


def new_id() -> str:
    return f"S-{uuid.uuid4().hex[:10]}"


async def test_batches_in_order_store_the_case_and_a_retry_writes_nothing(pool: Pool) -> None:
    batches = story(new_id(), steps=3)
    store = BatchStore(pool)
    written = [await store.store(batch(events)) for events in batches]
    assert written == [len(events) for events in batches]
    # A retried attempt (the server retries an activity whose answer it lost) finds every row as it carries them.
    assert await BatchStore(pool).store(batch(batches[-1])) == 0
    expected = [recorded for events in batches for recorded in events]
    assert await load_events(pool, expected[0].complaint_id) == expected
    assert await load_case(pool, expected[0].complaint_id) == fold(recorded.event for recorded in expected)


async def test_a_different_event_at_a_stored_seq_is_refused_and_changes_nothing(pool: Pool) -> None:
    complaint_id = new_id()
    stored = story(complaint_id, steps=2)
    other = story(complaint_id, steps=2, redo_last_at=timedelta(minutes=5))
    store = BatchStore(pool)
    for events in stored:
        await store.store(batch(events))
    with pytest.raises(ApplicationError) as refused:
        await store.store(batch(other[-1]))
    assert refused.value.type == STORE_REFUSED and refused.value.non_retryable
    assert await load_events(pool, complaint_id) == [recorded for events in stored for recorded in events]


async def test_another_run_of_the_complaint_id_is_refused(pool: Pool) -> None:
    complaint_id = new_id()
    first, *_ = story(complaint_id, steps=1)
    await BatchStore(pool).store(batch(first, run_id="run-1"))
    with pytest.raises(ApplicationError) as refused:
        await BatchStore(pool).store(batch(first, run_id="run-2"))
    assert refused.value.type == STORE_REFUSED
    assert "run-1" in str(refused.value)


async def test_a_batch_that_skips_an_event_is_retried_not_written(pool: Pool) -> None:
    first, second, third = story(new_id(), steps=2)
    store = BatchStore(pool)
    await store.store(batch(first))
    with pytest.raises(OutOfSequence):  # an ordinary error: the server retries it, the gap stays visible
        await store.store(batch(third))
    assert await load_events(pool, first[0].complaint_id) == first
    await store.store(batch(second))
    await store.store(batch(third))
    assert await load_events(pool, first[0].complaint_id) == [*first, *second, *third]


async def test_a_run_started_for_an_id_another_run_owns_fails_without_storing(
    dev_env: WorkflowEnvironment, pool: Pool
) -> None:
    """Temporal would start a second run once retention purged the first; the store refuses its events and the
    impostor run fails, leaving the owner's case as it was."""
    async with running_worker(dev_env.client, pool) as client:
        intake = new_intake()
        case = client.build_case(intake, datetime.now(UTC), ReporterReference(reference=new_reference()))
        await bind_run(pool, case.complaint_id, workflow_id_for(case.complaint_id), "the-owners-run")
        handle = await client.temporal.start_workflow(
            ComplaintWorkflow.run, case, id=workflow_id_for(case.complaint_id), task_queue=client.task_queue
        )
        with pytest.raises(WorkflowFailureError) as failed:
            await handle.result()
        assert isinstance(failed.value.cause, ApplicationError) and failed.value.cause.type == STORE_REFUSED
        assert await load_events(pool, case.complaint_id) == []
