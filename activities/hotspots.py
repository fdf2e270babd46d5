"""Hotspots from the PostgreSQL read model: complaints counted per grid, category and month of filing (Beijing time),
merged reports left out (the problem is counted once, as the case it was merged into); ``schemas.hotspots`` ranks
them. The count reads the ``complaints_hotspots`` index alone (migration 0090).

The caller may narrow the cases counted to what it may see (``reach``: a SQL condition on ``complaints c`` left-joined
to ``gateway_filings f`` and ``api_keys k``, as ``gateway.access.reach`` writes one), so a key's figures count only
the cases it could list.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from activities.duplicates import Reach
from activities.event_store import Connection, Pool
from activities.rates import beijing_midnight
from schemas.calendar import CHINA_TIME
from schemas.hotspots import HotspotQuery, HotspotReport, PlaceMonthCount, months_from, rank_hotspots, shown
from schemas.org import OrgDirectory
from schemas.policy import HotspotRule

COUNTS = """
select c.community, c.grid, c.category,
       to_char(c.filed_at at time zone interval '+08:00', 'YYYY-MM') as month, count(*) as complaints
from complaints c {joins}
where c.filed_at >= $1 and c.filed_at <= $2
  and not c.merged
  and ({reach})
group by 1, 2, 3, 4
order by 1, 2, 3, 4
"""
REACH_JOINS = "left join gateway_filings f using (complaint_id) left join api_keys k on k.key_id = f.key_id"
"""What a key's reach may name. Left out when every case is counted: PostgreSQL drops the unused joins but still
reads each case for their key, where without them the count reads the index alone."""


async def count_by_month(
    pool: Pool | Connection, since: date, now: datetime, *, reach: Reach | None = None
) -> list[PlaceMonthCount]:
    """Complaints filed from ``since`` (Beijing midnight) until ``now`` per grid, category and month."""
    arguments: list[Any] = [beijing_midnight(since), now]
    condition = reach(arguments) if reach is not None else "true"
    joins = "" if condition == "true" else REACH_JOINS
    rows = await pool.fetch(COUNTS.format(reach=condition, joins=joins), *arguments)
    return [PlaceMonthCount(**dict(row)) for row in rows]


async def build_hotspots(
    pool: Pool | Connection,
    query: HotspotQuery,
    *,
    rule: HotspotRule,
    directory: OrgDirectory,
    now: datetime,
    reach: Reach | None = None,
) -> HotspotReport:
    """The hotspots ``query`` asks for, as the read model stands at ``now``, flagged under ``rule``."""
    today = now.astimezone(CHINA_TIME).date()
    since = query.first_day(rule, today)
    months = months_from(since, today)
    counts = await count_by_month(pool, since, now, reach=reach)
    ranked = rank_hotspots(counts, by=query.by, months=months, rule=rule, directory=directory)
    return HotspotReport(
        by=query.by, since=since, generated_at=now, rule=rule, show=query.show, months=months,
        flagged=sum(hotspot.flagged for hotspot in ranked), hotspots=shown(ranked, query.show),
    )  # fmt: skip
