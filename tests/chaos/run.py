"""The fault suite: drive many cases through every lifecycle path while the worker, Temporal and PostgreSQL fail.

The servers are real and owned by the run: a Temporal dev server on a SQLite file (restarted on the same
file), a PostgreSQL in a temporary directory (stopped for an outage and started again), and the worker as a
separate process (killed with SIGKILL and started again, as a supervisor would). Afterwards every case must
have reached its path's end, the event store must hold exactly the events the Temporal history recorded (in
order, no gap, no duplicate), and every read-model row must equal the fold of the case's stored events.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import shutil
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from temporalio.client import Client, WorkflowFailureError
from temporalio.runtime import LoggingConfig, Runtime, TelemetryConfig, TelemetryFilter

from activities.event_store import Pool, create_pool, load_case, load_events
from schemas.org import load_directory
from schemas.state import fold
from schemas.view import view_of
from tests.chaos.scenarios import ESCALATING, LAPSING, PATHS, PRODUCTION, Driver, Tally
from tests.chaos.servers import DevServer, WorkerProcess
from tests.pg import TestDatabase, fresh_database
from whistle.client import WhistleClient
from whistle.codec import EncryptionCodec, new_key_entry, parse_keys
from whistle.connection import data_converter
from whistle.settings import DATA_DIR


@dataclass(frozen=True)
class FaultPlan:
    """How hard to push: ``cases`` spread over ``spread`` seconds, the faults at random moments inside it."""

    cases: int = 300
    spread: float = 120.0
    pause: float = 1.0
    """Up to this many seconds between a case's commands, so a case lives through faults."""
    worker_kills: int = 5
    temporal_restarts: int = 1
    postgres_outage: float = 30.0
    """Seconds PostgreSQL stays down (0: no outage)."""
    seed: int | None = None


@dataclass
class FaultReport:
    plan: FaultPlan
    seed: int
    faults: list[str] = field(default_factory=list)
    unexpected_worker_exits: list[str] = field(default_factory=list)
    """For each time the worker exited on its own: its exit code and its last log line."""
    closed_as_expected: int = 0
    events_stored: int = 0
    read_models_equal: int = 0
    problems: list[str] = field(default_factory=list)
    tally: Tally = field(default_factory=Tally)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.problems and self.closed_as_expected == self.plan.cases

    def summary(self) -> str:
        kinds = Counter(fault.split(" ")[0] for fault in self.faults)
        did = (
            f"{self.plan.cases} cases over {len(PATHS)} paths; {kinds['worker-sigkill']} worker SIGKILLs, "
            f"{kinds['temporal-restart']} Temporal restarts, PostgreSQL down "
            f"{self.plan.postgres_outage:.0f}s x{kinds['postgres-outage']}"
        )
        found = (
            f"{self.closed_as_expected}/{self.plan.cases} closed as expected, {self.events_stored} events stored = "
            f"history, {self.read_models_equal} read models = fold, {len(self.problems)} problems"
        )
        extra = f"{self.tally.commands} commands, {self.tally.resends} resends"
        if self.unexpected_worker_exits:
            extra += f", {len(self.unexpected_worker_exits)} unplanned worker exits restarted"
        verdict = "OK" if self.ok else "FAILED: " + "; ".join(self.problems[:3])
        return f"fault suite {verdict} | did: {did} | found: {found} | {extra} | seed {self.seed}, {self.seconds:.0f}s"


@contextlib.asynccontextmanager
async def _temporary_directory() -> AsyncIterator[Path]:
    directory = Path(tempfile.mkdtemp(prefix="whistle-faults-"))
    try:
        yield directory
    finally:
        if not os.environ.get("WHISTLE_KEEP_FAULT_DIR"):
            shutil.rmtree(directory, ignore_errors=True)


