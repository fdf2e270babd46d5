"""Lists and reports over 100,000 cases in the PostgreSQL read model (``make bench-read-model``; no Temporal).

The cases are real ones, made as the workflow makes them: a few hundred template cases (every community, grid and
category of the sample district; every stage of the happy path, some left to miss a department's report-in and
escalate, some flagged for leader supervision) decided by the domain's decider and written through the ``store``
activity's own write (``BatchStore``: events, read-model row, outbox in one transaction). SQL then copies them to
the wanted count under new ids, spread over the year before the run (filing time, updates and deadlines shifted
alike), so the tables hold what a year of a district's cases would: ``complaints`` rows with their whole folded
state, and their events.

Measured on them, in alternating rounds: a filtered list page through ``whistle/case_list.py`` (the SDK's and the
gateway's code, the gateway's reach included) for each filter, first page and a page deep into the list; the 三率
report (``activities/rates.py``) by community, department and first secretary, over the year and over the last
month. The baseline, in the same rounds, is a lookup of one case by its primary key: the floor a query pays on
this machine at this moment. Writes ``bench/results/read_model.json`` and its section of ``BENCHMARKS.md``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any, get_args

from activities.event_store import Pool, apply_migrations, create_pool
from activities.rates import build_report
from activities.store import BatchStore
from bench.document import write_section
from bench.lifecycle import LEAD, SECOND
from gateway import access
from gateway.keys import Principal, Role
from schemas.actors import Actor
from schemas.commands import Command, FlagCase, ReachDeadline
from schemas.errors import CommandRejected
from schemas.events import RecordedEvent
from schemas.fold import apply, start
from schemas.rates import ReportGroupBy
from schemas.rules.decider import decide, file_complaint
from tests.domain_fixtures import blow, complete, directory, evaluate, make_case, make_intake, report_in, verify
from whistle import devstack
from whistle.case_list import CaseFilter, Cursor, list_cases
from workflows.ports import StoreInput

RESULTS = Path(__file__).with_name("results") / "read_model.json"
HEADING = "## Lists and reports over 100,000 cases"
TEMPLATE = "M"
"""The template cases' id prefix; their copies are ``M-<n>-<copy>``."""


