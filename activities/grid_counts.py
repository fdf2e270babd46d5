"""Open, overdue and escalated cases per grid (网格): what the dashboard's map colours, from the ``complaints`` read
model.

A case is open until it is closed or merged into another (工单合并: its primary carries it). Escalated: held above
the community now (escalation level 1 or 2). Overdue means what the lists' ``overdue`` filter means: the case's
watched deadline (``CaseState.watched_deadline``: the earliest missed deadline whose stage has not moved on, else
the next one) is past. The read model keeps the next deadline as a column, so most of the count is one grouped
query; a case whose next deadline is still ahead may nonetheless be late on a clock that already fired (a
department that never reported in while the first secretary's window runs), and only the few cases with a lapsed
clock are read whole and asked with the fold's own property, so the map and the overdue list cannot disagree.

The caller narrows the cases to what it may see (``reach``, as ``gateway.access.reach`` writes it).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from activities.duplicates import Reach
from activities.event_store import Pool
from schemas.common import Code, Model
from schemas.state import CaseState


class GridCount(Model):
    """One grid's open cases, and how many of them are overdue and escalated."""

    community: Code
    grid: Code
    open: int
    overdue: int
    escalated: int


_OPEN = "c.stage not in ('closed', 'merged') and coalesce(jsonb_typeof(c.state -> 'merge'), 'null') = 'null'"
_FROM = """
from complaints c
left join gateway_filings f using (complaint_id)
left join api_keys k on k.key_id = f.key_id
"""

_COUNTS = f"""
select c.community, c.grid,
       count(*) as open,
       count(*) filter (where c.escalation_level > 0) as escalated,
       count(*) filter (where c.next_deadline < $1) as due_passed
{_FROM}
where {_OPEN} and ({{reach}})
group by c.community, c.grid
"""

_LAPSED = f"""
select c.community, c.grid, c.state
{_FROM}
where {_OPEN} and ({{reach}})
  and not coalesce(c.next_deadline < $1, false)
  and jsonb_path_exists(c.state, '$.** ? (@.lapsed == true)')
"""


async def count_by_grid(pool: Pool, *, now: datetime, reach: Reach | None = None) -> list[GridCount]:
    """Every grid holding an open case within ``reach``, by community and grid code; grids with none are absent."""
    arguments: list[Any] = [now]
    condition = reach(arguments) if reach is not None else "true"
    counted = await pool.fetch(_COUNTS.format(reach=condition), *arguments)
    late: dict[tuple[str, str], int] = {}
    for row in await pool.fetch(_LAPSED.format(reach=condition), *arguments):
        watched = CaseState.model_validate(row["state"]).watched_deadline
        if watched is not None and watched < now:
            where = (row["community"], row["grid"])
            late[where] = late.get(where, 0) + 1
    return [
        GridCount(
            community=row["community"], grid=row["grid"], open=row["open"], escalated=row["escalated"],
            overdue=row["due_passed"] + late.get((row["community"], row["grid"]), 0),
        )
        for row in sorted(counted, key=lambda row: (row["community"], row["grid"]))
    ]  # fmt: skip
