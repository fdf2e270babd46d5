"""The stack's memory through a long run: the worker's RSS (the figure the target is on) beside the Temporal server's
and PostgreSQL's, sampled on a clock so a peak between two phases is not missed.

PostgreSQL is many processes sharing one buffer pool, so adding their RSS would count the shared pages once per
backend; its figure is the sum of their PSS (each shared page divided among the processes that map it), which adds
up to what the server holds. The worker and the Temporal server are one process each, and their RSS is what an
operator's ``ps`` shows.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager, suppress
from dataclasses import asdict, dataclass, field
from typing import Any

import psutil  # type: ignore[import-untyped]

from bench.cpu import process_tree
from bench.stack import BenchStack
from whistle.devstack import postgres_pid

MIB = 2**20


@dataclass(frozen=True)
class Sample:
    """One reading: seconds since sampling began, what the run had done by then, and each process group's memory."""

    at: float
    filed: int
    stored: int
    worker_mib: float
    server_mib: float
    postgres_mib: float


@dataclass
class Footprint:
    started: float = field(default_factory=time.perf_counter)
    """When sampling began (``time.perf_counter``): each sample's ``at`` counts from here."""
    samples: list[Sample] = field(default_factory=list)

    def peak(self, name: str) -> float:
        return max((getattr(sample, name) for sample in self.samples), default=float("nan"))

    def as_json(self) -> list[dict[str, Any]]:
        return [asdict(sample) for sample in self.samples]


def _rss(processes: list[psutil.Process]) -> float:
    total = 0
    for process in processes:
        try:
            total += process.memory_info().rss
        except psutil.NoSuchProcess:
            continue
    return total / MIB


def _pss(processes: list[psutil.Process]) -> float:
    total = 0
    for process in processes:
        try:
            total += process.memory_full_info().pss
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return total / MIB


class Meter:
    """Reads the three groups' memory now; the stack's processes are looked up once, PostgreSQL's backends each time
    (they come and go with connections)."""

    def __init__(self, stack: BenchStack, worker_pid: int) -> None:
        pid_file = stack.home.resolve() / "temporal.pid"
        self._server = int(pid_file.read_text()) if pid_file.exists() else None
        self._pgdata = stack.home.resolve() / "pgdata"
        self._worker = worker_pid

    def worker_mib(self) -> float:
        return _rss(process_tree(self._worker)[:1])

    def read(self) -> tuple[float, float, float]:
        return self.worker_mib(), _rss(process_tree(self._server)[:1]), _pss(process_tree(postgres_pid(self._pgdata)))


@asynccontextmanager
async def sampling(
    meter: Meter, every: float, filed: Callable[[], int], stored: Callable[[], Awaitable[int]]
) -> AsyncIterator[Footprint]:
    """Sample every ``every`` seconds while the block runs (and once at its end); ``filed`` and ``stored`` say how
    far the run had got, so a reading can be put beside the case count it was taken at."""
    footprint = Footprint()

    async def take() -> None:
        worker, server, postgres = await asyncio.to_thread(meter.read)
        footprint.samples.append(
            Sample(time.perf_counter() - footprint.started, filed(), await stored(), worker, server, postgres)
        )

    async def loop() -> None:
        while True:
            await take()
            await asyncio.sleep(every)

    task = asyncio.create_task(loop())
    try:
        yield footprint
    finally:
        task.cancel()
        with suppress(asyncio.CancelledError):
            await task
        await take()