def template_case(number: int, now: datetime) -> list[list[RecordedEvent]]:
    """Template ``number``: a place and category of the sample district, a stage of the happy path, now and then a
    missed report-in (escalated) or a leader's flag; its events in the batches the workflow would store."""
    places = [(community, grid) for community in directory().communities for grid in community.grids]
    community, grid = places[number % len(places)]
    categories = [category.code for category in directory().categories]
    category = categories[(number // len(places)) % len(categories)]
    complaint_id = f"{TEMPLATE}-{number}"
    intake = make_intake(complaint_id=complaint_id, community=community.code, grid=grid.code, category=category)
    filed_at = now - timedelta(days=3)
    (filed,) = file_complaint(make_case(complaint_id=complaint_id, intake=intake), filed_at)
    state = start(filed)  # type: ignore[arg-type]
    batches = [[RecordedEvent(complaint_id=complaint_id, seq=1, event=filed)]]
    path: list[Command] = [
        verify(grid.grid_workers[0].id), blow(LEAD, SECOND, lead=LEAD, by=community.secretary.id),
        report_in(LEAD), report_in(SECOND), complete(LEAD), complete(SECOND), evaluate("satisfied"),
    ]  # fmt: skip
    steps = path[: number % (len(path) + 1)]
    if number % 6 == 2 and len(steps) == 2:  # whistled, and the lead department never reports in
        steps.append(ReachDeadline(kind="report_in", department=LEAD))
    if number % 9 == 4 and len(steps) < len(path):
        steps.append(FlagCase(actor=Actor(kind="supervisor", id="dubanchu-01"), note="区领导批示：限期解决"))
    for step, command in enumerate(steps, start=1):
        at = filed_at + timedelta(hours=step)
        if isinstance(command, ReachDeadline):
            at = filed_at + timedelta(days=2)
        try:
            decided = decide(state, command, at)
        except CommandRejected:  # a category whose rules ask for more (a photo at completion): it stops here
            break
        batch = []
        for event in decided:
            state = apply(state, event)
            batch.append(RecordedEvent(complaint_id=complaint_id, seq=state.event_count, event=event))
        batches.append(batch)
    return batches


async def populate(pool: Pool, cases: int, templates: int) -> dict[str, Any]:
    """``templates`` cases through the store's write, then SQL copies up to ``cases``; how long each took."""
    now = datetime.now(UTC)
    store = BatchStore(pool)
    started = time.perf_counter()
    for number in range(templates):
        for batch in template_case(number, now):
            await store.store(
                StoreInput(complaint_id=batch[0].complaint_id, workflow_id=f"complaint-{batch[0].complaint_id}",
                           run_id="bench", events=batch, notifications=[])
            )  # fmt: skip
    stored = time.perf_counter() - started
    copies = -(-cases // templates) - 1
    columns = [
        row["column_name"]
        for row in await pool.fetch(
            "select column_name from information_schema.columns where table_name = 'complaints' "
            "order by ordinal_position"
        )
    ]
    # Each copy moves back in time by its own shift, up to a year, so lists and "since" see a year of filings.
    shift = "make_interval(mins => ((n * 7919 + abs(hashtext(c.complaint_id))) % 525600))"
    moved = {
        "complaint_id": "c.complaint_id || '-' || n",
        "state": "jsonb_set(c.state, '{complaint_id}', to_jsonb(c.complaint_id || '-' || n))",
        **{name: f"c.{name} - {shift}" for name in ("filed_at", "updated_at", "closed_at", "next_deadline",
                                                     "watched_deadline")},
    }  # fmt: skip
    started = time.perf_counter()
    async with pool.acquire() as connection, connection.transaction():
        await connection.execute(
            f"insert into complaints ({', '.join(columns)}) "
            f"select {', '.join(moved.get(name, f'c.{name}') for name in columns)} "
            f"from complaints c cross join generate_series(1, $1) n where c.complaint_id like '{TEMPLATE}-%'",
            copies,
        )
        await connection.execute(
            "insert into events (complaint_id, seq, type, at, payload, workflow_id, run_id) "
            f"select e.complaint_id || '-' || n, e.seq, e.type, e.at - {shift.replace('c.', 'e.')}, "
            "e.payload, e.workflow_id || '-' || n, e.run_id "
            f"from events e cross join generate_series(1, $1) n where e.complaint_id like '{TEMPLATE}-%'",
            copies,
        )
    await pool.execute("analyze")
    copied = time.perf_counter() - started
    counts = await pool.fetchrow(
        "select (select count(*) from complaints) as cases, (select count(*) from events) as events, "
        "pg_total_relation_size('complaints') as complaints_bytes, pg_total_relation_size('events') as events_bytes"
    )
    assert counts is not None
    return {"templates": templates, "stored_seconds": stored, "copied_seconds": copied, **dict(counts)}


def principal(role: Role, subject: str, communities: frozenset[str] = frozenset()) -> Principal:
    return Principal(key_id=f"bench-{role}", role=role, subject=subject, communities=communities)


def list_queries(now: datetime) -> dict[str, tuple[CaseFilter, Principal]]:
    """The filters a supervisor, a community and a department use, each as its key would send it."""
    everyone = principal("supervisor", "督办室")
    hongqi = principal("community-secretary", "sec-hongqi", frozenset({"hongqi"}))
    department = principal("department", LEAD)
    return {
        "supervisor, no filter": (CaseFilter(), everyone),
        "supervisor, stage=handling": (CaseFilter(stage="handling"), everyone),
        "supervisor, community=anju": (CaseFilter(community="anju"), everyone),
        "supervisor, grid=gangyuan_2": (CaseFilter(grid="gangyuan_2"), everyone),
        "supervisor, category=streetlight": (CaseFilter(category="streetlight"), everyone),
        "supervisor, escalated": (CaseFilter(escalated=True), everyone),
        "supervisor, overdue": (CaseFilter(overdue=True), everyone),
        "supervisor, flagged": (CaseFilter(flagged=True), everyone),
        "community secretary, own community, stage=whistled": (CaseFilter(stage="whistled"), hongqi),
        f"department key ({LEAD}), own cases": (CaseFilter(), department),
        f"department key ({LEAD}), escalated": (CaseFilter(escalated=True), department),
    }


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "p50_ms": statistics.median(ordered) * 1000,
        "p99_ms": ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))] * 1000,
        "max_ms": ordered[-1] * 1000,
        "n": len(ordered),
    }


