"""The map the dashboard draws (网格地图): ``GET /api/v1/map``, each grid's boundary with its open, overdue and
escalated cases.

The boundaries come from the org directory (GeoJSON, longitude first); the page projects them into an inline SVG
itself, so no tile server or anything else outside the gateway is asked. The counts come from the read model
(``WhistleClient.grid_counts``) narrowed to what the key may read, as its lists are (``access.reach``): a
community's people see their own communities' grids, a department the cases that summoned it, an operator or
integrator what their organisation filed, a supervisor everything. A resident's key reads no map, as it reads no
ranking.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from activities.grid_counts import GridCount
from gateway import access
from gateway.context import GatewayDep, PrincipalDep
from gateway.errors import ERROR_RESPONSES
from gateway.keys import Principal
from schemas.org import Boundary, OrgDirectory

router = APIRouter(prefix="/api/v1", tags=["dashboard"], responses=ERROR_RESPONSES)


class GridOnMap(BaseModel):
    """One grid as the map shows it. ``boundary`` is null for a grid drawn without one (it is listed, not drawn)."""

    community: str
    community_name: str
    grid: str
    name: str
    boundary: Boundary | None
    open: int = Field(description="Open cases (在办): neither closed nor merged into another.")
    overdue: int = Field(description="Open cases past their watched deadline (超期), as the overdue list has them.")
    escalated: int = Field(description="Open cases held by a first or street secretary (已升级).")


class GridMap(BaseModel):
    """The district's grids within the key's view, with the counts of the cases the key may read."""

    district: str
    generated_at: datetime
    grids: list[GridOnMap]


@router.get("/map", response_model=GridMap, summary="Open, overdue and escalated cases per grid, with boundaries")
async def grid_map(principal: PrincipalDep, gateway: GatewayDep) -> GridMap:
    """Every grid of the district (a community's keys: of their own communities) with its GeoJSON boundary and
    its open (在办), overdue (超期) and escalated (已升级) cases among those the key may read. Counted from the read
    model, which trails a case's history by a moment."""
    if principal.role == "resident":
        raise access.forbid("a resident key does not read the map")

    def within_reach(arguments: list[Any]) -> str:
        return access.reach(principal, arguments)

    now = datetime.now(UTC)
    counts = await gateway.ask(gateway.client.grid_counts(reach=within_reach, now=now))
    grids = on_map(gateway.directory, principal, counts)
    return GridMap(district=gateway.directory.district, generated_at=now, grids=grids)


def on_map(directory: OrgDirectory, principal: Principal, counts: list[GridCount]) -> list[GridOnMap]:
    """The directory's grids the key looks at, in its order, with their counts; a grid that holds cases but is no
    longer in the directory comes last, without a boundary, so the counts still add up."""
    counted = {(count.community, count.grid): count for count in counts}
    grids: list[GridOnMap] = []
    names = {community.code: community.name for community in directory.communities}
    for community in directory.communities:
        if principal.role in access.PLACE_ROLES and community.code not in principal.communities:
            continue
        for grid in community.grids:
            count = counted.pop((community.code, grid.code), None)
            grids.append(GridOnMap(
                community=community.code, community_name=community.name, grid=grid.code, name=grid.name,
                boundary=grid.boundary, open=count.open if count else 0, overdue=count.overdue if count else 0,
                escalated=count.escalated if count else 0,
            ))  # fmt: skip
    for count in counted.values():
        grids.append(GridOnMap(
            community=count.community, community_name=names.get(count.community, count.community), grid=count.grid,
            name=count.grid, boundary=None, open=count.open, overdue=count.overdue, escalated=count.escalated,
        ))  # fmt: skip
    return grids
