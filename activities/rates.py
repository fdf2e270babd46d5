"""The rates from the PostgreSQL read models (README, "Measures").

A case's facts come from its ``complaints`` row and its stored events (``load_case_facts``); what each case adds to
each group's counts (``schemas.rates.contributions``) is kept in ``rate_contributions``, so a report is one SQL
sum per group over them rather than every case read into Python (100,000 cases: ``bench/read_model.py``). A report
first refreshes the contributions of the cases whose read-model row moved on since they were written (or that have
none), so it counts the read model as it stands, like a query over it would.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import asyncpg
from asyncpg import Record

from activities.event_store import Connection, Pool
from schemas.calendar import CHINA_TIME
from schemas.rates import COUNTS, CaseFacts, DepartmentFacts, Report, ReportGroupBy, Tally, contributions, rank_tallies


def beijing_midnight(day: date) -> datetime:
    """The start of ``day`` in Beijing time, as an aware datetime."""
    return datetime(day.year, day.month, day.day, tzinfo=CHINA_TIME)


_FACT_EVENTS = ["ResidentEvaluated", "ReportInOverdue", "HandlingOverdue", "EscalatedToFirstSecretary",
                "EscalatedToStreetSecretary", "CaseUrged", "FollowUpRecorded", "FollowUpWindowClosed"]  # fmt: skip


_CASE_FACTS = """
select c.complaint_id, c.community, c.stage, c.outcome, c.last_seq, c.filed_at,
       c.state #> '{case,context,community}' as community_info,
       c.state #> '{case,context,departments}' as department_info,
       c.state -> 'departments' as departments,
       coalesce(jsonb_typeof(c.state -> 'merge'), 'null') = 'object' as merged,
       coalesce((select jsonb_agg(e.payload order by e.seq) from events e
                 where e.complaint_id = c.complaint_id and e.type = any($2::text[])), '[]'::jsonb) as facts
from complaints c
where {which}
order by c.complaint_id
"""

_STALE = """
select c.complaint_id from complaints c
where not exists (select from rate_contributions r where r.complaint_id = c.complaint_id and r.last_seq = c.last_seq)
"""
"""Cases whose contributions are missing or older than their read-model row (every row of a case is written
together, so any one row tells)."""

_SUMS = f"""
select group_key, (array_agg(name order by complaint_id))[1] as name,
       {", ".join(f"sum({count})::int as {count}" for count in COUNTS)}
from rate_contributions
where grouping = $1 and ($2::timestamptz is null or filed_at >= $2::timestamptz)
group by group_key
"""

ANALYZE_AFTER = 1_000
"""Refreshing this many cases at once is worth new planner statistics (autovacuum would take its time)."""

_COLUMNS = ["complaint_id", "last_seq", "filed_at", "grouping", "group_key", "name", *COUNTS]


async def load_case_facts(pool: Pool | Connection, since: date | None) -> list[CaseFacts]:
    """A fact row per case filed since ``since`` (Beijing date), from ``complaints`` and ``events``."""
    start = beijing_midnight(since) if since else None
    rows = await pool.fetch(
        _CASE_FACTS.replace("{which}", "$1::timestamptz is null or c.filed_at >= $1::timestamptz"), start, _FACT_EVENTS
    )
    return [_facts_of(row) for row in rows]


async def refresh_contributions(pool: Pool | Connection, batch: int = 2_000) -> int:
    """Write the contributions of every case whose read-model row moved on since; how many cases were refreshed."""
    stale = [row["complaint_id"] for row in await pool.fetch(_STALE)]
    for first in range(0, len(stale), batch):
        ids = stale[first : first + batch]
        rows = await pool.fetch(_CASE_FACTS.replace("{which}", "c.complaint_id = any($1::text[])"), ids, _FACT_EVENTS)
        records = [
            (row["complaint_id"], row["last_seq"], row["filed_at"], grouping, key, tally.name, *tally.counts)
            for row in rows
            for grouping, key, tally in contributions(_facts_of(row))
        ]
        await _replace(pool, ids, records)
    if len(stale) >= ANALYZE_AFTER:  # else the planner, thinking the table empty, scans it once per case
        await pool.execute("analyze rate_contributions")
    return len(stale)


async def _replace(pool: Pool | Connection, ids: list[str], records: list[tuple[Any, ...]]) -> None:
    """Swap the cases' rows in one transaction, so a report never sums half a case."""
    if not isinstance(pool, asyncpg.Pool):
        async with pool.transaction():
            await _swap(pool, ids, records)
        return
    async with pool.acquire() as connection, connection.transaction():
        await _swap(connection, ids, records)


async def _swap(connection: Connection, ids: list[str], records: list[tuple[Any, ...]]) -> None:
    # Two reports refreshing at once would insert the same new rows; one waits for the other, then replaces them.
    await connection.execute("select pg_advisory_xact_lock(hashtext('rate_contributions'))")
    await connection.execute("delete from rate_contributions where complaint_id = any($1::text[])", ids)
    await connection.copy_records_to_table(
        "rate_contributions",
        records=records,
        columns=_COLUMNS,
    )


def _facts_of(row: Record) -> CaseFacts:
    community = row["community_info"]
    events = row["facts"]
    return CaseFacts(
        complaint_id=row["complaint_id"],
        community=row["community"],
        community_name=community["name"],
        first_secretary=community["first_secretary"]["id"],
        first_secretary_name=community["first_secretary"]["name"],
        department_names={code: info["name"] for code, info in row["department_info"].items()},
        closed=row["stage"] == "closed",
        outcome=row["outcome"],
        departments={
            code: DepartmentFacts(
                status=part["status"],
                reported_on_time=part.get("reported_on_time"),
                report_in_lapsed=bool((part.get("report_in") or {}).get("lapsed")),
                community_result=(part.get("rating") or {}).get("result"),
                community_in_person=bool((part.get("rating") or {}).get("in_person")),
            )
            for code, part in row["departments"].items()
        },
        ratings=[event["rating"] for event in events if event["type"] == "ResidentEvaluated"],
        late_departments=[event["department"] for event in events if event["type"] == "ReportInOverdue"],
        handling_overdue=any(event["type"] == "HandlingOverdue" for event in events),
        escalations=[
            (event["cause"], event.get("department")) for event in events if event["type"].startswith("Escalated")
        ],
        urgings=[event["holders"] for event in events if event["type"] == "CaseUrged"],
        follow_ups=[event["verdict"] for event in events if event["type"] == "FollowUpRecorded"],
        follow_ups_missed=sum(event["type"] == "FollowUpWindowClosed" and event["missed"] for event in events),
        merged=row["merged"],
    )


async def build_report(pool: Pool | Connection, by: ReportGroupBy, *, since: date | None, now: datetime) -> Report:
    """The ranking of ``by`` over the cases filed since ``since``, as the read models stand now."""
    await refresh_contributions(pool)
    start = beijing_midnight(since) if since else None
    rows = await pool.fetch(_SUMS, by, start)
    tallies = {row["group_key"]: Tally.of(row["name"], [row[count] for count in COUNTS]) for row in rows}
    return Report(by=by, since=since, generated_at=now, groups=rank_tallies(tallies))
