"""``make bench``: measure Whistle against a bare workflow on the same servers in the same run.

Starts its own embedded stack (temporary home, free ports), runs each figure, prints one line per figure,
saves the figures as JSON under ``bench/results/`` and writes ``BENCHMARKS.md``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import subprocess
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

import psutil  # type: ignore[import-untyped]
from temporalio.client import Client

from activities.files import load_directory, load_policy
from activities.log import configure_logging
from bench import lifecycle, report, store
from bench.cpu import CPU_GROUPS, CpuUse, cpu_use
from bench.stack import ROOT, BenchStack, bench_stack, connect, worker_processes
from whistle.client import WhistleClient
from whistle.devstack import temporal_binary
from whistle.settings import DATA_DIR, Settings
from worker import WORKER_TUNING

RESULTS = ROOT / "bench" / "results"


def say(name: str, text: str) -> None:
    print(f"{name:<28} {text}", flush=True)


def machine() -> dict[str, Any]:
    model = next(
        (line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
         if line.startswith("model name")),
        platform.processor(),
    )  # fmt: skip
    server = subprocess.run([str(temporal_binary()), "--version"], capture_output=True, text=True, check=False)
    return {
        "cpu": model, "cores": os.cpu_count(), "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"), "python": platform.python_version(),
        "temporalio": version("temporalio"), "temporal_cli": server.stdout.strip(),
        "load_at_start": os.getloadavg(),
    }  # fmt: skip


def tuning() -> str:
    """``WORKER_TUNING`` in a few words (the sandbox's restrictions would print as pages)."""

    def short(value: Any) -> str:
        restrictions = getattr(value, "restrictions", None)
        if restrictions is not None:
            return f"{type(value).__name__}(passthrough_all_modules={restrictions.passthrough_all_modules})"
        return repr(value)

    return ", ".join(f"{name}={short(value)}" for name, value in WORKER_TUNING.items()) or "defaults"


async def measure(stack: BenchStack, options: argparse.Namespace) -> dict[str, Any]:
    figures: dict[str, Any] = {"machine": machine(), "options": vars(options), "worker_tuning": tuning()}
    temporal, pool = await connect(stack)
    figures["machine"]["postgres"] = await pool.fetchval("show server_version")
    directory = load_directory(DATA_DIR / "org.yaml")
    policy = load_policy(DATA_DIR / "policy.yaml")
    concurrency = options.concurrency

    def client_on(task_queue: str) -> WhistleClient:
        return WhistleClient(temporal, task_queue=task_queue, directory=directory, policy=policy, pool=pool)

    phases = set(options.phases.split(","))
    if "lifecycle" in phases:
        figures["lifecycle"] = await lifecycle_figures(stack, temporal, options, client_on)
    if not phases & {"history", "deadlines", "rest", "store"}:
        return figures

    queue = f"whistle-{uuid.uuid4().hex[:8]}"
    async with worker_processes(stack, temporal, queue, count=1) as single:
        client = client_on(queue)
        sizes = await lifecycle.history_sizes(client) if "history" in phases else {}
        figures["history"] = {name: {"events": count, "bytes": size} for name, (count, size) in sizes.items()}
        for name, (count, size) in sizes.items():
            say(f"history: {name}", f"{count} events, {size / 1024:.1f} KiB")
        if "deadlines" in phases:
            await deadlines(client, pool, options, concurrency, figures)
        if "rest" in phases:
            await open_cases(client, pool, options, concurrency, single.pids[0], figures)
    if "store" in phases:
        await store_figures(pool, options, figures)
    figures["machine"]["load_at_end"] = os.getloadavg()
    await pool.close()
    return figures


async def lifecycle_figures(
    stack: BenchStack, temporal: Client, options: argparse.Namespace, client_on: Callable[[str], WhistleClient]
) -> dict[str, Any]:
    """Both sides' workers run throughout; the driver alternates short rounds between them.

    Neighbours on a shared machine change its speed from minute to minute (single rounds of the same code
    gave ratios from 0.52 to 0.89). Short alternating rounds put both sides under the same neighbours, and
    the figures pool every round: throughput is all cases over all seconds, p50 and p99 are over all
    latencies, CPU is all seconds over all cases.
    """
    cases, concurrency, workers = options.cases, options.concurrency, options.workers
    queues = {"baseline": f"baseline-{uuid.uuid4().hex[:8]}", "whistle": f"whistle-{uuid.uuid4().hex[:8]}"}

    async def drive(side: str, count: int, load: lifecycle.Load = concurrency) -> lifecycle.Run:
        if side == "baseline":
            return await lifecycle.baseline_paths(client_on(queues[side]), queues[side], count, load)
        return await lifecycle.whistle_happy_paths(client_on(queues[side]), count, load)

    runs: dict[str, list[lifecycle.Run]] = {"baseline": [], "whistle": []}
    cpu = {"baseline": CpuUse(), "whistle": CpuUse()}
    async with (
        worker_processes(stack, temporal, queues["baseline"], count=workers, baseline=True) as baseline_workers,
        worker_processes(stack, temporal, queues["whistle"], count=workers) as whistle_workers,
    ):
        pids = {"baseline": baseline_workers.pids, "whistle": whistle_workers.pids}
        for side in runs:
            await drive(side, options.warmup)
        for number in range(1, options.rounds + 1):
            for side in runs:
                with cpu_use(stack, pids[side]) as used:
                    runs[side].append(await drive(side, cases))
                cpu[side].add(used)
            whistle, baseline = runs["whistle"][-1], runs["baseline"][-1]
            say(f"round {number}", f"{whistle.per_second:.2f} cases/s vs baseline {baseline.per_second:.2f}: ratio "
                f"{whistle.per_second / baseline.per_second:.2f}")  # fmt: skip
        pooled = {side: lifecycle.Run.pooled(side_runs) for side, side_runs in runs.items()}
        paced = lifecycle.Paced(options.load_share * pooled["whistle"].per_second)
        at_load: dict[str, list[lifecycle.Run]] = {"baseline": [], "whistle": []}
        for _ in range(options.paced_rounds):
            for side in at_load:
                at_load[side].append(await drive(side, cases, paced))
    paced_pooled = {side: lifecycle.Run.pooled(side_runs) for side, side_runs in at_load.items()}
    found: dict[str, Any] = {
        **{f"{side}_per_s": run.per_second for side, run in pooled.items()},
        **{f"{side}_p{share}_ms": run.latency_ms(share / 100) for side, run in pooled.items() for share in (50, 99)},
        **{f"{side}_cpu_{name}_ms": ms
           for side, used in cpu.items() for name, ms in used.per_case_ms(pooled[side].cases).items()},
        "paced_per_s": paced.rate,
        "load_share": options.load_share,
        **{f"{side}_paced_p{share}_ms": run.latency_ms(share / 100)
           for side, run in paced_pooled.items() for share in (50, 99)},
        "rounds": [
            {"baseline_per_s": baseline.per_second, "whistle_per_s": whistle.per_second,
             "baseline_p99_ms": baseline.latency_ms(0.99), "whistle_p99_ms": whistle.latency_ms(0.99)}
            for baseline, whistle in zip(runs["baseline"], runs["whistle"], strict=True)
        ],
        "paced_rounds": [
            {"baseline_p99_ms": baseline.latency_ms(0.99), "whistle_p99_ms": whistle.latency_ms(0.99)}
            for baseline, whistle in zip(at_load["baseline"], at_load["whistle"], strict=True)
        ],
    }  # fmt: skip
    say("lifecycle throughput", f"{found['whistle_per_s']:.2f} cases/s vs baseline {found['baseline_per_s']:.2f} "
        f"cases/s: ratio {found['whistle_per_s'] / found['baseline_per_s']:.2f} ({options.rounds} rounds of {cases} "
        f"cases, {concurrency} in flight, {workers} worker processes per side)")  # fmt: skip
    say("report-in latency, saturated", f"p50 {found['whistle_p50_ms']:.0f} ms p99 {found['whistle_p99_ms']:.0f} ms vs "
        f"baseline p50 {found['baseline_p50_ms']:.0f} ms p99 {found['baseline_p99_ms']:.0f} ms: p99 ratio "
        f"{found['whistle_p99_ms'] / found['baseline_p99_ms']:.2f}")  # fmt: skip
    say("report-in latency at load", f"p50 {found['whistle_paced_p50_ms']:.0f} ms p99 "
        f"{found['whistle_paced_p99_ms']:.0f} ms vs baseline p50 {found['baseline_paced_p50_ms']:.0f} ms p99 "
        f"{found['baseline_paced_p99_ms']:.0f} ms: p99 ratio "
        f"{found['whistle_paced_p99_ms'] / found['baseline_paced_p99_ms']:.2f} (both sides {paced.rate:.2f} new "
        f"cases/s, {options.load_share:.0%} of Whistle's throughput; {options.paced_rounds} rounds of {cases} "
        "cases)")  # fmt: skip
    say("CPU per case", ", ".join(
        f"{name} {found[f'whistle_cpu_{name}_ms']:.0f} vs {found[f'baseline_cpu_{name}_ms']:.0f} ms"
        for name in CPU_GROUPS))  # fmt: skip
    return found


async def deadlines(
    client: WhistleClient, pool: Any, options: argparse.Namespace, concurrency: int, figures: dict[str, Any]
) -> None:
    late = await lifecycle.deadline_lateness(client, pool, options.deadline_cases, concurrency, options.window)
    found = figures["deadlines"] = {"cases": len(late), "window_s": options.window, **lifecycle.summary(late)}
    say("deadline lateness", f"p50 {found['p50'] * 1000:.0f} ms p99 {found['p99'] * 1000:.0f} ms max "
        f"{found['max'] * 1000:.0f} ms ({len(late)} escalations, {options.window} s report-in window)")  # fmt: skip


async def open_cases(
    client: WhistleClient, pool: Any, options: argparse.Namespace, concurrency: int, pid: int,
    figures: dict[str, Any],
) -> None:  # fmt: skip
    worker = psutil.Process(pid)
    idle = worker.memory_info().rss
    rest = await lifecycle.open_cases_at_rest(client, pool, options.open_cases, concurrency)
    await asyncio.sleep(2)
    loaded = worker.memory_info().rss
    figures["open_cases"] = {
        "cases": options.open_cases, "rss_idle_mib": idle / 2**20, "rss_mib": loaded / 2**20, **rest,
    }  # fmt: skip
    say(
        "open cases at rest",
        f"{options.open_cases} cases at report-in: worker RSS {loaded / 2**20:.0f} MiB "
        f"(idle {idle / 2**20:.0f} MiB); filed in {rest['filing']:.1f} s, whistled in {rest['whistling']:.1f} s",
    )


async def store_figures(pool: Any, options: argparse.Namespace, figures: dict[str, Any]) -> None:
    rates = figures["store"] = await store.append_rates(pool, options.store_cases, 8, uuid.uuid4().hex[:6])
    say("event store appends", f"{rates['activity']:.0f} events/s through the store activity's write vs "
        f"{rates['raw']:.0f} events/s raw inserts: ratio {rates['activity'] / rates['raw']:.2f}")  # fmt: skip
    rebuild = figures["rebuild"] = await store.rebuild_rate(pool)
    say("projection rebuild", f"{rebuild['events_per_s']:.0f} events/s, {rebuild['cases_per_s']:.0f} cases/s "
        f"({rebuild['events']} events of {rebuild['cases']} cases)")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", type=int, default=100, help="happy-path cases per side and round")
    parser.add_argument("--concurrency", type=int, default=16, help="cases in flight at once")
    parser.add_argument("--workers", type=int, default=1, help="worker processes per side")
    parser.add_argument("--rounds", type=int, default=6, help="baseline/Whistle alternations")
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--load-share", type=float, default=0.5,
                        help="latency at load: both sides get new cases at this share of Whistle's throughput")
    parser.add_argument("--paced-rounds", type=int, default=3, help="baseline/Whistle alternations at that load")
    parser.add_argument("--open-cases", type=int, default=2_000, help="10,000 is the target; see BENCHMARKS.md")
    parser.add_argument("--deadline-cases", type=int, default=50)
    parser.add_argument("--window", type=int, default=30, help="report-in window of the deadline cases, seconds")
    parser.add_argument("--store-cases", type=int, default=500)
    parser.add_argument("--label", default="latest", help="results/<label>.json; 'before' is kept for comparison")
    parser.add_argument("--no-report", action="store_true", help="do not rewrite BENCHMARKS.md")
    parser.add_argument(
        "--phases", default="lifecycle,history,deadlines,rest,store", help="a subset runs those (and skips the report)"
    )
    options = parser.parse_args()
    configure_logging(Settings().log_format, "WARNING")  # the store figure's own appends would log every batch
    started = time.perf_counter()
    with bench_stack() as stack:
        figures = asyncio.run(measure(stack, options))
    figures["wall_seconds"] = time.perf_counter() - started
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{options.label}.json").write_text(json.dumps(figures, indent=2, default=str) + "\n")
    if not options.no_report and options.phases == parser.get_default("phases"):
        report.write(ROOT / "BENCHMARKS.md", figures, RESULTS)
    say("wall time", f"{figures['wall_seconds']:.0f} s")


if __name__ == "__main__":
    main()
