"""The cases one resident, or one organisation (a hotline, an app), filed: a list from the PostgreSQL read model,
joined to the gateway's filings, newest first. A resident's are those filed with their key and those a hotline
filed naming them as reporter; an organisation's those its keys filed.

Such a caller owns a handful of cases among all of them, so asking Temporal's visibility for every case that
matches and keeping theirs would read the whole district per page; the read model answers with theirs alone,
through the filings' indexes. It trails the history by the store's lag: a case filed a moment ago shows once its
first events are stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from activities.event_store import Pool
from whistle.search import CaseFilter, CaseSummary


def resident_cases(parameter: int) -> str:
    """The SQL condition on ``complaints c`` left-joined to ``gateway_filings f`` for the cases of the resident in
    parameter ``parameter``: filed with their key, or naming them as reporter (a hotline filing for them)."""
    return f"(f.resident_id = ${parameter} or c.complaint_id in (select whistle_cases_of_resident(${parameter})))"


@dataclass(frozen=True)
class FiledBy:
    """Whose filings: a resident's (``resident``) or an organisation's keys' (``organisation``)."""

    kind: Literal["resident", "organisation"]
    id: str


async def list_filed(
    pool: Pool, filed_by: FiledBy, case_filter: CaseFilter, *, now: datetime, limit: int
) -> list[CaseSummary]:
    """The cases ``filed_by`` filed that match ``case_filter``, newest filing first, at most ``limit``."""
    arguments: list[Any] = [filed_by.id]
    who = resident_cases(1) if filed_by.kind == "resident" else "k.organisation = $1"
    clauses = [who]
    for column, value in (
        ("c.stage", case_filter.stage),
        ("c.community", case_filter.community),
        ("c.grid", case_filter.grid),
        ("c.category", case_filter.category),
    ):
        if value is not None:
            arguments.append(value)
            clauses.append(f"{column} = ${len(arguments)}")
    if case_filter.department is not None:
        arguments.append(case_filter.department)
        clauses.append(f"c.departments ? ${len(arguments)}")
    if case_filter.escalated:
        clauses.append("c.escalation_level > 0")
    if case_filter.flagged:
        clauses.append("coalesce((c.state->>'flagged')::boolean, false)")
    if case_filter.overdue:
        arguments.append(now)
        clauses.append(f"c.next_deadline < ${len(arguments)}")
    arguments.append(limit)
    rows = await pool.fetch(
        "select c.complaint_id, c.stage, c.community, c.grid, c.category, c.departments, c.escalation_level, "
        "c.next_deadline, c.filed_at, coalesce((c.state->>'flagged')::boolean, false) as flagged "
        "from complaints c left join gateway_filings f using (complaint_id) "
        "left join api_keys k on k.key_id = f.key_id "
        f"where {' and '.join(clauses)} order by c.filed_at desc, c.complaint_id desc limit ${len(arguments)}",
        *arguments,
    )
    return [
        CaseSummary(
            complaint_id=row["complaint_id"],
            workflow_id=f"complaint-{row['complaint_id']}",
            stage=row["stage"],
            community=row["community"],
            grid=row["grid"],
            category=row["category"],
            departments=list(row["departments"]),
            escalation_level=row["escalation_level"],
            next_deadline=row["next_deadline"],
            overdue=row["next_deadline"] is not None and row["next_deadline"] < now,
            filed_at=row["filed_at"],
            running=row["stage"] != "closed",
            flagged=row["flagged"],
        )
        for row in rows
    ]