async def timed(samples: list[float], call: Callable[[], Awaitable[Any]]) -> Any:
    started = time.perf_counter()
    answer = await call()
    samples.append(time.perf_counter() - started)
    return answer


async def measure(pool: Pool, rounds: int, pages: int, reports: int, changed: int) -> dict[str, Any]:
    """Alternating rounds of every list query (first page and deep page), the reports and the baseline lookup; the
    first report of all (every case's contributions written) and, each round, one after ``changed`` cases moved on."""
    now = datetime.now(UTC)
    first_report: list[float] = []
    after_changes: list[float] = []
    await timed(first_report, partial(build_report, pool, "community", since=None, now=now))
    queries = list_queries(now)
    first: dict[str, list[float]] = {name: [] for name in queries}
    deep: dict[str, list[float]] = {name: [] for name in queries}
    report_samples: dict[str, list[float]] = {}
    baseline: list[float] = []
    ids = [row["complaint_id"] for row in await pool.fetch("select complaint_id from complaints limit 2000")]
    deep_cursor: dict[str, Cursor | None] = {}
    for name, (case_filter, key) in queries.items():  # where page 5 (of 50 cases each) starts, found once
        rows = await list_cases(pool, case_filter, now=now, limit=200, reach=_reach(key))
        deep_cursor[name] = Cursor(rows[-1].filed_at, rows[-1].complaint_id) if len(rows) == 200 else None
    for round_number in range(rounds):
        for page in range(pages):
            complaint_id = ids[(round_number * pages + page) % len(ids)]
            await timed(baseline, partial(pool.fetchval, "select stage from complaints where complaint_id = $1",
                                          complaint_id))  # fmt: skip
            for name, (case_filter, key) in queries.items():
                page_of = partial(list_cases, pool, case_filter, now=now, limit=50, reach=_reach(key))
                await timed(first[name], page_of)
                if (after := deep_cursor[name]) is not None:
                    await timed(deep[name], partial(page_of, after=after))
        # Between two reports some cases move on; their contributions are stale and the next report refreshes
        # them. Dropping a random ``changed`` cases' rows is the same work (they are recomputed from the read model).
        await pool.execute(
            "delete from rate_contributions where complaint_id in "
            "(select complaint_id from complaints order by random() limit $1)",
            changed,
        )
        await timed(after_changes, partial(build_report, pool, "community", since=None, now=now))
        for _ in range(reports):
            for by in get_args(ReportGroupBy):
                for label, since in (("year", None), ("month", (now - timedelta(days=30)).date())):
                    samples = report_samples.setdefault(f"{by}, {label}", [])
                    await timed(samples, partial(build_report, pool, by, since=since, now=now))
    return {
        "baseline": percentiles(baseline),
        "first_page": {name: percentiles(samples) for name, samples in first.items()},
        "deep_page": {name: percentiles(samples) for name, samples in deep.items() if samples},
        "reports": {name: percentiles(samples) for name, samples in report_samples.items()},
        "first_report": percentiles(first_report),
        "report_after_changes": {"changed": changed, **percentiles(after_changes)},
    }


def _reach(key: Principal) -> Callable[[list[Any]], str]:
    return lambda arguments: access.reach(key, arguments)


