"""CPU time per case, split by process: where a side's cost goes when the machine is the limit.

Throughput on two cores is bounded by the CPU each case costs across the Temporal server, PostgreSQL, the
workers and the driver; comparing the sides process by process says which of them Whistle's extra cost is in.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import psutil  # type: ignore[import-untyped]

from bench.stack import BenchStack
from whistle.devstack import postgres_pid

CPU_GROUPS = ("server", "postgres", "worker", "driver")


@dataclass
class CpuUse:
    """CPU seconds each group of processes used over the measured block."""

    seconds: dict[str, float] = field(default_factory=dict)

    def add(self, other: CpuUse) -> None:
        for name, used in other.seconds.items():
            self.seconds[name] = self.seconds.get(name, 0.0) + used

    def per_case_ms(self, cases: int) -> dict[str, float]:
        return {name: 1000 * used / cases for name, used in self.seconds.items()}


def process_tree(pid: int | None) -> list[psutil.Process]:
    if pid is None:
        return []
    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def _used(processes: list[psutil.Process]) -> dict[int, float]:
    used = {}
    for process in processes:
        try:
            times = process.cpu_times()
        except psutil.NoSuchProcess:
            continue
        used[process.pid] = times.user + times.system
    return used


@contextmanager
def cpu_use(stack: BenchStack, worker_pids: list[int]) -> Iterator[CpuUse]:
    """Measure the server, PostgreSQL (every backend), the workers and this driver over the block."""
    pid_file = stack.home.resolve() / "temporal.pid"
    temporal = int(pid_file.read_text()) if pid_file.exists() else None
    groups: dict[str, Callable[[], list[psutil.Process]]] = {
        "server": lambda: process_tree(temporal),
        "postgres": lambda: process_tree(postgres_pid(stack.home.resolve() / "pgdata")),
        "worker": lambda: [p for pid in worker_pids for p in process_tree(pid)],
        "driver": lambda: process_tree(os.getpid())[:1],
    }
    before = {name: _used(processes()) for name, processes in groups.items()}
    result = CpuUse()
    yield result
    for name, processes in groups.items():
        after = _used(processes())
        # Backends that came and went during the block are missed; the pool keeps its connections, so few do.
        result.seconds[name] = sum(after[pid] - before[name].get(pid, 0.0) for pid in after)
