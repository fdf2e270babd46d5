"""A worker told to stop (SIGTERM, as a deployment stops it) finishes what it holds before it exits."""

from __future__ import annotations

import asyncio
import os
import signal
import uuid
from pathlib import Path

from temporalio.testing import WorkflowEnvironment

from activities.event_store import Pool
from tests.domain_fixtures import blow, verify
from tests.helpers import Webhook, new_intake, sample_client, wait_until, worker_process
from tests.pg import TestDatabase

LEAD = "urban_management"


async def test_a_stopped_worker_finishes_the_command_it_holds_before_it_exits(
    dev_env: WorkflowEnvironment, database: TestDatabase, pool: Pool, tmp_path: Path
) -> None:
    hook = Webhook(delay=3.0)  # the whistle's notification keeps the worker busy for 3 s
    server = await asyncio.start_server(hook.handle, "127.0.0.1", 0)
    task_queue = f"shutdown-{uuid.uuid4().hex[:8]}"
    worker = worker_process(
        dev_env.client.service_client.config.target_host,
        database.url,
        task_queue,
        tmp_path,
        WHISTLE_WEBHOOK_URL=f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/hook",
        WHISTLE_SHUTDOWN_GRACE="20",
    )
    client = sample_client(dev_env.client, task_queue, pool=pool)
    async with server:
        worker.start()
        try:
            complaint_id = (await client.submit(new_intake())).complaint_id
            await client.execute(complaint_id, verify())
            blowing = asyncio.create_task(client.execute(complaint_id, blow(LEAD)))

            async def whistle_in_flight() -> bool:
                return any(body["topic"] == "WhistleBlown" for _, body in hook.requests)

            await wait_until(whistle_in_flight, within=30)
            assert worker.process is not None
            os.killpg(worker.process.pid, signal.SIGTERM)
            exit_code = await asyncio.to_thread(worker.process.wait, 30)
            # Answered by the stopping worker itself: no other worker polls this queue.
            view = await asyncio.wait_for(blowing, timeout=5)
        finally:
            worker.kill()
            await client.terminate_filed()
    assert exit_code == 0
    assert view.stage == "whistled"
    assert [body["topic"] for _, body in hook.requests].count("WhistleBlown") == 1  # sent once, not retried
    log = (tmp_path / "worker.log").read_text(encoding="utf-8")
    assert "worker stopping" in log and "worker stopped" in log