def section(figures: dict[str, Any]) -> str:
    """The BENCHMARKS.md section for a run's figures."""
    data, baseline = figures["data"], figures["measured"]["baseline"]
    worst_list = max(
        [*figures["measured"]["first_page"].values(), *figures["measured"]["deep_page"].values()],
        key=lambda row: row["p99_ms"],
    )
    worst_report = max(
        [*figures["measured"]["reports"].values(), figures["measured"].get("report_after_changes", {"p99_ms": 0})],
        key=lambda row: row["p99_ms"],
    )
    lines = [
        HEADING,
        "",
        f"Written by `make bench-read-model` (`bench/read_model.py`), {figures['date']}: {data['cases']:,} cases "
        f"({data['events']:,} events; `complaints` {data['complaints_bytes'] / 2**20:.0f} MiB, `events` "
        f"{data['events_bytes'] / 2**20:.0f} MiB with their indexes) made from {data['templates']} template cases "
        f"through the store's write and copied over a year by SQL ({data['copied_seconds']:.0f} s); "
        f"{figures['rounds']} alternating rounds. The baseline is a primary-key lookup of one case in the same rounds "
        f"(p50 {baseline['p50_ms']:.2f} ms, p99 {baseline['p99_ms']:.2f} ms).",
        "",
        "| target | wanted | reached | |",
        "| --- | --- | --- | --- |",
        f"| filtered list page, worst p99 of any filter | < 100 ms | {worst_list['p99_ms']:.1f} ms | "
        f"{'met' if worst_list['p99_ms'] < 100 else 'not met'} |",
        f"| 三率 report, worst p99 | < 2 s | {worst_report['p99_ms'] / 1000:.2f} s | "
        f"{'met' if worst_report['p99_ms'] < 2000 else 'not met'} |",
        "",
        "| query (page of 50) | first page p50 / p99 (ms) | page 5 p50 / p99 (ms) | p99 / baseline p99 |",
        "| --- | --- | --- | --- |",
    ]
    for name, row in figures["measured"]["first_page"].items():
        deep = figures["measured"]["deep_page"].get(name)
        deep_text = f"{deep['p50_ms']:.1f} / {deep['p99_ms']:.1f}" if deep else "(fewer than 200 cases)"
        lines.append(
            f"| {name} | {row['p50_ms']:.1f} / {row['p99_ms']:.1f} | {deep_text} | "
            f"{row['p99_ms'] / baseline['p99_ms']:.0f}× |"
        )
    lines += ["", "| report (三率 and 红黑榜) | p50 / p99 (ms) | n |", "| --- | --- | --- |"]
    for name, row in figures["measured"]["reports"].items():
        lines.append(f"| by {name} | {row['p50_ms']:.0f} / {row['p99_ms']:.0f} | {row['n']} |")
    first, changes = figures["measured"].get("first_report"), figures["measured"].get("report_after_changes")
    if first and changes:
        lines += [
            f"| by community, year, after {changes['changed']:,} cases moved on (their contributions refreshed) | "
            f"{changes['p50_ms']:.0f} / {changes['p99_ms']:.0f} | {changes['n']} |",
            f"| by community, year, the very first report (every case's contributions written) | "
            f"{first['max_ms']:.0f} | 1 |",
        ]
    return "\n".join(lines)


async def run(arguments: argparse.Namespace) -> dict[str, Any]:
    home = Path(tempfile.mkdtemp(prefix="whistle-bench-read-model-"))
    try:
        admin = await asyncio.to_thread(devstack.start_postgres, home / "pgdata")
        url = await devstack.ensure_database(admin, "bench")
        pool = await create_pool(url)
        try:
            await apply_migrations(pool)
            data = await populate(pool, arguments.cases, arguments.templates)
            print(f"populated: {data}", flush=True)
            measured = await measure(pool, arguments.rounds, arguments.pages, arguments.reports, arguments.changed)
        finally:
            await pool.close()
    finally:
        await asyncio.to_thread(devstack.stop_postgres, home / "pgdata")
        shutil.rmtree(home, ignore_errors=True)
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "rounds": arguments.rounds,
        "data": data,
        "measured": measured,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--templates", type=int, default=400)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--pages", type=int, default=25, help="list queries of each kind per round")
    parser.add_argument("--reports", type=int, default=3, help="reports of each kind per round")
    parser.add_argument("--changed", type=int, default=1_000, help="cases that move on between two rounds' reports")
    parser.add_argument("--no-write", action="store_true", help="print the section, write no file")
    arguments = parser.parse_args()
    figures = asyncio.run(run(arguments))
    print(section(figures))
    if not arguments.no_write:
        RESULTS.write_text(json.dumps(figures, indent=2, default=str) + "\n")
        write_section(Path(__file__).parent.parent / "BENCHMARKS.md", HEADING, section(figures))


if __name__ == "__main__":
    main()
