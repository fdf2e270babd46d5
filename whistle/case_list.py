"""Lists of cases from the PostgreSQL read model: SQL filters, the caller's reach, keyset pages newest first.

Supervisors and integrators page through thousands of cases. Temporal's visibility store is for operators browsing
the Temporal UI: it cannot apply a caller's reach (a hotline's own filings, a resident's cases) before its limit,
cannot sort on a SQL visibility store, and trails the workflow by its own lag. The read model answers every filter
through an index (migration ``0095_case_list_indexes.sql``) and pages by the position of the last case shown — its
filing time and id, the order the list is sorted in — so a page is correct whatever was filed meanwhile: a new case
appears on the first page, never twice or in place of another on a later one. Like every read of the read model it
trails the history by the store's lag: a case changed a moment ago shows its change once the change is stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import AwareDatetime

from activities.duplicates import Reach
from activities.event_store import Pool
from schemas.common import Code, Model
from schemas.state import Stage

MOST_LISTED = 200
"""The longest page a caller may ask for."""


class CaseFilter(Model):
    """Which cases to list; every given field must hold (they are joined with AND).

    ``escalated``: held above the community now (escalation level 1 or 2). ``flagged``: under leader supervision
    (重点督办). ``overdue``: the case's next deadline has already passed — nothing has answered a clock that ran out
    (for a running worker that is the street secretary's window, the top of the ladder, which has no further timer;
    or any clock while workers are down).
    """

    stage: Stage | None = None
    community: Code | None = None
    grid: Code | None = None
    department: Code | None = None
    category: Code | None = None
    escalated: bool = False
    overdue: bool = False
    flagged: bool = False


class CaseSummary(Model):
    """One case as the read model holds it: the columns supervisors filter on, no personal data.

    ``next_deadline`` is the deadline supervisors watch: the earliest one already missed on a clock that still
    stands, else the next one (``CaseState.watched_deadline``), so ``overdue`` holds until the late step is taken.
    """

    complaint_id: str
    workflow_id: str
    stage: Stage | None
    community: Code | None
    grid: Code | None
    category: Code | None
    departments: list[Code]
    escalation_level: int
    next_deadline: AwareDatetime | None
    overdue: bool
    filed_at: AwareDatetime
    running: bool
    flagged: bool = False

    @property
    def cursor(self) -> str:
        """Where the page after this case starts: pass it as ``after`` for the next page."""
        return str(Cursor(self.filed_at, self.complaint_id))


@dataclass(frozen=True)
class Cursor:
    """A position in the list: the filing time and id of the last case shown (the list's sort key)."""

    filed_at: datetime
    complaint_id: str

    def __str__(self) -> str:
        return f"{self.filed_at.isoformat()}~{self.complaint_id}"

    @classmethod
    def parse(cls, text: str) -> Cursor:
        """The cursor a ``CaseSummary.cursor`` wrote; ``ValueError`` naming what is wrong otherwise."""
        moment, separator, complaint_id = text.partition("~")
        if not separator or not complaint_id:
            raise ValueError("a cursor is a case's filing time and id, as a listed case's cursor gives them")
        filed_at = datetime.fromisoformat(moment)
        if filed_at.tzinfo is None:
            raise ValueError("a cursor's filing time carries its UTC offset")
        return cls(filed_at, complaint_id)


def resident_cases(parameter: int) -> str:
    """The SQL condition on ``complaints c`` left-joined to ``gateway_filings f`` for the cases of the resident in
    parameter ``parameter``: filed with their key, or naming them as reporter (a hotline filing for them)."""
    return f"(f.resident_id = ${parameter} or c.complaint_id in (select whistle_cases_of_resident(${parameter})))"


def filter_clauses(case_filter: CaseFilter, now: datetime, arguments: list[Any]) -> list[str]:
    """``case_filter`` as SQL conditions on ``complaints c``, their values appended to ``arguments``."""
    clauses: list[str] = []
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
        clauses.append("c.flagged")
    if case_filter.overdue:
        arguments.append(now)
        clauses.append(f"c.watched_deadline < ${len(arguments)}")
    return clauses


async def list_cases(
    pool: Pool,
    case_filter: CaseFilter,
    *,
    now: datetime,
    limit: int = MOST_LISTED,
    after: Cursor | None = None,
    reach: Reach | None = None,
) -> list[CaseSummary]:
    """The cases within ``reach`` that match ``case_filter``, newest filing first, at most ``limit``, starting after
    ``after``. ``reach`` is applied in the query, before the limit, so a narrow caller's page is never short."""
    arguments: list[Any] = []
    clauses = filter_clauses(case_filter, now, arguments)
    if reach is not None:
        clauses.append(reach(arguments))
    if after is not None:
        arguments += [after.filed_at, after.complaint_id]
        clauses.append(f"(c.filed_at, c.complaint_id) < (${len(arguments) - 1}, ${len(arguments)})")
    arguments.append(min(limit, MOST_LISTED))
    rows = await pool.fetch(
        "select c.complaint_id, c.stage, c.community, c.grid, c.category, c.departments, c.escalation_level, "
        "c.watched_deadline, c.filed_at, c.flagged "
        "from complaints c left join gateway_filings f using (complaint_id) "
        "left join api_keys k on k.key_id = f.key_id "
        f"where {' and '.join(clauses) or 'true'} "
        f"order by c.filed_at desc, c.complaint_id desc limit ${len(arguments)}",
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
            departments=sorted(row["departments"]),
            escalation_level=row["escalation_level"],
            next_deadline=row["watched_deadline"],
            overdue=row["watched_deadline"] is not None and row["watched_deadline"] < now,
            filed_at=row["filed_at"],
            running=row["stage"] != "closed",
            flagged=row["flagged"],
        )
        for row in rows
    ]
