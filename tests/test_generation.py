"""Workflow generations: a case filed under the current one has its patches built in, an older case still asks
its history, and a case from a newer generation waits for a worker that knows it.

The replay test covers the recorded histories of each kind; this covers what new cases record.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from datetime import datetime

import pytest
from temporalio.client import WorkflowExecutionStatus
from temporalio.testing import WorkflowEnvironment

from activities.event_store import Pool, load_events
from schemas.commands import PersonCommand
from schemas.intake import WORKFLOW_GENERATION, ComplaintInput, ComplaintIntake, ReporterReference
from tests.domain_fixtures import blow, complete, evaluate, report_in, verify
from tests.helpers import TestClient, history_event_types, new_intake, running_worker, wait_until
from whistle.client import workflow_id_for

LEAD, SECOND = "urban_management", "market_regulation"
HAPPY_PATH: list[PersonCommand] = [
    verify(), blow(LEAD, SECOND, lead=LEAD), report_in(LEAD), report_in(SECOND), complete(LEAD), complete(SECOND),
    evaluate("satisfied"),
]  # fmt: skip


class GenerationClient(TestClient):
    """Files its cases under a chosen generation, as a client of another release would."""

    __test__ = False

    def __init__(self, client: TestClient, generation: int) -> None:
        super().__init__(
            client.temporal, task_queue=client.task_queue, directory=client.directory, policy=client.policy,
            pool=client._pool,
        )  # fmt: skip
        self.filed, self.intakes = client.filed, client.intakes  # the worker fixture ends and checks them
        self.generation = generation

    def build_case(self, intake: ComplaintIntake, now: datetime, reporter: ReporterReference) -> ComplaintInput:
        return super().build_case(intake, now, reporter).model_copy(update={"generation": self.generation})


@pytest.fixture(scope="module")
async def client(dev_env: WorkflowEnvironment, pool: Pool) -> AsyncIterator[TestClient]:
    async with running_worker(dev_env.client, pool) as whistle:
        yield whistle


async def run_happy_path(client: TestClient, pool: Pool) -> Counter[str]:
    complaint_id = (await client.submit(new_intake())).complaint_id
    for command in HAPPY_PATH:
        await client.execute(complaint_id, command)
    await client.temporal.get_workflow_handle(workflow_id_for(complaint_id)).result()
    stored = await load_events(pool, complaint_id)
    assert stored == await client.events(complaint_id)
    return Counter(await history_event_types(client, complaint_id))


async def test_current_generation_records_no_patch_markers(client: TestClient, pool: Pool) -> None:
    counts = await run_happy_path(client, pool)
    # No marker at all (events leave through store activities), and only the case's own visible changes: filing
    # and four stages.
    assert counts["EVENT_TYPE_MARKER_RECORDED"] == 0, counts
    assert counts["EVENT_TYPE_ACTIVITY_TASK_SCHEDULED"] >= 1, counts
    assert counts["EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES"] == 5, counts


@pytest.mark.parametrize(("generation", "patches"), [(0, 3), (1, 2)])
async def test_case_from_an_older_generation_asks_its_history(
    client: TestClient, pool: Pool, generation: int, patches: int
) -> None:
    """An older client's case asks for each patch its generation lacks (generation 0: overdue-stays-visible,
    store-trails and clocks-from-timers; generation 1: the last two; local-publish is not asked once store-trails
    is on)."""
    counts = await run_happy_path(GenerationClient(client, generation=generation), pool)
    # Each patch leaves its marker and the SDK's TemporalChangeVersion upsert, and the case behaves the same.
    assert counts["EVENT_TYPE_MARKER_RECORDED"] == patches, counts
    assert counts["EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES"] == 5 + patches, counts


async def test_case_from_a_newer_generation_waits_for_a_newer_worker(client: TestClient) -> None:
    newer = GenerationClient(client, generation=WORKFLOW_GENERATION + 1)
    complaint_id = (await newer.submit(new_intake())).complaint_id
    handle = client.temporal.get_workflow_handle(workflow_id_for(complaint_id))

    async def task_failed() -> bool:
        return "EVENT_TYPE_WORKFLOW_TASK_FAILED" in await history_event_types(client, complaint_id)

    await wait_until(task_failed)
    # The workflow task failed, not the workflow: it stays open, with nothing decided or made visible.
    assert (await handle.describe()).status == WorkflowExecutionStatus.RUNNING
    counts = Counter(await history_event_types(client, complaint_id))
    assert counts["EVENT_TYPE_MARKER_RECORDED"] == counts["EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES"] == 0, counts
