"""``make bench-scale``: 100,000 open cases at rest against one worker process, and what a case the worker has
forgotten costs its next caller.

Starts its own embedded stack (temporary home, free ports) and one worker process (``worker.py``, its workflow cache
at the SDK's default size, with its Prometheus endpoint on), then files ``--cases`` cases through
``WhistleClient.submit``, ``--concurrency`` at a time, and leaves them open: filed, each holding its verify clock and
that clock's warning timer. The verify window is ``--verify-window`` (24 h by default, the policy's 2 h otherwise) so
that no clock runs out while the run lasts: a wave of warnings in the middle would be a deadline storm, measured
elsewhere. Whistling each case too would hold a report-in clock instead, at three times the filing's cost per case
(two more commands, each with its store activity): at this machine's rate that is hours for 100,000.

Measured: the filing rate per slice of ``--slice`` cases (does it fall as the count grows?), the worker's RSS
sampled throughout beside the Temporal server's and PostgreSQL's, how long the read model took to hold every case
after the last filing, and then the first command (verify) to ``--evicted`` cases filed long ago, which the worker's
cache cannot still hold (``bench/eviction.py``), beside the same command to ``--cached`` of the newest cases, sent
interleaved at a steady ``--rate``: the ratio of the two is the figure to trust on a shared machine. Writes
``bench/results/<label>.json`` and its section of ``BENCHMARKS.md``.
"""

from __future__ import annotations

import argparse
import asyncio
import inspect
import json
import os
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from temporalio.worker import Worker

from activities.event_store import Pool
from activities.files import load_directory, load_policy
from activities.log import configure_logging
from bench import eviction
from bench.document import write_section
from bench.filing import Backlog, Filed, file_cases, filing_slices, id_prefix
from bench.footprint import Footprint, Meter, sampling
from bench.lifecycle import percentile
from bench.run import machine
from bench.scale_report import HEADING, section
from bench.stack import ROOT, BenchStack, bench_stack, connect, free_port, worker_processes
from schemas.common import Duration
from schemas.policy import SlaPolicy
from tests.domain_fixtures import verify
from tests.helpers import wait_until
from whistle.client import WhistleClient
from whistle.settings import DATA_DIR, Settings
from worker import WORKER_TUNING

RESULTS = ROOT / "bench" / "results"
CACHE_MARGIN = 100
"""Cache entries kept spare in the sample plan: the nightly schedules' workflows, filings that finished out of order."""


def cache_size() -> int:
    """The worker's ``max_cached_workflows``: ``WORKER_TUNING``'s if it sets one, else the SDK's default."""
    default = inspect.signature(Worker.__init__).parameters["max_cached_workflows"].default
    return int(WORKER_TUNING.get("max_cached_workflows", default))


def say(text: str) -> None:
    print(f"{datetime.now(UTC):%H:%M:%S} {text}", flush=True)


def _or_dash(value: float | None) -> str:
    return "–" if value is None else f"{value:,.0f}"


def scale_policy(verify_window: str) -> SlaPolicy:
    policy = load_policy(DATA_DIR / "policy.yaml")
    window = Duration.model_validate(verify_window)
    return policy.model_copy(update={"default": policy.default.model_copy(update={"verify": window})})


@dataclass
class Sampled:
    """The first-command sample's latencies and the worker's cache counters over each kind's blocks."""

    latencies: dict[str, list[float]] = field(default_factory=lambda: {"evicted": [], "cached": []})
    cache: dict[str, dict[str, float]] = field(default_factory=lambda: {"evicted": {}, "cached": {}})


async def first_commands(
    client: WhistleClient, touched: list[str], plan: list[list[eviction.Planned]], rate: float, port: int
) -> Sampled:
    """Send each planned case its first command (verify), block after block at ``rate`` a second, each on its own task
    (within a block an open loop: a slow answer does not hold back the next one). A block ends when its answers and
    its store activities are in; the cache counters read around it are put to its kind."""
    sampled = Sampled()
    for block in plan:
        kind = block[0].kind
        before = await scrape(port)
        started = time.perf_counter()

        async def one(planned: eviction.Planned) -> None:
            sent = time.perf_counter()
            await client.execute(touched[planned.case], verify())
            sampled.latencies[planned.kind].append(time.perf_counter() - sent)

        tasks = []
        for number, planned in enumerate(block):
            await asyncio.sleep(max(0.0, started + number / rate - time.perf_counter()))
            tasks.append(asyncio.create_task(one(planned)))
        await asyncio.gather(*tasks)
        await asyncio.sleep(1.0)  # the verify's store activity completes and wakes the case once more
        after = await scrape(port)
        for key in ("hits", "misses", "forced_evictions"):
            sampled.cache[kind][key] = sampled.cache[kind].get(key, 0.0) + after[key] - before[key]
        sampled.cache[kind]["size"] = after["size"]
    return sampled


