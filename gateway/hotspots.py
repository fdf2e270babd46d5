"""Hotspots over HTTP (每月一题, 未诉先办): ``GET /api/v1/hotspots``, the figures ``whistle hotspots`` prints.

A key's figures count only the cases it may list (``access.reach`` narrows the count itself, as for likely
duplicates): a community's people their community, a department the cases it was summoned to, an operator or integrator
those its organisation filed, a resident their own, a supervisor every case. The spreadsheet is
``GET /api/v1/exports/hotspots`` (``gateway.exports``), through this same function.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query

from gateway.context import GatewayDep, PrincipalDep
from gateway.errors import ERROR_RESPONSES
from gateway.merging import within_reach
from schemas.hotspots import HotspotBy, HotspotReport, HotspotShow

router = APIRouter(prefix="/api/v1", tags=["reports"], responses=ERROR_RESPONSES)

ByQuery = Annotated[HotspotBy, Query(description="The place complaints are counted by: grid or community.")]
SinceQuery = Annotated[
    date | None,
    Query(description="Count cases filed from this day (Beijing); absent: the policy's hotspot.window_months."),
]
ShowQuery = Annotated[
    HotspotShow,
    Query(description="recurring: a month over the threshold; flagged: for proactive governance (主动治理); all."),
]


@router.get("/hotspots", response_model=HotspotReport, summary="Recurring complaints by place and month (每月一题)")
async def hotspots(
    principal: PrincipalDep,
    gateway: GatewayDep,
    by: ByQuery = "grid",
    since: SinceQuery = None,
    show: ShowQuery = "recurring",
) -> HotspotReport:
    """Complaints per place, category and month, ranked by the months over the policy's ``hotspot`` threshold and
    then the total; ``flagged`` marks those to govern before residents complain. Counts only the key's cases."""
    question = gateway.client.hotspots(by=by, since=since, show=show, reach=within_reach(principal))
    return await gateway.ask(question)
