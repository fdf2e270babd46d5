"""Spreadsheet exports over HTTP: ``GET /api/v1/exports/reports/{by}?format=xlsx|csv`` (the ranking, 红黑榜) and
``GET /api/v1/exports/complaints?...&format=xlsx|csv`` (the case list, the filters of ``GET /complaints``).

Each calls the JSON route's own function, so who may read what (a resident no ranking, a department its own
cases, a community its community, ...) is decided in one place; this module only renders the answer with
``whistle.spreadsheet`` and names the file.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Response

from gateway import api
from gateway.context import GatewayDep, PrincipalDep
from gateway.errors import ERROR_RESPONSES
from schemas.common import Code
from schemas.rates import ReportGroupBy
from schemas.state import Stage
from whistle.exports import case_sheet, report_sheets
from whistle.spreadsheet import MEDIA_TYPES, ExportFormat, render

router = APIRouter(prefix="/api/v1/exports", tags=["exports"], responses=ERROR_RESPONSES)

_FILE_RESPONSES: dict[int | str, dict[str, object]] = {
    200: {
        "description": "The spreadsheet, as an attachment (xlsx: one sheet per table; csv: UTF-8 with a BOM).",
        "content": {media: {"schema": {"type": "string", "format": "binary"}} for media in MEDIA_TYPES.values()},
    }
}

FormatQuery = Annotated[ExportFormat, Query(alias="format", description="xlsx (Excel) or csv.")]


def _attachment(data: bytes, fmt: ExportFormat, stem: str) -> Response:
    """The file with its media type, named for the day it was taken (ASCII, so every client keeps the name)."""
    name = f"{stem}-{datetime.now(UTC):%Y%m%d}.{fmt}"
    return Response(
        content=data,
        media_type=MEDIA_TYPES[fmt],
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get(
    "/reports/{by}", response_class=Response, responses=_FILE_RESPONSES, summary="The ranking as a spreadsheet"
)
async def export_report(
    by: ReportGroupBy, fmt: FormatQuery, principal: PrincipalDep, gateway: GatewayDep, since: date | None = None
) -> Response:
    """``GET /reports/{by}`` as xlsx or csv, with Chinese headers; the same keys may read it."""
    ranking = await api.report(by, principal, gateway, since)
    return _attachment(render(report_sheets([ranking]), fmt), fmt, f"report-{by}")


@router.get("/complaints", response_class=Response, responses=_FILE_RESPONSES, summary="Cases as a spreadsheet")
async def export_cases(
    fmt: FormatQuery,
    principal: PrincipalDep,
    gateway: GatewayDep,
    stage: Stage | None = None,
    community: Code | None = None,
    department: Code | None = None,
    category: Code | None = None,
    escalated: bool = False,
    overdue: bool = False,
    flagged: bool = False,
    limit: Annotated[int, Query(ge=1, le=api.PAGE_LIMIT)] = api.PAGE_LIMIT,
    grid: Code | None = None,
) -> Response:
    """``GET /complaints`` as xlsx or csv: the same filters, the same cases a key may see, codes shown by name."""
    found = await api.list_cases(
        principal, gateway, stage=stage, community=community, department=department, category=category,
        escalated=escalated, overdue=overdue, flagged=flagged, limit=limit, grid=grid,
    )  # fmt: skip
    sheet = case_sheet(found, gateway.client.directory)
    return _attachment(render([sheet], fmt), fmt, "complaints")
