"""The rates' facts from the PostgreSQL read models: one SQL query reads a fact row per case from the
``complaints`` read model and the ``events`` table; ``schemas.rates.rank_groups`` counts them (README, "Measures").
"""

from __future__ import annotations

from datetime import date, datetime

from asyncpg import Record

from activities.event_store import Connection, Pool
from schemas.calendar import CHINA_TIME
from schemas.rates import CaseFacts, DepartmentFacts, Report, ReportGroupBy, rank_groups


def beijing_midnight(day: date) -> datetime:
    """The start of ``day`` in Beijing time, as an aware datetime."""
    return datetime(day.year, day.month, day.day, tzinfo=CHINA_TIME)


_FACT_EVENTS = ["ResidentEvaluated", "ReportInOverdue", "HandlingOverdue", "EscalatedToFirstSecretary",
                "EscalatedToStreetSecretary", "CaseUrged", "FollowUpRecorded", "FollowUpWindowClosed"]  # fmt: skip


_CASE_FACTS = """
select c.complaint_id, c.community, c.stage, c.outcome,
       c.state #> '{case,context,community}' as community_info,
       c.state #> '{case,context,departments}' as department_info,
       c.state -> 'departments' as departments,
       coalesce(jsonb_typeof(c.state -> 'merge'), 'null') = 'object' as merged,
       coalesce((select jsonb_agg(e.payload order by e.seq) from events e
                 where e.complaint_id = c.complaint_id and e.type = any($2::text[])), '[]'::jsonb) as facts
from complaints c
where $1::timestamptz is null or c.filed_at >= $1::timestamptz
order by c.complaint_id
"""


async def load_case_facts(pool: Pool | Connection, since: date | None) -> list[CaseFacts]:
    """A fact row per case filed since ``since`` (Beijing date), from ``complaints`` and ``events``."""
    start = beijing_midnight(since) if since else None
    rows = await pool.fetch(_CASE_FACTS, start, _FACT_EVENTS)
    return [_facts_of(row) for row in rows]


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
    facts = await load_case_facts(pool, since)
    return Report(by=by, since=since, generated_at=now, groups=rank_groups(facts, by))
