"""What each search attribute costs when a workflow upserts it, measured against a step that upserts nothing.

Issue 19 narrowed what ``ComplaintWorkflow`` upserts to what operators filter on in the Temporal UI and what
moves (stage, escalation level, departments, the flag, a changed category). This bench says what each key
costs: a probe workflow answers Updates, each upserting one key (or every key, as cases did before, or none),
and the same traffic is measured per variant on the same servers, alternating rounds. The cost of a key is its
variant's Temporal server CPU, Update latency and history bytes per step minus the no-upsert variant's.

``make bench-search-attributes`` (a few minutes, its own stack) writes its section of BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import time
import uuid
from datetime import datetime
from typing import Any

from temporalio.client import Client
from temporalio.worker import Worker

from bench.attribute_probe import VARIANTS, AttributeProbe
from bench.cpu import cpu_use
from bench.document import write_section
from bench.lifecycle import history_of, percentile
from bench.stack import ROOT, bench_stack

RESULTS = ROOT / "bench" / "results"
HEADING = "## What each search attribute costs"
TABLE_HEAD = (
    "| upserted per step | Update p50 / p99 (ms) | server CPU ms per step (vs none) | worker + driver CPU ms "
    "| history bytes per step (vs none) | p99 / none |\n| --- | --- | --- | --- | --- | --- |"
)

async def measure_variant(
    client: Client, stack: Any, task_queue: str, variant: str, cases: int, steps: int
) -> dict[str, float]:
    """``cases`` probes, ``steps`` Updates each (all probes at once, one step at a time each); CPU over the steps."""
    handles = [
        await client.start_workflow(AttributeProbe.run, id=f"probe-{uuid.uuid4().hex[:10]}", task_queue=task_queue)
        for _ in range(cases)
    ]
    latencies: list[float] = []

    async def drive(handle: Any) -> None:
        for _ in range(steps):
            started = time.perf_counter()
            await handle.execute_update(AttributeProbe.step, variant)
            latencies.append(time.perf_counter() - started)

    with cpu_use(stack, []) as used:
        await asyncio.gather(*(drive(handle) for handle in handles))
    size = 0
    for handle in handles:
        await handle.signal(AttributeProbe.finish)
        await handle.result()
        size += (await history_of(client, handle.id))[1]
    count = cases * steps
    return {
        "steps": count,
        "p50_ms": 1000 * percentile(latencies, 0.5),
        "p99_ms": 1000 * percentile(latencies, 0.99),
        "server_cpu_ms": 1000 * used.seconds["server"] / count,
        "driver_cpu_ms": 1000 * used.seconds["driver"] / count,
        "history_bytes": size / count,
    }


async def measure(stack: Any, options: argparse.Namespace) -> dict[str, Any]:
    from whistle.connection import connect_temporal
    from worker import WORKER_TUNING

    client = await connect_temporal(stack.info.temporal_address, stack.info.namespace)
    task_queue = f"probe-{uuid.uuid4().hex[:8]}"
    rounds: dict[str, list[dict[str, float]]] = {variant: [] for variant in VARIANTS}
    async with Worker(client, task_queue=task_queue, workflows=[AttributeProbe], **WORKER_TUNING):
        await measure_variant(client, stack, task_queue, "none", options.cases, 2)  # warm the worker and server
        for number in range(options.rounds):
            for variant in VARIANTS:
                rounds[variant].append(
                    await measure_variant(client, stack, task_queue, variant, options.cases, options.steps)
                )
            print(f"round {number + 1} of {options.rounds} done", flush=True)
    pooled = {
        variant: {name: statistics.median(run[name] for run in runs) for name in runs[0]}
        for variant, runs in rounds.items()
    }
    when = datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    return {
        "date": when, "load_average": os.getloadavg()[0], "rounds": options.rounds, "cases": options.cases,
        "steps": options.steps, "variants": pooled,
    }  # fmt: skip


def section(found: dict[str, Any]) -> str:
    none = found["variants"]["none"]
    rows = []
    for variant, figures in found["variants"].items():
        extra_cpu = figures["server_cpu_ms"] - none["server_cpu_ms"]
        extra_bytes = figures["history_bytes"] - none["history_bytes"]
        rows.append(
            f"| {variant} | {figures['p50_ms']:.1f} / {figures['p99_ms']:.1f} | {figures['server_cpu_ms']:.2f} "
            f"({extra_cpu:+.2f}) | {figures['driver_cpu_ms']:.2f} | {figures['history_bytes']:.0f} "
            f"({extra_bytes:+.0f}) | {figures['p99_ms'] / none['p99_ms']:.2f}× |"
        )
    table = "\n".join(rows)
    return f"""{HEADING}

Written by `make bench-search-attributes` (`bench/search_attributes.py`), {found['date']}: a probe workflow
answers Updates, each upserting one key (or none, or every field as cases did before the narrowing);
{found['cases']} probes × {found['steps']} steps per variant and round, {found['rounds']} alternating rounds,
medians of the rounds; load average {found['load_average']:.2f}. Server CPU is the Temporal dev server's (SQLite
visibility); the worker runs in the driver's process. Read the CPU and the bytes: the probes run all at once, so
the latencies are queueing on a shared machine more than the upsert. What an upsert costs is mostly that it is
one: a visibility write of the execution's row, whatever it carries (one key or seven differ by about 2 ms).

{TABLE_HEAD}
{table}

What a case upserts now (`ComplaintWorkflow._upsert_search_attributes`, patch `narrow-search-attributes`): the
start sets stage, escalation level 0, community, grid and category; the workflow upserts, in the task that moves
them and only the keys that moved, **stage** and **escalation level** (what an operator filters on), the
**departments** summoned (the SDK's access check reads them with `describe`, so a department summoned a moment ago
is let in), the **flag** once a supervisor sets it and the **category** when a case is re-categorised. The next
deadline is no longer kept: the overdue list is the read model's `watched_deadline`. On the happy path that is
four upserts carrying one or two keys each, instead of five carrying all seven."""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", type=int, default=20, help="probe workflows per variant and round")
    parser.add_argument("--steps", type=int, default=15, help="Updates per probe")
    parser.add_argument("--rounds", type=int, default=3, help="alternations over every variant")
    parser.add_argument("--no-report", action="store_true", help="do not rewrite BENCHMARKS.md")
    options = parser.parse_args()
    with bench_stack() as stack:
        found = asyncio.run(measure(stack, options))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "search_attributes.json").write_text(json.dumps(found, indent=2) + "\n")
    if not options.no_report:
        write_section(ROOT / "BENCHMARKS.md", HEADING, section(found))
    print(section(found))


if __name__ == "__main__":
    main()