async def run_fault_suite(plan: FaultPlan) -> FaultReport:
    """Run ``plan`` end to end on servers of its own. What it finds goes in the report; it raises only when it
    cannot run (a server that does not start)."""
    seed = plan.seed if plan.seed is not None else random.randrange(1 << 30)
    report = FaultReport(plan, seed)
    rng = random.Random(seed)
    started = time.monotonic()
    keys = new_key_entry("chaos")
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
                "WHISTLE_LOG_FORMAT": "json",
                "WHISTLE_LOG_LEVEL": "WARNING",
            },
            directory / "worker.log",
        )
        worker.start()
        try:
            await _drive_under_faults(plan, report, rng, temporal, worker, database, EncryptionCodec(parse_keys(keys)))
        finally:
            worker.stop()
            temporal.stop()
        if report.problems:
            report.problems.append(f"worker log tail: {_tail(directory / 'worker.log')}")
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
    codec: EncryptionCodec,
) -> None:
    # The SDK's own retry warnings would bury the summary line; its errors still show.
    quiet = Runtime(telemetry=TelemetryConfig(logging=LoggingConfig(filter=TelemetryFilter("ERROR", "ERROR"))))
    client = await Client.connect(temporal.address, data_converter=data_converter(codec), runtime=quiet)
    directory = load_directory(DATA_DIR / "org.yaml")
    task_queue = worker.env["WHISTLE_TASK_QUEUE"]
    clients = {
        name: WhistleClient(client, task_queue=task_queue, directory=directory, policy=policy)
        for name, policy in (("production", PRODUCTION), ("lapsing", LAPSING), ("escalating", ESCALATING))
    }
    driver = Driver(clients["production"], report.tally, plan.pause, rng)

    async def one_case(number: int) -> tuple[int, str]:
        await asyncio.sleep(plan.spread * number / max(plan.cases, 1))
        path = PATHS[number % len(PATHS)]
        complaint_id = await path.drive(driver, clients)
        view = await driver.finished(complaint_id)
        if view.outcome != path.outcome:
            report.problems.append(f"{complaint_id} ({path.name}) closed {view.outcome}, not {path.outcome}")
        return number, complaint_id

    cases = [asyncio.create_task(one_case(number)) for number in range(plan.cases)]
    supervisor = asyncio.create_task(_supervise(worker, report))
    try:
        await _inflict_faults(plan, report, rng, temporal, worker, database)
        finished = await asyncio.gather(*cases, return_exceptions=True)
    finally:
        supervisor.cancel()
        for task in cases:
            task.cancel()
    done: dict[int, str] = {}
    for outcome in finished:
        if isinstance(outcome, BaseException):
            cause = f" caused by {outcome.cause!r}" if isinstance(outcome, WorkflowFailureError) else ""
            report.problems.append(f"a driver failed: {outcome!r}{cause}")
        else:
            done[outcome[0]] = outcome[1]
    pool = await create_pool(database.url)
    try:
        await _check_every_case(report, driver, pool, done)
    finally:
        await pool.close()


async def _supervise(worker: WorkerProcess, report: FaultReport) -> None:
    """Restart a worker that exits on its own (as systemd or Kubernetes would), and count it."""
    while True:
        await asyncio.sleep(1.0)
        if not worker.running() and not worker.down_on_purpose:
            code = worker.process.returncode if worker.process else None
            report.unexpected_worker_exits.append(f"exit {code}: {_tail(worker.log_file, 1)}")
            worker.start()


async def _inflict_faults(
    plan: FaultPlan,
    report: FaultReport,
    rng: random.Random,
    temporal: DevServer,
    worker: WorkerProcess,
    database: TestDatabase,
) -> None:
    """The faults in a random order at random moments within the spread; each ends before the next starts."""
    faults = ["worker"] * plan.worker_kills + ["temporal"] * plan.temporal_restarts
    if plan.postgres_outage > 0 and database.pgdata is not None:
        faults.append("postgres")
    rng.shuffle(faults)
    window = plan.spread + plan.pause * 6
    moments = sorted(rng.uniform(2.0, window) for _ in faults)
    clock = asyncio.get_running_loop().time
    start = clock()
    for kind, moment in zip(faults, moments, strict=True):
        await asyncio.sleep(max(0.0, start + moment - clock()))
        at = clock() - start
        if kind == "worker":
            worker.down_on_purpose = True
            worker.kill()
            await asyncio.sleep(rng.uniform(0.5, 3.0))
            worker.start()
            worker.down_on_purpose = False
            report.faults.append(f"worker-sigkill at {at:.1f}s")
        elif kind == "temporal":
            await temporal.restart()
            report.faults.append(f"temporal-restart at {at:.1f}s ({clock() - start - at:.1f}s down)")
        else:
            await database.stop_postgres()
            await asyncio.sleep(plan.postgres_outage)
            await database.start_postgres()
            report.faults.append(f"postgres-outage at {at:.1f}s ({plan.postgres_outage:.0f}s)")


async def _check_every_case(report: FaultReport, driver: Driver, pool: Pool, done: dict[int, str]) -> None:
    expected_total = 0
    for number, complaint_id in sorted(done.items()):
        path = PATHS[number % len(PATHS)]
        stored = await load_events(pool, complaint_id)
        history = await driver.patiently(partial(driver.client.events, complaint_id))
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
    total = await pool.fetchval("select count(*) from events")
    if total != expected_total:
        report.problems.append(f"the store holds {total} events, the paths expect {expected_total}")
