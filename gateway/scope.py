"""Whose case it is: what the gateway's access rules need to know of a case, found without its workflow.

The place and the summoned departments come from Temporal's record of the execution (``WhistleClient.placement``:
search attributes, no worker, no query); who filed it through the gateway, for which resident and for which
organisation, from PostgreSQL. Both are asked at once, each within ``Gateway.check_timeout``, so a refusal (or a
503 when a server is away) never waits on a worker.
"""

from __future__ import annotations

from dataclasses import dataclass

from activities.event_store import Pool


@dataclass(frozen=True)
class CaseScope:
    """A case as its access rules see it. ``owner``: the resident who may act on it in person (as filed through the
    gateway, else as its kept reporter names them); ``organisation``: the hotline or app whose key filed it."""

    complaint_id: str
    community: str
    departments: frozenset[str]
    owner: str | None
    organisation: str | None


_FILED = """
select coalesce(
           (select resident_id from gateway_filings where complaint_id = $1),
           whistle_resident_of($1)) as owner,
       (select k.organisation from gateway_filings f join api_keys k using (key_id) where f.complaint_id = $1)
           as organisation
"""


async def filed(pool: Pool, complaint_id: str, within: float) -> tuple[str | None, str | None]:
    """``(owner, organisation)`` of a case, both None for a case filed outside the gateway by no resident."""
    row = await pool.fetchrow(_FILED, complaint_id, timeout=within)
    assert row is not None
    return row["owner"], row["organisation"]
