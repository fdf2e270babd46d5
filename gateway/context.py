"""What every route needs: the SDK client, the key store's pool, and the caller's key as a ``Principal``."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Annotated, TypeVar

from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader
from temporalio.service import RPCError

from activities import personal_data
from activities.event_store import Pool
from gateway.errors import ApiError
from gateway.keys import Principal, authenticate
from schemas.org import OrgDirectory
from whistle.client import WhistleClient

T = TypeVar("T")


@dataclass(frozen=True)
class Gateway:
    """The gateway's dependencies. ``open311_community``/``open311_grid`` place Open311 requests that name
    no community (see ``gateway.open311``); ``timeout`` bounds every wait on a worker."""

    client: WhistleClient
    pool: Pool
    open311_community: str | None = None
    open311_grid: str | None = None
    timeout: float = 30.0

    @property
    def directory(self) -> OrgDirectory:
        return self.client.directory

    async def ask(self, question: Awaitable[T]) -> T:
        """Await an SDK call; a worker that never answers is 504, a Temporal server that refuses is 503."""
        try:
            return await asyncio.wait_for(question, self.timeout)
        except TimeoutError:
            raise ApiError(504, "worker", "no worker answered in time; the command may still be applied") from None
        except RPCError as error:
            raise ApiError(503, "temporal", f"the Temporal server did not answer: {error.message}") from None

    async def owner(self, complaint_id: str) -> str | None:
        """The resident a case belongs to: as filed through the gateway, else as its kept reporter names them."""
        owner: str | None = await self.pool.fetchval(
            "select resident_id from gateway_filings where complaint_id = $1", complaint_id
        )
        return owner if owner is not None else await personal_data.resident_of(self.pool, complaint_id)

    async def filed_by_resident(self, resident: str) -> set[str]:
        rows = await self.pool.fetch("select complaint_id from gateway_filings where resident_id = $1", resident)
        return {row["complaint_id"] for row in rows}

    async def record_filing(
        self, complaint_id: str, principal: Principal, *, account_id: str | None = None, media_url: str | None = None
    ) -> None:
        resident = principal.subject if principal.role == "resident" else None
        await self.pool.execute(
            "insert into gateway_filings (complaint_id, key_id, resident_id, account_id, media_url) "
            "values ($1, $2, $3, $4, $5) on conflict (complaint_id) do nothing",
            complaint_id,
            principal.key_id,
            resident,
            account_id,
            media_url,
        )


def gateway_of(request: Request) -> Gateway:
    gateway: Gateway = request.app.state.gateway
    return gateway


API_KEY_HEADER = APIKeyHeader(
    name="X-API-Key", auto_error=False, description="A key from `whistle keys create` (wh_<id>_<secret>)."
)


async def require_principal(request: Request, key: Annotated[str | None, Security(API_KEY_HEADER)] = None) -> Principal:
    """The caller's principal; 401 for a missing, unknown or revoked key."""
    if not key:
        raise ApiError(401, "api_key", "send an API key in the X-API-Key header")
    principal = await authenticate(gateway_of(request).pool, gateway_of(request).directory, key)
    if principal is None:
        raise ApiError(401, "api_key", "not a live key")
    return principal


GatewayDep = Annotated[Gateway, Depends(gateway_of)]
PrincipalDep = Annotated[Principal, Depends(require_principal)]
