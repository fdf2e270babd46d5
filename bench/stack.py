"""The benchmark's own servers and worker processes, apart from anything else on the machine.

The stack lives in a temporary ``WHISTLE_HOME`` on free ports (never 7233/8233, where a developer's dev
server may run), and is stopped and removed at the end. Workers run as separate processes, as in
production, so their memory can be measured and the load generator does not share their interpreter.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path

from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client

from activities.event_store import Pool, apply_migrations, create_pool
from whistle import devstack
from whistle.connection import connect_temporal
from whistle.settings import Settings

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass(frozen=True)
class BenchStack:
    home: Path
    settings: Settings
    info: devstack.StackInfo


@contextmanager
def bench_stack(home: Path | None = None) -> Iterator[BenchStack]:
    """A Temporal dev server and a PostgreSQL in ``home`` (a fresh temporary directory by default)."""
    owned = home is None
    home = home or Path(tempfile.mkdtemp(prefix="whistle-bench-"))
    settings = Settings(home=home, temporal_port=free_port(), ui_port=free_port(), codec_port=free_port())
    try:
        info = devstack.up(settings)
        yield BenchStack(home, settings, info)
    except BaseException:
        kept = Path(tempfile.mkdtemp(prefix="whistle-bench-logs-"))
        for log in home.glob("*.log"):
            shutil.copy(log, kept)
        print(f"bench failed; worker and server logs kept in {kept}", file=sys.stderr)
        raise
    finally:
        devstack.down(settings)
        if owned:
            shutil.rmtree(home, ignore_errors=True)


async def connect(stack: BenchStack) -> tuple[Client, Pool]:
    """A Temporal client and a migrated PostgreSQL pool on the stack's servers, as every harness starts."""
    temporal = await connect_temporal(stack.info.temporal_address, stack.info.namespace)
    pool = await create_pool(stack.info.database_url)
    await apply_migrations(pool)
    return temporal, pool


@dataclass
class WorkerProcesses:
    processes: list[subprocess.Popen[bytes]]

    @property
    def pids(self) -> list[int]:
        return [process.pid for process in self.processes]


@asynccontextmanager
async def worker_processes(
    stack: BenchStack, client: Client, task_queue: str, *, count: int = 1, baseline: bool = False,
    extra_env: Mapping[str, str] | None = None,
) -> AsyncIterator[WorkerProcesses]:
    """``count`` worker processes polling ``task_queue``; returns once the server sees them all polling.

    ``extra_env`` adds settings of the workers' own (``WHISTLE_METRICS_PORT`` for ``make bench-scale``)."""
    env = {
        **os.environ,
        "TEMPORAL_ADDRESS": stack.info.temporal_address,
        "DATABASE_URL": stack.info.database_url,
        "WHISTLE_TASK_QUEUE": task_queue,
        "WHISTLE_LOG_FORMAT": "json",
        "WHISTLE_ALLOW_PLAINTEXT": "true",  # the bench client reads plain payloads
        **(extra_env or {}),
    }
    env.pop("WHISTLE_CODEC_KEYS", None)
    command = [sys.executable, "-m", "bench.baseline"] if baseline else [sys.executable, str(ROOT / "worker.py")]
    processes = [_spawn(command, env, stack.home / f"worker-{task_queue}-{number}.log") for number in range(count)]
    try:
        await _wait_for_pollers(client, task_queue, count, processes)
        yield WorkerProcesses(processes)
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                await asyncio.to_thread(process.wait, 20)
            except subprocess.TimeoutExpired:
                process.kill()


def _spawn(command: list[str], env: dict[str, str], log_path: Path) -> subprocess.Popen[bytes]:
    with open(log_path, "ab") as log:
        return subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)


async def _wait_for_pollers(
    client: Client, task_queue: str, count: int, processes: list[subprocess.Popen[bytes]]
) -> None:
    deadline = time.monotonic() + 60
    while True:
        described = await client.workflow_service.describe_task_queue(
            DescribeTaskQueueRequest(
                namespace=client.namespace,
                task_queue=TaskQueue(name=task_queue),
                task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
            )
        )
        identities = {poller.identity for poller in described.pollers}
        if len(identities) >= count:
            return
        if any(process.poll() is not None for process in processes):
            raise RuntimeError(f"a worker for {task_queue} exited on start; see its log in the bench home")
        if time.monotonic() > deadline:
            raise TimeoutError(f"{count} workers did not poll {task_queue} within 60 s")
        await asyncio.sleep(0.2)