async def touch_order(pool: Pool, prefix: str) -> list[str]:
    """The run's cases in the order the worker last touched them: their latest event's store time (``recorded_at``),
    the longest ago first."""
    rows = await pool.fetch(
        "select complaint_id from events where complaint_id like $1 group by complaint_id order by max(recorded_at)",
        f"{id_prefix(prefix)}%",
    )
    return [row["complaint_id"] for row in rows]


async def scrape(port: int) -> dict[str, float]:
    async with httpx.AsyncClient() as http:
        page = await http.get(f"http://127.0.0.1:{port}/metrics", timeout=10)
    page.raise_for_status()
    return eviction.cache_counters(page.text)


def latency_summary(seconds: list[float]) -> dict[str, float]:
    return {
        "n": len(seconds), "p50_ms": 1000 * percentile(seconds, 0.5), "p99_ms": 1000 * percentile(seconds, 0.99),
        "max_ms": 1000 * max(seconds),
    }  # fmt: skip


def memory(reading: tuple[float, float, float]) -> dict[str, float]:
    return dict(zip(("worker_mib", "server_mib", "postgres_mib"), reading, strict=True))


async def measure(stack: BenchStack, options: argparse.Namespace) -> dict[str, Any]:
    figures: dict[str, Any] = {"machine": machine(), "options": vars(options), "cache_size": cache_size()}
    temporal, pool = await connect(stack)
    figures["machine"]["postgres"] = await pool.fetchval("show server_version")
    queue, prefix, port = f"scale-{uuid.uuid4().hex[:8]}", uuid.uuid4().hex[:6], free_port()
    client = WhistleClient(
        temporal, task_queue=queue, directory=load_directory(DATA_DIR / "org.yaml"),
        policy=scale_policy(options.verify_window), pool=pool,
    )  # fmt: skip
    filed: list[Filed] = []
    stored = complaints_count(pool)
    try:
        async with worker_processes(stack, temporal, queue, extra_env={"WHISTLE_METRICS_PORT": str(port)}) as workers:
            meter = Meter(stack, workers.pids[0])
            figures["idle"] = memory(await asyncio.to_thread(meter.read))
            async with sampling(meter, options.every, lambda: len(filed), stored) as footprint:
                await file_and_sample(options, client, pool, prefix, port, meter, footprint, filed, figures)
    finally:
        await pool.close()
    figures["filing"]["slices"] = filing_slices(
        filed, options.slice, footprint.samples, figures["filing"]["started"] - footprint.started
    )
    figures["peak"] = {name: footprint.peak(f"{name}_mib") for name in ("worker", "server", "postgres")}
    figures["samples"] = footprint.as_json()
    figures["worker_log"] = worker_log_counts(stack.home / f"worker-{queue}-0.log")
    figures["machine"]["load_at_end"] = os.getloadavg()
    return figures


def worker_log_counts(path: Path) -> dict[str, int]:
    """Errors in the worker's log, and how many were the SDK's deadlock guard (an activation that held the thread
    over 2 s: on an overloaded machine, a workflow task that fails and runs again)."""
    counts = {"errors": 0, "deadlock_detected": 0}
    with open(path, errors="replace") as log:
        for line in log:
            if '"level": "error"' in line:
                counts["errors"] += 1
                counts["deadlock_detected"] += "Potential deadlock detected" in line
    return counts


def complaints_count(pool: Pool) -> Callable[[], Awaitable[int]]:
    """How many cases the read model holds (the run's stack holds nothing else)."""

    async def stored() -> int:
        count: int = await pool.fetchval("select count(*) from complaints")
        return count

    return stored


