"""``make bench-storm``: a deadline storm over 10,000 open cases, then the worker's recovery from a SIGKILL.

Issue 19 asks for two figures of a city's worst days: working-day deadlines that all end at the same hour (10,000
open cases whose report-in windows end in the same second; every escalation must fire within 60 s of its due time),
and a worker that dies with those cases open (the time until commands are answered at the usual p99 again;
``bench/recovery.py``). Both run on the harness's own stack (``bench/stack.py``) with one worker process.

**One second for 10,000 deadlines, with the engine as it is** (``bench/aligned.py``): each case is filed under a
policy with a short report-in window, verified, whistled for one department, and at once given the first secretary's
extension (书记指令 延期) of the whole seconds that move its report-in due into one chosen second, ``--settle``
seconds after the last case is due to start: the engine's deadlines are durations from the moment a clock starts,
and an extension is the one command counted from the clock's own due. The cases are started at ``--setup-rate`` per
second, at most ``--concurrency`` at once.

Measured from the store: each case's ``ReportInOverdue`` (its ``due``) and ``EscalatedToFirstSecretary``, their
``recorded_at`` (lateness as ``bench/lifecycle.deadline_lateness`` measures it), and how many of each every case
has (exactly one of each is wanted); from the Temporal histories of a sample of cases, when the timer fired and the
workflow task that decided the escalation completed; from the processes, the worker's RSS and the CPU each group
used from two seconds before the instant until the last escalation was stored. Writes ``bench/results/storm.json``
and its section of ``BENCHMARKS.md``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psutil  # type: ignore[import-untyped]
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client

from activities.event_store import Pool
from activities.files import load_directory
from activities.log import configure_logging
from bench import recovery
from bench.aligned import prepare, say, storm_policy
from bench.cpu import cpu_use
from bench.document import write_section
from bench.lifecycle import summary
from bench.stack import BenchStack, bench_stack, connect, worker_processes
from whistle.client import WhistleClient, workflow_id_for
from whistle.settings import DATA_DIR, Settings

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "storm.json"
HEADING = "## Deadline storm and recovery"
LATENESS_TARGET_S = 60.0
SAMPLE_SEED = 20261219


async def pending_notices(pool: Pool) -> int:
    count: int = await pool.fetchval("select count(*) from notification_outbox where status = 'pending'")
    return count


async def watch_storm(
    stack: BenchStack, pool: Pool, cases: int, instant: datetime, worker_pid: int, patience: float
) -> dict[str, Any]:
    """From two seconds before ``instant`` until every case is escalated in the read model (or ``patience`` seconds
    after it): the worker's RSS, the CPU of each group of processes, and how many escalations were stored when."""
    await asyncio.sleep(max(0.0, (instant - datetime.now(UTC)).total_seconds() - 2))
    worker = psutil.Process(worker_pid)
    rss_before = peak = worker.memory_info().rss
    found: dict[str, Any] = {"pending_notices_before": await pending_notices(pool), "load_at_storm": os.getloadavg()}
    stored_by_second: list[tuple[float, int]] = []
    with cpu_use(stack, [worker_pid]) as used:
        began = time.perf_counter()
        while True:
            # The stack holds only this run's cases, so the read model's count needs no list of ids.
            stored: int = await pool.fetchval("select count(*) from complaints where escalation_level > 0")
            since = (datetime.now(UTC) - instant).total_seconds()
            stored_by_second.append((round(since, 2), stored))
            peak = max(peak, worker.memory_info().rss)
            if stored >= cases or since > patience:
                break
            await asyncio.sleep(0.5)
        wall = time.perf_counter() - began
    drained_after = None
    while since < patience + 300:
        if await pending_notices(pool) == 0:
            drained_after = (datetime.now(UTC) - instant).total_seconds()
            break
        await asyncio.sleep(1.0)
        since = (datetime.now(UTC) - instant).total_seconds()
    return {
        **found,
        "rss_before_mib": rss_before / 2**20, "rss_peak_mib": peak / 2**20,
        "cpu_s": dict(used.seconds), "wall_s": wall,
        "worker_cpu_share": used.seconds.get("worker", 0.0) / wall,
        "outbox_drained_after_s": drained_after,
        "stored_by_second": stored_by_second,
    }  # fmt: skip


