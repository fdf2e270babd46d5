"""Driving cases through Temporal: the happy path against the baseline, history sizes, deadlines, rest."""

from __future__ import annotations

import asyncio
import random
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from temporalio.client import Client

from activities.personal_data import new_reference
from bench.baseline import BaselineWorkflow
from schemas.commands import PersonCommand, WithdrawComplaint
from schemas.intake import ComplaintIntake, ReporterReference
from schemas.policy import SlaPolicy
from tests.domain_fixtures import blow, complete, evaluate, make_intake, order, report_in, resident, verify
from tests.helpers import wait_until
from whistle.client import WhistleClient, workflow_id_for

LEAD, SECOND = "urban_management", "market_regulation"


def happy_path() -> list[PersonCommand]:
    """File, verify, whistle two departments, both report in, both complete, satisfied."""
    return [
        verify(), blow(LEAD, SECOND, lead=LEAD), report_in(LEAD), report_in(SECOND),
        complete(LEAD), complete(SECOND), evaluate("satisfied"),
    ]  # fmt: skip


def new_intake() -> ComplaintIntake:
    return make_intake(complaint_id=f"B-{uuid.uuid4().hex[:12]}", reported_at=datetime.now(UTC).isoformat())


def seconds_policy(**windows: str) -> SlaPolicy:
    """Long windows except those named, so only the clock under test runs out."""
    default = {
        "verify": "1h", "report_in": "1h", "handling": "1h", "evaluation": "1h",
        "first_secretary": "1h", "street_secretary": "1h", "max_reopens": 1, "warn_at": 0.8,
    }  # fmt: skip
    return SlaPolicy.model_validate({"default": {**default, **windows}})


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


PACING_SEED = 20261123


@dataclass(frozen=True)
class Paced:
    """New cases arrive at ``rate`` per second, however many are in flight."""

    rate: float


Load = int | Paced
"""How cases are driven: an int keeps that many in flight (a closed loop), ``Paced`` starts them on a clock."""


@dataclass
class Run:
    cases: int
    seconds: float
    latencies: list[float] = field(default_factory=list)

    @property
    def per_second(self) -> float:
        return self.cases / self.seconds

    def latency_ms(self, fraction: float) -> float:
        return 1000 * percentile(self.latencies, fraction)

    @staticmethod
    def pooled(runs: list[Run]) -> Run:
        """Several rounds as one: all their cases over all their seconds, all their latencies."""
        return Run(
            sum(run.cases for run in runs), sum(run.seconds for run in runs),
            [latency for run in runs for latency in run.latencies],
        )  # fmt: skip


async def _gather_limited(count: int, concurrency: int, one: Callable[[int], Awaitable[None]]) -> float:
    """Run ``one(i)`` for every i with at most ``concurrency`` at a time; return the wall time."""
    queue: asyncio.Queue[int] = asyncio.Queue()
    for number in range(count):
        queue.put_nowait(number)

    async def lane() -> None:
        while not queue.empty():
            await one(queue.get_nowait())

    started = time.perf_counter()
    await asyncio.gather(*(lane() for _ in range(min(concurrency, count))))
    return time.perf_counter() - started


async def _paced(count: int, rate: float, one: Callable[[int], Coroutine[Any, Any, None]]) -> float:
    """Start ``one(i)`` at Poisson arrivals of ``rate`` per second, whether or not earlier ones are done (an open
    loop: a slow answer does not slow the arrivals); return the wall time until all are done.

    The gaps come from a fixed seed, so both sides of a comparison get the same arrival times.
    """
    gaps = random.Random(PACING_SEED)
    started = time.perf_counter()
    due = 0.0
    running: list[asyncio.Task[None]] = []
    for number in range(count):
        await asyncio.sleep(max(0.0, started + due - time.perf_counter()))
        running.append(asyncio.create_task(one(number)))
        due += gaps.expovariate(rate)
    await asyncio.gather(*running)
    return time.perf_counter() - started


def _drive(count: int, load: Load, one: Callable[[int], Coroutine[Any, Any, None]]) -> Awaitable[float]:
    if isinstance(load, Paced):
        return _paced(count, load.rate, one)
    return _gather_limited(count, load, one)


async def whistle_happy_paths(client: WhistleClient, cases: int, load: Load) -> Run:
    """Cases through the happy path, each until its workflow completed (every event stored)."""
    run = Run(cases, 0.0)

    async def one(_: int) -> None:
        filed = await client.submit(new_intake())
        for command in happy_path():
            started = time.perf_counter()
            await client.execute(filed.complaint_id, command)
            if command.type == "report_in":
                run.latencies.append(time.perf_counter() - started)
        await client.temporal.get_workflow_handle(workflow_id_for(filed.complaint_id)).result()

    run.seconds = await _drive(cases, load, one)
    return run


async def baseline_paths(client: WhistleClient, task_queue: str, cases: int, load: Load) -> Run:
    """The same traffic to the bare workflow: the same input, the same Update payloads, nothing else."""
    run = Run(cases, 0.0)
    temporal = client.temporal

    async def one(_: int) -> None:
        case = client.build_case(new_intake(), datetime.now(UTC), ReporterReference(reference=new_reference()))
        handle = await temporal.start_workflow(
            BaselineWorkflow.run, case, id=f"baseline-{uuid.uuid4().hex}", task_queue=task_queue
        )
        for command in happy_path():
            started = time.perf_counter()
            await handle.execute_update(BaselineWorkflow.command, command)
            if command.type == "report_in":
                run.latencies.append(time.perf_counter() - started)
        await handle.result()

    run.seconds = await _drive(cases, load, one)
    return run


