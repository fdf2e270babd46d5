"""The supervisors' dashboard (督办看板): one page, its script, and the two reads only it needs.

The page is static HTML and a small script; it asks the JSON API with the supervisor's key (given once in
the page, kept in the tab's session storage, or passed as ``#key=...``) for the overdue and escalated lists,
the rankings, the hotspots flagged for proactive governance (``static/hotspots.js``) and a case's timeline, and
draws the rankings over time from the daily report snapshots as an inline SVG chart. Nothing is loaded from elsewhere.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import FileResponse
from pydantic import BaseModel

from gateway import access
from gateway.context import GatewayDep, PrincipalDep
from gateway.errors import ERROR_RESPONSES, ApiError
from schemas.events import EVENT_LABELS
from schemas.labels import FIELD_LABELS, VALUE_LABELS
from schemas.rates import ReportGroupBy

PAGES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"

router = APIRouter(responses=ERROR_RESPONSES)


class SnapshotPoint(BaseModel):
    """One group's standing in one day's snapshot."""

    day: date
    group: str
    name: str
    score: float | None
    rank: int | None
    satisfaction_rate: float | None


@router.get("/dashboard", include_in_schema=False)
async def page() -> FileResponse:
    return FileResponse(PAGES / "dashboard.html", media_type="text/html; charset=utf-8")


@router.get("/dashboard/static/{name}", include_in_schema=False)
async def static(name: str) -> FileResponse:
    files = {path.name: path for path in STATIC.iterdir()}
    if name not in files:
        raise ApiError(404, "file", f"no file {name!r}")
    return FileResponse(files[name])


@router.get("/api/v1/labels", tags=["dashboard"], summary="Names and labels the dashboard shows")
async def labels(principal: PrincipalDep, gateway: GatewayDep) -> dict[str, Any]:
    """Chinese labels of events, values and fields, and the directory's names for codes."""
    directory = gateway.directory
    names: dict[str, str] = {d.code: d.name for d in directory.departments}
    names |= {c.code: c.name for c in directory.categories}
    for community in directory.communities:
        names[community.code] = community.name
        names |= {g.code: g.name for g in community.grids}
        people = [community.secretary, community.first_secretary, *(w for g in community.grids for w in g.grid_workers)]
        names |= {person.id: person.name for person in people}
    return {"events": EVENT_LABELS, "values": VALUE_LABELS, "fields": FIELD_LABELS, "names": names}


@router.get(
    "/api/v1/reports/{by}/snapshots", tags=["reports"], response_model=list[SnapshotPoint],
    summary="The rankings over time, from the daily report snapshots",
)  # fmt: skip
async def snapshots(
    by: ReportGroupBy, principal: PrincipalDep, gateway: GatewayDep, days: Annotated[int, Query(ge=1, le=366)] = 30
) -> list[SnapshotPoint]:
    """Each group's score and rank in each of the last ``days`` daily snapshots, oldest first."""
    if principal.role == "resident":
        raise access.forbid("a resident key does not read rankings")
    rows = await gateway.pool.fetch(
        "select day, report from report_snapshots where by = $1 order by day desc limit $2", by, days
    )
    points: list[SnapshotPoint] = []
    for row in reversed(rows):
        for group in row["report"].get("groups", []):
            points.append(
                SnapshotPoint(
                    day=row["day"], group=group["group"], name=group.get("name", group["group"]),
                    score=group.get("score"), rank=group.get("rank"), satisfaction_rate=group.get("satisfaction_rate"),
                )
            )  # fmt: skip
    return points