async def stored_escalations(pool: Pool, ids: list[str], dues: dict[str, datetime]) -> dict[str, Any]:
    """What the store holds: each case's missed report-in and escalation, how late each was stored after the due,
    and how many of each every case has."""
    counts = await pool.fetch(
        """select complaint_id,
                  count(*) filter (where type = 'ReportInOverdue') as overdue,
                  count(*) filter (where type = 'EscalatedToFirstSecretary') as escalated
           from events where complaint_id = any($1::text[]) group by complaint_id""",
        ids,
    )
    rows = await pool.fetch(
        """select o.complaint_id, (o.payload->>'due')::timestamptz as due, o.recorded_at as overdue_stored,
                  e.recorded_at as escalation_stored, e.payload->>'cause' as cause
           from events o join events e on e.complaint_id = o.complaint_id and e.type = 'EscalatedToFirstSecretary'
           where o.type = 'ReportInOverdue' and o.complaint_id = any($1::text[])""",
        ids,
    )
    per_case = {row["complaint_id"]: (row["overdue"], row["escalated"]) for row in counts}
    stored_dues = [row["due"] for row in rows]
    first_due, last_due = min(stored_dues), max(stored_dues)
    last_stored = max(row["escalation_stored"] for row in rows)
    return {
        "cases": len(ids),
        "exactly_once": sum(1 for pair in per_case.values() if pair == (1, 1)),
        "more_than_once": sum(1 for overdue, escalated in per_case.values() if overdue > 1 or escalated > 1),
        "never": len(ids) - sum(1 for overdue, escalated in per_case.values() if overdue >= 1 and escalated >= 1),
        "not_for_report_in": sum(1 for row in rows if row["cause"] != "report_in"),
        "due_not_as_set": sum(1 for row in rows if row["due"] != dues.get(row["complaint_id"])),
        "due_spread_s": (last_due - first_due).total_seconds(),
        "first_due": first_due.isoformat(), "last_due": last_due.isoformat(),
        "late_to_escalation": summary([(row["escalation_stored"] - row["due"]).total_seconds() for row in rows]),
        "late_to_overdue": summary([(row["overdue_stored"] - row["due"]).total_seconds() for row in rows]),
        "same_batch": sum(1 for row in rows if row["overdue_stored"] == row["escalation_stored"]),
        "last_stored_after_first_due_s": (last_stored - first_due).total_seconds(),
    }  # fmt: skip


async def decided_in_histories(temporal: Client, dues: dict[str, datetime], sample: int) -> dict[str, Any]:
    """For a sample of cases, from their Temporal histories: when the timer at the due fired, and when the workflow
    task that decided the escalation completed, each after the due (the store's write comes after both)."""
    chosen = random.Random(SAMPLE_SEED).sample(sorted(dues), min(sample, len(dues)))
    fired: list[float] = []
    decided: list[float] = []
    for complaint_id in chosen:
        due = dues[complaint_id]
        events = [e async for e in temporal.get_workflow_handle(workflow_id_for(complaint_id)).fetch_history_events()]
        for index, event in enumerate(events):
            at = event.event_time.ToDatetime(tzinfo=UTC)
            if event.event_type != EventType.EVENT_TYPE_TIMER_FIRED or at < due - timedelta(milliseconds=1):
                continue
            fired.append((at - due).total_seconds())
            completed = next(
                (later for later in events[index:] if later.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED),
                None,
            )
            if completed is not None:
                decided.append((completed.event_time.ToDatetime(tzinfo=UTC) - due).total_seconds())
            break
    return {"sample": len(chosen), "timer_fired": summary(fired), "task_completed": summary(decided)}