async def history_of(temporal: Client, workflow_id: str) -> tuple[int, int]:
    """Events and bytes of a workflow's Temporal history."""
    count = size = 0
    async for event in temporal.get_workflow_handle(workflow_id).fetch_history_events():
        count += 1
        size += event.ByteSize()
    return count, size


async def history_sizes(client: WhistleClient) -> dict[str, tuple[int, int]]:
    """Temporal history events (and bytes) of one closed case per lifecycle path."""
    missing = client.with_policy(seconds_policy(report_in="2s"))

    async def drive(using: WhistleClient, commands: list[Any], wait_for_escalation: bool = False) -> str:
        filed = await using.submit(new_intake())
        for number, command in enumerate(commands):
            if wait_for_escalation and number == 2:

                async def escalated(complaint_id: str = filed.complaint_id) -> bool:
                    return (await using.status(complaint_id)).escalation_level > 0

                await wait_until(escalated, within=60)
            await using.execute(filed.complaint_id, command)
        await using.temporal.get_workflow_handle(workflow_id_for(filed.complaint_id)).result()
        return workflow_id_for(filed.complaint_id)

    paths: dict[str, Awaitable[str]] = {
        "resolved in grid": drive(client, [verify(resolved=True), evaluate("satisfied")]),
        "happy path": drive(client, happy_path()),
        "reopened": drive(
            client,
            [
                verify(),
                blow(LEAD),
                report_in(LEAD),
                complete(LEAD),
                evaluate("unsatisfied"),
                complete(LEAD),
                evaluate("satisfied"),
            ],
        ),
        "report-in missed + order": drive(
            missing,
            [verify(), blow(LEAD), order(LEAD), report_in(LEAD), complete(LEAD), evaluate("satisfied")],
            wait_for_escalation=True,
        ),
        "withdrawn": drive(client, [verify(), blow(LEAD), WithdrawComplaint(actor=resident(), reason="已自行解决")]),
    }
    ids = dict(zip(paths, await asyncio.gather(*paths.values()), strict=True))
    return {name: await history_of(client.temporal, workflow_id) for name, workflow_id in ids.items()}


async def deadline_lateness(client: WhistleClient, pool: Any, cases: int, concurrency: int, window: int) -> list[float]:
    """Seconds between each missed report-in's due time and its escalation reaching the store (``recorded_at``).

    Not the event's ``at``: a clock's events carry its due time (``ComplaintWorkflow._fire_due_clocks``), so that
    would read 0.
    The store's write time adds what supervisors wait for besides the timer: the workflow task and the store
    activity.

    The window is long enough that every case is whistled before the first one runs out, so the figure is
    the timers' accuracy with ``cases`` escalations due within a few seconds, not the filing backlog."""
    timed = client.with_policy(seconds_policy(report_in=f"{window}s"))
    ids: list[str] = []

    async def one(_: int) -> None:
        filed = await timed.submit(new_intake())
        await timed.execute(filed.complaint_id, verify())
        await timed.execute(filed.complaint_id, blow(LEAD))
        ids.append(filed.complaint_id)

    await _gather_limited(cases, concurrency, one)
    query = """
        select e.recorded_at - (o.payload->>'due')::timestamptz as late
        from events o join events e on e.complaint_id = o.complaint_id and e.type = 'EscalatedToFirstSecretary'
        where o.type = 'ReportInOverdue' and o.complaint_id = any($1::text[])
    """
    deadline = time.monotonic() + 120
    while True:
        rows = await pool.fetch(query, ids)
        if len(rows) >= len(ids) or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.5)
    for complaint_id in ids:  # they would wait an hour for the first secretary: end them now
        await client.temporal.get_workflow_handle(workflow_id_for(complaint_id)).terminate("benchmark done")
    if len(rows) < len(ids):
        raise RuntimeError(f"only {len(rows)} of {len(ids)} escalations fired within two minutes")
    return [row["late"].total_seconds() for row in rows]


async def open_cases_at_rest(client: WhistleClient, pool: Any, cases: int, concurrency: int) -> dict[str, float]:
    """File ``cases`` and bring each to report-in (whistled); time both and wait until all are stored."""
    ids: list[str] = []

    async def file(_: int) -> None:
        ids.append((await client.submit(new_intake())).complaint_id)

    filing = await _gather_limited(cases, concurrency, file)

    async def whistle(number: int) -> None:
        await client.execute(ids[number], verify())
        await client.execute(ids[number], blow(LEAD, SECOND, lead=LEAD))

    whistling = await _gather_limited(cases, concurrency, whistle)
    started = time.perf_counter()

    async def all_stored() -> bool:
        stored: int = await pool.fetchval(
            "select count(*) from complaints where stage = 'whistled' and complaint_id = any($1::text[])", ids
        )
        return stored == cases

    await wait_until(all_stored, within=600)
    return {"filing": filing, "whistling": whistling, "store_lag": time.perf_counter() - started}


def summary(values: list[float]) -> dict[str, float]:
    return {
        "p50": percentile(values, 0.5), "p99": percentile(values, 0.99), "max": max(values),
        "mean": statistics.fmean(values),
    }  # fmt: skip
