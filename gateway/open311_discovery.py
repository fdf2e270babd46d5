"""Open311 Service Discovery (https://wiki.open311.org/Service_Discovery): where this GeoReport v2 endpoint is, in
which formats, and the one ``jurisdiction_id`` it serves (``gateway.open311_params``).

``GET /open311/discovery.json`` (and ``.xml``) answers without a key. ``jurisdiction_id`` is not among the
discovery document's own fields; it is added at the top so a client learns what to send before its first request.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel

from gateway.context import GatewayDep
from gateway.errors import OPEN311_RESPONSES

router = APIRouter(prefix="/open311", tags=["open311"], responses=OPEN311_RESPONSES)

CHANGESET = "2026-12-05T00:00:00Z"
"""When this endpoint's methods last changed (pagination, service definitions, updates, jurisdiction_id)."""
SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
FORMATS = ["text/xml", "application/json"]


class DiscoveryEndpoint(BaseModel):
    specification: str
    url: str
    changeset: str
    type: str
    formats: list[str]


class Discovery(BaseModel):
    changeset: str
    contact: str
    key_service: str
    jurisdiction_id: str
    endpoints: list[DiscoveryEndpoint]


@router.get("/discovery.json", response_model=Discovery, summary="GET Service Discovery")
async def discovery(http: Request, gateway: GatewayDep) -> Discovery:
    """This endpoint: the GeoReport v2 URL on this server, its formats and the jurisdiction it serves."""
    url = f"{str(http.base_url).rstrip('/')}/open311/v2"
    return Discovery(
        changeset=CHANGESET,
        contact="The district's 12345 hotline office runs this endpoint (区12345热线办公室)",
        key_service="API keys (api_key) are issued by the gateway's operators: whistle keys create",
        jurisdiction_id=gateway.jurisdiction,
        endpoints=[
            DiscoveryEndpoint(
                specification=SPECIFICATION, url=url, changeset=CHANGESET, type="production", formats=FORMATS
            )
        ],
    )