async def measure(stack: BenchStack, options: argparse.Namespace) -> dict[str, Any]:
    figures: dict[str, Any] = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"), "options": vars(options),
        "load_at_start": os.getloadavg(),
    }  # fmt: skip
    temporal, pool = await connect(stack)
    queue = f"whistle-{uuid.uuid4().hex[:8]}"
    client = WhistleClient(
        temporal, task_queue=queue, directory=load_directory(DATA_DIR / "org.yaml"),
        policy=storm_policy(options.first_window), pool=pool,
    )  # fmt: skip
    async with worker_processes(stack, temporal, queue) as worker:
        figures["rss_idle_mib"] = psutil.Process(worker.pids[0]).memory_info().rss / 2**20
        setup = options.cases / options.setup_rate + options.settle
        instant = (datetime.now(UTC) + timedelta(seconds=setup)).replace(microsecond=0) + timedelta(seconds=1)
        say(f"{options.cases} cases at {options.setup_rate}/s, their report-in due at {instant:%H:%M:%S} UTC")
        prepared = await prepare(
            client, options.cases, options.setup_rate, options.concurrency, instant, options.first_window
        )
        figures["setup"] = {
            "asked": options.cases, "started": prepared.started, "seconds": prepared.seconds,
            "behind_s": prepared.behind, "unaligned": len(prepared.unaligned),
            "instant": instant.isoformat(),
            "planned_in_second": sum(
                1 for due in prepared.dues.values() if instant <= due < instant + timedelta(seconds=1)
            ),
        }  # fmt: skip
        to_go = (instant - datetime.now(UTC)).total_seconds()
        say(f"setup done in {prepared.seconds:.0f} s ({prepared.behind:.0f} s behind its pace), "
            f"{len(prepared.unaligned)} cases could not be moved; {to_go:.0f} s to the storm")  # fmt: skip
        storm = await watch_storm(stack, pool, len(prepared.dues), instant, worker.pids[0], options.storm_timeout)
        ids = sorted(prepared.dues)
        storm.update(await stored_escalations(pool, ids, prepared.dues))
        storm["histories"] = await decided_in_histories(temporal, prepared.dues, options.history_sample)
        figures["storm"] = storm
        late = storm["late_to_escalation"]
        say(f"storm: {storm['exactly_once']} of {len(ids)} escalated exactly once; lateness p50 {late['p50']:.1f} s "
            f"p99 {late['p99']:.1f} s max {late['max']:.1f} s; due spread {storm['due_spread_s']:.3f} s")  # fmt: skip
        if options.rate > 0:
            figures["recovery"] = await recovery.measure_recovery(
                stack, client, queue, worker, ids,
                recovery.RecoveryOptions(
                    rate=options.rate, usual=options.usual, window=options.window, after=options.after,
                    after_max=options.after_max, give_up=options.give_up,
                ),
            )  # fmt: skip
            back = figures["recovery"]["recovered"]
            say(f"recovery: usual p99 {figures['recovery']['usual']['p99'] * 1000:.0f} ms; "
                + (f"back after {back['window_answered_s']:.1f} s" if back else "not back within the run")
                + f"; {figures['recovery']['failed']} failed")  # fmt: skip
    figures["load_at_end"] = os.getloadavg()
    await pool.close()
    return figures


def _ms(figure: dict[str, float]) -> str:
    return f"{figure['p50'] * 1000:.0f} / {figure['p99'] * 1000:.0f} / {figure['max'] * 1000:.0f}"


def _of_asked(setup: dict[str, Any]) -> str:
    if setup.get("started", setup.get("asked")) == setup.get("asked"):
        return ""
    return (f" (of {setup['asked']:,} asked: the machine kept a slower pace, and a case that could no longer reach the "
            "second was not started)")  # fmt: skip


