"""Likely duplicates (工单合并, "me too"): open cases of the same category and grid filed within the policy's
``duplicate_window`` of a case and, when both have coordinates, within ``duplicate_distance_m`` of it.

Read from the ``complaints`` read model, like every list: a case filed a moment ago shows once its first events are
stored. The caller may narrow the candidates to what it may see (``reach``: a SQL condition on ``complaints c``
left-joined to ``gateway_filings f`` and ``api_keys k``, as ``gateway.access.reach`` writes one), so a suggestion
never names a case its caller could not read.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from pydantic import AwareDatetime

from activities.event_store import Pool
from schemas.common import Code, Model
from schemas.intake import Location
from schemas.state import Stage

Reach = Callable[[list[Any]], str]
"""Given the query's arguments so far, the SQL condition that limits the candidates (appending its own values)."""

EARTH_RADIUS_M = 6_371_008.8
MOST_SUGGESTED = 20


class DuplicateCandidate(Model):
    """An open case that may report the same problem: where and when, and how many reports it already carries."""

    complaint_id: str
    title: str
    stage: Stage
    community: Code
    grid: Code
    category: Code
    filed_at: AwareDatetime
    distance_m: float | None
    """Metres between the two places, when both have coordinates."""
    linked_reports: int
    """Reports already merged into it."""


def distance_m(one: Location, other: Location) -> float | None:
    """The great-circle distance in metres (haversine), or None when either place has no coordinates."""
    if one.latitude is None or one.longitude is None or other.latitude is None or other.longitude is None:
        return None
    lat1, lon1, lat2, lon2 = map(math.radians, (one.latitude, one.longitude, other.latitude, other.longitude))
    a = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(a))


_CANDIDATES = """
select c.complaint_id, c.title, c.stage, c.community, c.grid, c.category, c.filed_at,
       c.state #> '{{case,intake,location}}' as location,
       coalesce(jsonb_array_length(c.state -> 'linked_reports'), 0) as linked_reports
from complaints c
left join gateway_filings f using (complaint_id)
left join api_keys k on k.key_id = f.key_id
where c.community = $1 and c.grid = $2 and c.category = $3 and c.complaint_id <> $4
  and c.stage not in ('closed', 'merged') and coalesce(jsonb_typeof(c.state -> 'merge'), 'null') = 'null'
  and c.filed_at between $5 and $6
  and ({reach})
order by abs(extract(epoch from c.filed_at - $7::timestamptz)), c.complaint_id
limit {limit}
"""


async def find(
    pool: Pool,
    *,
    community: str,
    grid: str,
    category: str,
    location: Location,
    filed_at: datetime,
    window: timedelta,
    within_m: float,
    exclude: str = "",
    reach: Reach | None = None,
) -> list[DuplicateCandidate]:
    """The likely duplicates of a report filed at ``filed_at`` at ``location``, the closest in time first; at most
    ``MOST_SUGGESTED``."""
    arguments: list[Any] = [community, grid, category, exclude, filed_at - window, filed_at + window, filed_at]
    condition = reach(arguments) if reach is not None else "true"
    rows = await pool.fetch(_CANDIDATES.format(reach=condition, limit=MOST_SUGGESTED * 5), *arguments)
    found: list[DuplicateCandidate] = []
    for row in rows:
        place = row["location"] or {}  # read as it is stored: an erased case's address no longer validates
        latitude, longitude = place.get("latitude"), place.get("longitude")
        distance = distance_m(location, Location.model_construct(address="", latitude=latitude, longitude=longitude))
        if distance is not None and distance > within_m:
            continue
        found.append(
            DuplicateCandidate(
                complaint_id=row["complaint_id"], title=row["title"], stage=row["stage"], community=row["community"],
                grid=row["grid"], category=row["category"], filed_at=row["filed_at"],
                distance_m=None if distance is None else round(distance, 1), linked_reports=row["linked_reports"],
            )
        )  # fmt: skip
    return found[:MOST_SUGGESTED]
