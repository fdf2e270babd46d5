"""A clock that runs out while no worker is alive fires when a new worker takes the case over.

The case's next workflow task waits on the dead worker's sticky queue until it times out, then goes to the
new worker, which replays the history and runs the task live. The clock must fire then, and the history must
replay afterwards exactly as it ran.
"""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer

from schemas.org import load_directory
from tests.chaos.scenarios import ESCALATING
from tests.chaos.servers import WorkerProcess
from tests.domain_fixtures import blow, verify
from tests.helpers import TestClient, new_intake, wait_until
from tests.pg import TestDatabase
from whistle.client import workflow_id_for
from whistle.settings import DATA_DIR
from worker import WORKER_TUNING
from workflows.complaint import ComplaintWorkflow

LEAD, SECOND = "urban_management", "market_regulation"


async def test_a_clock_that_ran_out_while_no_worker_lived_fires_on_the_next(
    dev_env: WorkflowEnvironment, database: TestDatabase, tmp_path: Path
) -> None:
    task_queue = f"crash-clock-{uuid.uuid4().hex[:8]}"
    worker = WorkerProcess(
        {
            "TEMPORAL_ADDRESS": dev_env.client.service_client.config.target_host,
            "DATABASE_URL": database.url,
            "WHISTLE_TASK_QUEUE": task_queue,
            "WHISTLE_HOME": str(tmp_path / "home"),
        },
        tmp_path / "worker.log",
    )
    client = TestClient(
        dev_env.client, task_queue=task_queue, directory=load_directory(DATA_DIR / "org.yaml"), policy=ESCALATING
    )
    worker.start()
    try:
        complaint_id = (await client.submit(new_intake())).complaint_id
        await client.execute(complaint_id, verify())
        await client.execute(complaint_id, blow(LEAD, SECOND, lead=LEAD))
        worker.kill()
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
