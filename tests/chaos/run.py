"""The fault suite: drive many cases through every lifecycle path while the worker, Temporal and PostgreSQL fail.

The servers are real and owned by the run: a Temporal dev server on a SQLite file (restarted on the same
file), a PostgreSQL in a temporary directory (stopped for an outage and started again), and the worker as a
separate process (killed with SIGKILL and started again, as a supervisor would), and a webhook receiver that
goes silent for a stretch. All through the run a sampler checks that the store holds nothing the history
does not (``tests/chaos/sampling.py``); the outage is measured on held cases (``tests/chaos/outage.py``).
Afterwards every case must have reached its path's end, the event store must hold exactly the events the
Temporal history recorded (in order, no gap, no duplicate), and every read-model row must equal the fold of
the case's stored events.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Callable
from functools import partial
from pathlib import Path

from temporalio.client import Client, WorkflowFailureError
from temporalio.runtime import LoggingConfig, Runtime, TelemetryConfig, TelemetryFilter

from activities.event_store import Pool, create_pool, load_case, load_events
from activities.files import load_directory
from schemas.fold import fold
from schemas.view import view_of
from tests.chaos.faults import Stage, inflict_faults
from tests.chaos.fleet import Fleet
from tests.chaos.measures import Timeline
from tests.chaos.outage import OutageHold, history_length
from tests.chaos.report import FaultPlan, FaultReport
from tests.chaos.sampling import StoreSampler
from tests.chaos.scenarios import ESCALATING, LAPSING, PATHS, PRODUCTION, Crew, Driver
from tests.chaos.servers import DevServer, WorkerProcess
from tests.chaos.webhook import Webhook
from tests.pg import TestDatabase, fresh_database
from whistle.client import WhistleClient
from whistle.codec import EncryptionCodec, new_key_entry, parse_keys
from whistle.connection import data_converter
from whistle.settings import DATA_DIR

__all__ = ["FaultPlan", "FaultReport", "run_fault_suite"]

PROGRESS_EVERY = 30.0
"""Seconds between progress lines: a full run takes half an hour and should not look hung."""


def _to_stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


@contextlib.asynccontextmanager
async def _temporary_directory() -> AsyncIterator[Path]:
    directory = Path(tempfile.mkdtemp(prefix="whistle-faults-"))
    try:
        yield directory
    finally:
        if not os.environ.get("WHISTLE_KEEP_FAULT_DIR"):
            shutil.rmtree(directory, ignore_errors=True)


async def run_fault_suite(plan: FaultPlan, say: Callable[[str], None] | None = _to_stderr) -> FaultReport:
    """Run ``plan`` end to end on servers of its own, telling ``say`` how it goes (None: quietly). What it finds
    goes in the report; it raises only when it cannot run (a server that does not start)."""
    seed = plan.seed if plan.seed is not None else random.randrange(1 << 30)
    report = FaultReport(plan, seed)
    rng = random.Random(seed)
    started = time.monotonic()
    keys = new_key_entry("chaos")
    webhook = Webhook()
    await webhook.start()
    async with _temporary_directory() as directory, fresh_database() as database:
        if os.environ.get("WHISTLE_KEEP_FAULT_DIR"):
            (directory / "codec.keys").write_text(keys)  # to read the kept histories afterwards
        temporal = DevServer(directory)
        await temporal.start()
        worker = WorkerProcess(
            {
                "TEMPORAL_ADDRESS": temporal.address,
                "TEMPORAL_NAMESPACE": "default",
                "DATABASE_URL": database.url,
                "WHISTLE_TASK_QUEUE": f"chaos-{uuid.uuid4().hex[:8]}",
                "WHISTLE_CODEC_KEYS": keys,
                "WHISTLE_HOME": str(directory / "home"),
                "WHISTLE_WEBHOOK_URL": webhook.url,
                "WHISTLE_LOG_FORMAT": "json",
                "WHISTLE_LOG_LEVEL": "WARNING",
            },
            directory / "worker.log",
        )
        worker.start()
        try:
            await _drive_under_faults(
                plan, report, rng, temporal, worker, database, webhook, EncryptionCodec(parse_keys(keys)),
                say or (lambda _line: None),
            )  # fmt: skip
        finally:
            worker.stop()
            temporal.stop()
            await webhook.stop()
        if report.problems:
            report.problems.append(f"worker log tail: {_tail(directory / 'worker.log')}")
    report.webhook_unanswered = webhook.unanswered
    report.seconds = time.monotonic() - started
    return report


def _tail(path: Path, lines: int = 3) -> str:
    with contextlib.suppress(OSError):
        return " / ".join(path.read_text(errors="replace").strip().splitlines()[-lines:])
    return ""


async def _drive_under_faults(
    plan: FaultPlan,
    report: FaultReport,
    rng: random.Random,
    temporal: DevServer,
    worker: WorkerProcess,
    database: TestDatabase,
    webhook: Webhook,
    codec: EncryptionCodec,
    say: Callable[[str], None],
) -> None:
    # The SDK's own retry warnings would bury the summary line; its errors still show.
    quiet = Runtime(telemetry=TelemetryConfig(logging=LoggingConfig(filter=TelemetryFilter("ERROR", "ERROR"))))
    client = await Client.connect(temporal.address, data_converter=data_converter(codec), runtime=quiet)
    directory = load_directory(DATA_DIR / "org.yaml")
    task_queue = worker.env["WHISTLE_TASK_QUEUE"]
    # Filing (and a resident acting in person) goes through PostgreSQL: the registry and the claim check. Each
    # client opens its pool on first use, which asyncpg reconnects after the outage.
    clients = {
        name: WhistleClient(
            client, task_queue=task_queue, directory=directory, policy=policy, database_url=database.url
        )
        for name, policy in (("production", PRODUCTION), ("lapsing", LAPSING), ("escalating", ESCALATING))
    }
    loop = asyncio.get_running_loop()
    began = loop.time()

    def clock() -> float:
        return loop.time() - began

    outage = plan.postgres_outage > 0 and database.pgdata is not None
    crew = Crew(Fleet(), OutageHold(resting=plan.resting, enabled=outage), Timeline(), clock)
    driver = Driver(clients["production"], report.tally, plan.pause, rng, crew, patience=plan.postgres_outage + 600)

    async def one_case(number: int) -> tuple[int, str]:
        await asyncio.sleep(plan.spread * number / max(plan.cases, 1))
        path = PATHS[number % len(PATHS)]
        complaint_id = await path.drive(driver, clients)
        view = await driver.finished(complaint_id)
        crew.fleet.closed(complaint_id)
        if view.outcome != path.outcome:
            report.problems.append(f"{complaint_id} ({path.name}) closed {view.outcome}, not {path.outcome}")
        return number, complaint_id

    sampler = StoreSampler(database.url, driver.client, crew.fleet, rng, plan.sample_size, clock)
    stage = Stage(temporal, worker, database, webhook, driver.client, crew.fleet, crew.hold, sampler, crew.timeline,
                  clock, say)  # fmt: skip
    cases = [asyncio.create_task(one_case(number)) for number in range(plan.cases)]
    watchers = [
        asyncio.create_task(_supervise(worker, report)),
        asyncio.create_task(sampler.run(plan.sample_every)),
        asyncio.create_task(_tell_progress(plan, report, stage)),
    ]
    await sampler.open()
    try:
        try:
            await inflict_faults(plan, report, rng, stage)
            say(f"[{clock():5.0f}s] every fault done; waiting for the cases to close")
            finished = await asyncio.gather(*cases, return_exceptions=True)
        finally:
            for task in watchers + cases:
                task.cancel()
        await sampler.round("at the end")
        _take_samples(report, sampler, plan, crew.timeline)
        done: dict[int, str] = {}
        for outcome in finished:
            if isinstance(outcome, BaseException):
                cause = f" caused by {outcome.cause!r}" if isinstance(outcome, WorkflowFailureError) else ""
                report.problems.append(f"a driver failed: {outcome!r}{cause}")
            else:
                done[outcome[0]] = outcome[1]
    finally:
        await sampler.close()
        for filing in clients.values():
            await filing.close()
    pool = await create_pool(database.url)
    try:
        await _check_every_case(report, driver, pool, done)
    finally:
        await pool.close()


def _take_samples(report: FaultReport, sampler: StoreSampler, plan: FaultPlan, timeline: Timeline) -> None:
    report.samples = sampler.samples
    report.samples_during_outage = sampler.during_outage
    report.unreadable_samples = sampler.unreadable
    report.leads = sampler.violations
    report.outage_latency = timeline.latency_during("postgres-outage")
    report.outage_database_latency = timeline.latency_during("postgres-outage", through_database=True)
    report.silence_latency = timeline.latency_during("webhook-silence")
    report.calm_latency = timeline.latency_calm(plan.settle)


async def _tell_progress(plan: FaultPlan, report: FaultReport, stage: Stage) -> None:
    while True:
        await asyncio.sleep(PROGRESS_EVERY)  # a pace for the log, not a wait for an event
        fleet = stage.fleet
        stage.say(
            f"[{stage.clock():5.0f}s] filed {len(fleet)}/{plan.cases}, open {len(fleet.open())}, "
            f"faults {len(report.faults)}, {report.tally.commands} commands, samples {stage.sampler.samples} "
            f"({len(stage.sampler.violations)} with the store ahead), webhook held {stage.webhook.unanswered}"
        )


async def _supervise(worker: WorkerProcess, report: FaultReport) -> None:
    """Restart a worker that exits on its own (as systemd or Kubernetes would), and count it."""
    while True:
        await asyncio.sleep(1.0)
        if not worker.running() and not worker.down_on_purpose:
            code = worker.process.returncode if worker.process else None
            report.unexpected_worker_exits.append(f"exit {code}: {_tail(worker.log_file, 1)}")
            worker.start()


async def _check_every_case(report: FaultReport, driver: Driver, pool: Pool, done: dict[int, str]) -> None:
    expected_total = 0
    lengths: dict[str, int] = {}
    for number, complaint_id in sorted(done.items()):
        path = PATHS[number % len(PATHS)]
        stored = await load_events(pool, complaint_id)
        history = await driver.patiently(partial(driver.client.events, complaint_id))
        lengths[complaint_id] = await driver.patiently(partial(history_length, driver.client, complaint_id))
        types = tuple(recorded.event.type for recorded in stored)
        seqs = [recorded.seq for recorded in stored]
        expected_total += len(path.events)
        if seqs != list(range(1, len(stored) + 1)):
            report.problems.append(f"{complaint_id}: stored seqs {seqs} have a gap or a repeat")
        elif stored != history:
            report.problems.append(f"{complaint_id}: store and history differ ({len(stored)} vs {len(history)} events)")
        elif types != path.events:
            report.problems.append(f"{complaint_id} ({path.name}): events {types}")
        else:
            report.events_stored += len(stored)
            read_model = await load_case(pool, complaint_id)
            if read_model is not None and read_model == fold(r.event for r in stored):
                report.read_models_equal += 1
                if view_of(read_model).outcome == path.outcome:
                    report.closed_as_expected += 1
            else:
                report.problems.append(f"{complaint_id}: the read model is not the fold of its events")
    if lengths:
        report.longest_history = max(lengths.items(), key=lambda item: item[1])
        report.median_history = statistics.median(lengths.values())
    total = await pool.fetchval("select count(*) from events")
    if total != expected_total:
        report.problems.append(f"the store holds {total} events, the paths expect {expected_total}")
