"""A worker killed anywhere between a decision and the recording of its workflow task leaves the store behind the
history, never ahead of it.

Each command of a case's happy path is sent and its worker SIGKILLed a little later each time, from at once to
well after the answer: inside the validator, the handler, the task's completion, the store activity's
transaction. After each kill, before a new worker starts, every stored event must be in the history as it
is stored there; then the command is answered by the next worker and the store catches up.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from temporalio.testing import WorkflowEnvironment

from activities.event_store import Pool, load_events
from schemas.commands import PersonCommand
from tests.domain_fixtures import blow, complete, evaluate, report_in, verify
from tests.helpers import TestClient, case_handle, new_intake, sample_client, wait_until, worker_process
from tests.pg import TestDatabase
from workflows.complaint import ComplaintWorkflow

LEAD = "urban_management"
KILL_AFTER = (0.0, 0.01, 0.03, 0.1, 0.3)
"""Seconds between sending a command and killing the worker that takes it."""


async def assert_store_within_history(client: TestClient, pool: Pool, complaint_id: str) -> None:
    stored = await load_events(pool, complaint_id)  # the store first: a trailing store cannot race ahead of this
    recorded = await client.events(complaint_id)
    assert stored == recorded[: len(stored)], (stored[len(recorded) :] or stored, recorded)


async def test_a_worker_killed_at_any_point_of_a_command_leaves_the_store_behind_the_history(
    dev_env: WorkflowEnvironment, own_database: TestDatabase, own_pool: Pool, tmp_path: Path
) -> None:
    task_queue = f"kill-points-{tmp_path.name[-8:]}"
    worker = worker_process(dev_env.client.service_client.config.target_host, own_database.url, task_queue, tmp_path)
    client = sample_client(dev_env.client, task_queue, pool=own_pool)
    commands: list[PersonCommand] = [
        verify(), blow(LEAD, lead=LEAD), report_in(LEAD), complete(LEAD), evaluate("satisfied"),
    ]  # fmt: skip
    worker.start()
    try:
        complaint_id = (await client.submit(new_intake())).complaint_id
        handle = case_handle(client.temporal, complaint_id)
        kills = iter(KILL_AFTER)
        for command in commands:
            sending = asyncio.create_task(client.execute(complaint_id, command))
            await asyncio.sleep(next(kills))
            worker.kill()
            await assert_store_within_history(client, own_pool, complaint_id)
            worker.start()
            await asyncio.wait_for(sending, timeout=60)
            await assert_store_within_history(client, own_pool, complaint_id)

        async def stored_all() -> bool:
            decided = (await handle.query(ComplaintWorkflow.state)).event_count
            return len(await load_events(own_pool, complaint_id)) == decided

        await wait_until(stored_all, within=60)
        await handle.result()
        assert await load_events(own_pool, complaint_id) == await client.events(complaint_id)
    finally:
        worker.stop()
        await client.end_open_cases()
