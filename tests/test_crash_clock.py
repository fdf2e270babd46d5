"""A clock that runs out after its worker died fires on the worker that takes the case over.

Two ways in: the case's next workflow task waits on the dead worker's sticky queue until it times out and
then goes to the new worker; or a status query reaches the new worker first and replays the case for it.
Either way the clock must fire, and the history must replay afterwards exactly as it ran.

The query-first way used to fail (seen with temporalio 1.35): the next workflow task after the query-driven
replay ran with a stale ``workflow.now()``, so the clock was re-armed instead of fired and the next replay was
non-deterministic. The workflow now decides a clock from the timer that fired and stamps its event with the
clock's due time (``ComplaintWorkflow._fire_due_clocks``), so the time the task reads no longer decides anything
here.
"""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer

from activities.event_store import Pool
from tests.chaos.scenarios import ESCALATING
from tests.domain_fixtures import blow, verify
from tests.helpers import new_intake, sample_client, wait_until, worker_process
from tests.pg import TestDatabase
from whistle.client import workflow_id_for
from worker import WORKER_TUNING
from workflows.complaint import ComplaintWorkflow

LEAD, SECOND = "urban_management", "market_regulation"


@pytest.mark.parametrize(
    "query_first", [False, True], ids=["task-first", "query-first"]
)
async def test_a_clock_that_ran_out_after_its_worker_died_fires_on_the_next(
    dev_env: WorkflowEnvironment, own_database: TestDatabase, own_pool: Pool, tmp_path: Path, query_first: bool
) -> None:
    task_queue = f"crash-clock-{uuid.uuid4().hex[:8]}"
    worker = worker_process(dev_env.client.service_client.config.target_host, own_database.url, task_queue, tmp_path)
    client = sample_client(dev_env.client, task_queue, policy=ESCALATING, pool=own_pool)
    worker.start()
    try:
        complaint_id = (await client.submit(new_intake())).complaint_id
        await client.execute(complaint_id, verify())
        await client.execute(complaint_id, blow(LEAD, SECOND, lead=LEAD))
        worker.kill()
        if query_first:
            worker.start()
            await asyncio.sleep(1.5)
            await client.status(complaint_id)  # the new worker replays the case to answer
        else:
            await asyncio.sleep(8)  # the 4 s report-in clock and its warning run out with no worker alive
            worker.start()

        async def escalated() -> bool:
            return (await client.status(complaint_id)).escalation_level >= 1

        await wait_until(escalated, within=60)
    finally:
        worker.stop()
        await client.end_open_cases()
    history = await dev_env.client.get_workflow_handle(workflow_id_for(complaint_id)).fetch_history()
    replayer = Replayer(
        workflows=[ComplaintWorkflow], data_converter=dev_env.client.data_converter,
        workflow_runner=WORKER_TUNING["workflow_runner"],
    )  # fmt: skip
    await replayer.replay_workflow(history)
