"""The baseline: a bare workflow that takes a case's input and its Updates and does nothing else.

It stands for the fastest thing the same Temporal server can do with the same traffic: one start and
``UPDATES`` Update round trips per case, each answered at once, then it completes. ``python -m
bench.baseline`` runs a worker for it with the same tuning as Whistle's own worker.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

from temporalio import workflow
from temporalio.worker import Worker

UPDATES = 7
"""The happy path's commands: verify, blow, two report-ins, two completions, the evaluation."""


@workflow.defn(name="BenchBaseline")
class BaselineWorkflow:
    """Counts Updates and completes after ``UPDATES`` of them."""

    def __init__(self) -> None:
        self._received = 0

    @workflow.run
    async def run(self, case: Any) -> int:
        await workflow.wait_condition(lambda: self._received >= UPDATES)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self._received

    @workflow.update
    def command(self, command: Any) -> int:
        """Accept anything; answer with how many Updates arrived so far."""
        self._received += 1
        return self._received


async def _serve(address: str, task_queue: str) -> None:
    # The workflow class from its importable module, not this ``__main__`` copy: a sandbox that passes
    # modules through must be able to import the workflow's module by name.
    from bench.baseline import BaselineWorkflow as Importable
    from whistle.connection import connect_temporal
    from worker import WORKER_TUNING

    client = await connect_temporal(address, "default")
    await Worker(client, task_queue=task_queue, workflows=[Importable], **WORKER_TUNING).run()


if __name__ == "__main__":
    asyncio.run(_serve(os.environ["TEMPORAL_ADDRESS"], os.environ["WHISTLE_TASK_QUEUE"]))
