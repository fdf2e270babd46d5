"""Open, overdue and escalated cases per grid (网格): what the dashboard's map colours, from the ``complaints`` read
model.

A case is open until it is closed or merged into another (工单合并: its primary carries it). Escalated: held above
the community now (escalation level 1 or 2). Overdue means what the lists' ``overdue`` filter means: the case's
watched deadline (``CaseState.watched_deadline``: the earliest missed deadline whose stage has not moved on, else
the next one) is past: the read model keeps it as a column (``watched_deadline``), which the list filters on too,
so the map and the overdue list cannot disagree, and the count is one grouped query.

The caller narrows the cases to what it may see (``reach``, as ``gateway.access.reach`` writes it).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from activities.duplicates import Reach
from activities.event_store import Pool
from schemas.common import Code, Model


class GridCount(Model):
    """One grid's open cases, and how many of them are overdue and escalated."""

    community: Code
    grid: Code
    open: int
    overdue: int
    escalated: int


_OPEN = "c.stage not in ('closed', 'merged') and not c.merged"

_COUNTS = """
select c.community, c.grid,
       count(*) as open,
       count(*) filter (where c.escalation_level > 0) as escalated,
       count(*) filter (where c.watched_deadline < $1) as overdue
from complaints c
left join gateway_filings f using (complaint_id)
left join api_keys k on k.key_id = f.key_id
where {open} and ({reach})
group by c.community, c.grid
order by c.community, c.grid
"""


async def count_by_grid(pool: Pool, *, now: datetime, reach: Reach | None = None) -> list[GridCount]:
    """Every grid holding an open case within ``reach``, by community and grid code; grids with none are absent."""
    arguments: list[Any] = [now]
    condition = reach(arguments) if reach is not None else "true"
    rows = await pool.fetch(_COUNTS.format(open=_OPEN, reach=condition), *arguments)
    return [
        GridCount(community=row["community"], grid=row["grid"], open=row["open"], escalated=row["escalated"],
                  overdue=row["overdue"])
        for row in rows
    ]  # fmt: skip