async def file_and_sample(
    options: argparse.Namespace, client: WhistleClient, pool: Pool, prefix: str, port: int, meter: Meter,
    footprint: Footprint, filed: list[Filed], figures: dict[str, Any],
) -> None:  # fmt: skip
    """Filing, the read model's catch-up, a rest, the first-command sample; memory and cache counters between them."""
    stored = complaints_count(pool)
    say(f"filing {options.cases:,} cases, {options.concurrency} in flight, at most {options.backlog} not yet stored")
    partial = RESULTS / f"{options.label}.partial.json"

    def on_slice() -> None:
        """A line in the log, and the slices so far on disk: a run stopped before its end still leaves its trend."""
        rows = filing_slices(filed, options.slice, footprint.samples, started - footprint.started)
        last = rows[-1]
        say(f"filed {last['last']:,}: {last['per_s']:.1f}/s in this slice; worker RSS {meter.worker_mib():.0f} MiB, "
            f"peak in slice {_or_dash(last['worker_mib_max'])} MiB; {_or_dash(last['stored_at_end'])} stored")
        partial.write_text(json.dumps({"options": vars(options), "slices": rows, "samples": footprint.as_json()},
                                      indent=1, default=str) + "\n")  # fmt: skip

    backlog = Backlog(stored, options.backlog)
    started = time.perf_counter()
    seconds = await file_cases(
        client, prefix, options.cases, options.concurrency, backlog, filed, on_slice, options.slice, started
    )
    figures["filing"] = {
        "seconds": seconds, "per_s": options.cases / seconds, "at_end": memory(meter.read()), "started": started,
    }  # fmt: skip
    say(f"filed in {seconds:.0f} s ({options.cases / seconds:.1f}/s); waiting for the read model")
    caught_up_from = time.perf_counter()

    async def all_stored() -> bool:
        return bool(await stored() >= options.cases)

    await wait_until(all_stored, within=options.catch_up_limit)
    figures["read_model_catch_up_s"] = time.perf_counter() - caught_up_from
    figures["cache_after_filing"] = await scrape(port)
    say(f"read model caught up {figures['read_model_catch_up_s']:.1f} s after the last filing; "
        f"cache {figures['cache_after_filing']}; resting {options.settle:.0f} s")  # fmt: skip
    await asyncio.sleep(options.settle)
    figures["at_rest"] = memory(await asyncio.to_thread(meter.read))
    touched = await touch_order(pool, prefix)
    plan = eviction.sample_plan(len(touched), cache_size(), options.evicted, options.cached, CACHE_MARGIN,
                                options.blocks)  # fmt: skip
    say(f"at rest: {figures['at_rest']}; first commands in {len(plan)} blocks at {options.rate}/s")
    sampled = await first_commands(client, touched, plan, options.rate, port)
    figures["after_sample"] = memory(await asyncio.to_thread(meter.read))
    figures["first_command"] = {
        kind: latency_summary(values) | {"cache": sampled.cache[kind]} for kind, values in sampled.latencies.items()
    } | {"rate_per_s": options.rate, "blocks": len(plan)}  # fmt: skip
    say(f"first command: {figures['first_command']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--cases", type=int, default=100_000, help="open cases to file")
    parser.add_argument("--concurrency", type=int, default=16, help="filings in flight at once")
    parser.add_argument("--backlog", type=int, default=500,
                        help="hold filings while this many filed cases are not yet stored (0: never)")
    parser.add_argument("--slice", type=int, default=10_000, help="filing rate and memory reported per this many")
    parser.add_argument("--verify-window", default="24h", help="each case's verify window (its running clock)")
    parser.add_argument("--evicted", type=int, default=500, help="first commands to cases filed long ago")
    parser.add_argument("--cached", type=int, default=300, help="first commands to the newest cases (the baseline)")
    parser.add_argument("--rate", type=float, default=4.0, help="first commands per second within a block")
    parser.add_argument("--blocks", type=int, default=20, help="alternating blocks of each kind in the sample")
    parser.add_argument("--settle", type=float, default=30.0, help="seconds at rest before the sample")
    parser.add_argument("--every", type=float, default=5.0, help="seconds between memory readings")
    parser.add_argument("--catch-up-limit", type=float, default=3600.0, help="seconds the read model may take")
    parser.add_argument("--label", default="scale", help="bench/results/<label>.json")
    parser.add_argument("--no-write", action="store_true", help="print the section, write no BENCHMARKS.md")
    options = parser.parse_args()
    eviction.sample_plan(options.cases, cache_size(), options.evicted, options.cached, CACHE_MARGIN, 1)  # fail early
    configure_logging(Settings().log_format, "WARNING")
    started = time.perf_counter()
    with bench_stack() as stack:
        figures = asyncio.run(measure(stack, options))
    figures["wall_seconds"] = time.perf_counter() - started
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{options.label}.json").write_text(json.dumps(figures, indent=2, default=str) + "\n")
    (RESULTS / f"{options.label}.partial.json").unlink(missing_ok=True)  # the whole run's figures supersede it
    text = section(figures)
    print(text)
    if not options.no_write:
        write_section(ROOT / "BENCHMARKS.md", HEADING, text)


if __name__ == "__main__":
    main()