def section(figures: dict[str, Any]) -> str:
    """The BENCHMARKS.md section for a run's figures."""
    o, setup, storm = figures["options"], figures["setup"], figures["storm"]
    late, cpu = storm["late_to_escalation"], storm["cpu_s"]
    cases = storm["cases"]
    clearing = storm["last_stored_after_first_due_s"]
    met = late["max"] <= LATENESS_TARGET_S and not storm["never"]
    lines = [
        HEADING,
        "",
        f"Written by `make bench-storm` (`bench/storm.py`), {figures['date']}, load average "
        f"{figures['load_at_start'][0]:.2f} at start, {figures['load_at_end'][0]:.2f} at end; one worker process. "
        f"{cases:,} open cases{_of_asked(setup)} were filed, verified and whistled (one department each) at "
        f"{o['setup_rate']:g} per second at most, {o['concurrency']} at once ({setup['seconds']:.0f} s), and each "
        "was at once given the first secretary's extension (书记指令 "
        "延期) of the whole seconds that moved its report-in due into one chosen second: the engine's deadlines are "
        "durations from the moment a clock starts, and an extension is the one command counted from the clock's own "
        f"due (the module's docstring says more). {setup['unaligned']} could not be moved.",
        "",
        "| target | wanted | reached | |",
        "| --- | --- | --- | --- |",
        f"| every escalation stored within {LATENESS_TARGET_S:.0f} s of its due time | ≤ {LATENESS_TARGET_S:.0f} s "
        f"| max {late['max']:.1f} s | {'met' if met else 'not met'} |",
        f"| each case escalated exactly once (events in the store) | {cases:,} | {storm['exactly_once']:,} "
        f"| {'met' if storm['exactly_once'] == cases else 'not met'} |",
        "",
        "| figure | value |",
        "| --- | --- |",
        f"| due times | {cases:,} from {storm['first_due'][11:23]} to {storm['last_due'][11:23]} UTC: spread "
        f"{storm['due_spread_s'] * 1000:.0f} ms |",
        f"| lateness to the escalation's store write (`recorded_at`), p50 / p99 / max (ms) | {_ms(late)} |",
        f"| lateness to the ReportInOverdue's store write, p50 / p99 / max (ms) | {_ms(storm['late_to_overdue'])} "
        f"({storm['same_batch']:,} of {cases:,} in the escalation's batch) |",
        f"| in the histories of {storm['histories']['sample']} cases: timer fired / escalation decided (workflow task "
        f"completed), p50 / p99 / max (ms) | {_ms(storm['histories']['timer_fired'])} / "
        f"{_ms(storm['histories']['task_completed'])} |",
        f"| last escalation stored | {clearing:.1f} s after the first due time ({cases / max(clearing, 1e-9):.0f} "
        "escalations/s) |",
        f"| escalations lost / more than once / not for the report-in | {storm['never']} / {storm['more_than_once']} / "
        f"{storm['not_for_report_in']} |",
        f"| worker during the storm | RSS {storm['rss_before_mib']:.0f} MiB before, {storm['rss_peak_mib']:.0f} MiB "
        f"at most (idle at start {figures['rss_idle_mib']:.0f} MiB); CPU {cpu.get('worker', 0):.1f} s in "
        f"{storm['wall_s']:.1f} s ({storm['worker_cpu_share']:.0%} of one core) |",
        f"| the others during the storm (CPU s) | Temporal server {cpu.get('server', 0):.1f}, PostgreSQL "
        f"{cpu.get('postgres', 0):.1f}, driver {cpu.get('driver', 0):.1f}; load average "
        f"{storm['load_at_storm'][0]:.2f} as it began |",
        "| notices of the escalations delivered (outbox empty) | "
        + (f"{storm['outbox_drained_after_s']:.0f} s after the instant |" if storm["outbox_drained_after_s"]
           else "not within the run |"),
    ]  # fmt: skip
    if "recovery" in figures:
        lines += recovery.section_rows(figures["recovery"], cases)
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--cases", type=int, default=10_000, help="open cases in the storm")
    parser.add_argument("--setup-rate", type=float, default=5.0, help="cases started per second in the setup")
    parser.add_argument("--concurrency", type=int, default=32, help="cases in setup at once, at most")
    parser.add_argument("--first-window", type=int, default=30, help="report-in window before the extension, s")
    parser.add_argument("--settle", type=float, default=180.0, help="last planned start to the storm, s")
    parser.add_argument("--storm-timeout", type=float, default=1800.0, help="wait this long for lost escalations, s")
    parser.add_argument("--history-sample", type=int, default=200, help="cases whose Temporal history is read")
    parser.add_argument("--rate", type=float, default=10.0, help="recovery: commands per second (0: no recovery)")
    parser.add_argument("--usual", type=float, default=60.0, help="recovery: seconds of commands before the kill")
    parser.add_argument("--window", type=int, default=200, help="recovery: commands in the rolling window")
    parser.add_argument("--after", type=float, default=180.0, help="recovery: seconds after the kill, at least")
    parser.add_argument("--after-max", type=float, default=900.0, help="recovery: seconds after the kill, at most")
    parser.add_argument("--give-up", type=float, default=300.0, help="recovery: a command unanswered this long fails")
    parser.add_argument("--no-write", action="store_true", help="print the section, write no file")
    options = parser.parse_args()
    if options.settle < options.first_window + 60:
        parser.error("--settle must leave the first windows' timers time to fire: at least first window + 60 s")
    configure_logging(Settings().log_format, "WARNING")
    started = time.perf_counter()
    with bench_stack() as stack:
        figures = asyncio.run(measure(stack, options))
    figures["wall_seconds"] = time.perf_counter() - started
    print(section(figures))
    if not options.no_write:
        RESULTS.write_text(json.dumps(figures, indent=2, default=str) + "\n")
        write_section(ROOT / "BENCHMARKS.md", HEADING, section(figures))


if __name__ == "__main__":
    main()
