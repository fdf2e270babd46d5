"""What every route needs: the SDK client, the key store's pool, and the caller's key as a ``Principal``."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader
from temporalio.service import RPCError

from activities.event_store import Pool
from gateway.errors import DATABASE_AWAY, TEMPORAL_AWAY, ApiError, unavailable
from gateway.guard import Throttle
from gateway.keys import Principal, authenticate
from gateway.scope import CaseScope, filed
from schemas.org import OrgDirectory
from whistle.client import CasePlacement, WhistleClient

T = TypeVar("T")


@dataclass(frozen=True)
class Gateway:
    """The gateway's dependencies. ``open311_community``/``open311_grid`` place Open311 requests that name
    no community (see ``gateway.open311``); ``open311_jurisdiction`` is the one ``jurisdiction_id`` Open311 serves
    (the district's name unless set, ``gateway.open311_params``); ``timeout`` bounds every wait on a worker;
    ``check_timeout`` every question asked before a command or a read reaches a case (its scope, the servers'
    health), so with PostgreSQL or Temporal away the answer is a 503 within it rather than a hang."""

    client: WhistleClient
    pool: Pool
    open311_community: str | None = None
    open311_grid: str | None = None
    open311_jurisdiction: str | None = None
    timeout: float = 30.0
    check_timeout: float = 1.5
    throttle: Throttle = field(default_factory=Throttle)

    @property
    def directory(self) -> OrgDirectory:
        return self.client.directory

    @property
    def jurisdiction(self) -> str:
        """The ``jurisdiction_id`` Open311 serves: the one configured, else the org directory's district."""
        return self.open311_jurisdiction or self.directory.district

    async def ask(self, question: Awaitable[T]) -> T:
        """Await an SDK call: 504 when it has not ended within ``timeout`` (no worker answered), 503 when the
        Temporal server is away. What the call itself raises passes on, so a PostgreSQL timeout or outage on its
        way (a filing's registry) is answered as the database's (``gateway.errors``), not blamed on a worker."""
        task = asyncio.ensure_future(question)
        done, _ = await asyncio.wait({task}, timeout=self.timeout)
        if not done:
            task.cancel()
            raise ApiError(504, "worker", "no worker answered in time; the command may still be applied")
        try:
            return task.result()
        except RPCError as error:
            if error.status in TEMPORAL_AWAY:
                raise unavailable("temporal", f"the Temporal server did not answer ({error.message})") from None
            raise

    async def ready(self) -> None:
        """503 unless the Temporal server answers its health check within ``check_timeout``: asked before a filing,
        whose first steps are PostgreSQL's, so an outage of Temporal refuses it at once rather than after them."""
        try:
            healthy = await asyncio.wait_for(
                self.client.temporal.service_client.check_health(timeout=timedelta(seconds=self.check_timeout)),
                self.check_timeout,
            )
        except (TimeoutError, RPCError):
            healthy = False
        if not healthy:
            raise unavailable("temporal", "the Temporal server did not answer")

    async def scope(self, complaint_id: str) -> CaseScope:
        """What the access rules need of a case (``gateway.scope``), from Temporal's record and PostgreSQL at once,
        each within ``check_timeout``: 503 naming the server that did not answer, ``CaseNotFound`` for no case."""
        placement, filing = await asyncio.gather(
            self._placement(complaint_id), self._filed(complaint_id), return_exceptions=True
        )
        away = [result for result in (filing, placement) if isinstance(result, ApiError)]
        for result in (*away, placement, filing):
            if isinstance(result, BaseException):
                raise result
        assert isinstance(placement, CasePlacement) and isinstance(filing, tuple)
        owner, organisation = filing
        return CaseScope(complaint_id, placement.community, placement.departments, owner, organisation)

    async def _placement(self, complaint_id: str) -> CasePlacement:
        """Temporal's record of the case (its read model's, past retention): a Temporal call and a PostgreSQL one
        each bounded by ``check_timeout`` and answered as that server's 503; the whole given a moment more."""
        seconds = timedelta(seconds=self.check_timeout)
        try:
            return await within(
                self.client.placement(complaint_id, rpc_timeout=seconds, db_timeout=self.check_timeout),
                self.check_timeout + PLACEMENT_MARGIN,
            )
        except RPCError as error:
            if error.status in TEMPORAL_AWAY:
                raise unavailable("temporal", "the Temporal server did not answer") from None
            raise
        except NoAnswer:  # neither call failed on its own: the describe hung past its deadline
            raise unavailable("temporal", "the Temporal server did not answer in time") from None
        except DATABASE_AWAY:
            raise unavailable("database", "PostgreSQL did not answer in time") from None

    async def _filed(self, complaint_id: str) -> tuple[str | None, str | None]:
        return await self.checked(filed(self.pool, complaint_id, self.check_timeout))

    async def checked(self, question: Awaitable[T]) -> T:
        """A PostgreSQL question asked before anything is done (whose key, whose case, the public list): 503 when
        it is not answered within ``check_timeout``, connections included."""
        try:
            return await within(question, self.check_timeout)
        except DATABASE_AWAY:  # NoAnswer is a TimeoutError
            raise unavailable("database", "PostgreSQL did not answer in time") from None

    async def principal(self, key: str) -> Principal | None:
        """The live key's principal (None for a malformed, unknown or revoked key), its budget spent by one."""
        principal = await self.checked(authenticate(self.pool, self.directory, key))
        if principal is not None:
            self.throttle.check_key(principal.key_id)
        return principal


PLACEMENT_MARGIN = 0.25
"""How much longer than its two calls' own deadlines a case's placement may take, so theirs fire first."""


class NoAnswer(TimeoutError):
    """``within`` gave up waiting (as opposed to a timeout the question raised itself)."""


async def within(question: Awaitable[T], seconds: float) -> T:
    """``question``'s answer, or ``NoAnswer`` after ``seconds`` — then, not when the question has wound down.

    A cancelled asyncpg statement on a connection whose server dropped off waits for the server to confirm the
    cancel, up to the pool's command timeout (ten seconds, not two); so the question is left to end on its own,
    bounded by that timeout, and the caller is answered now."""
    task = asyncio.ensure_future(question)
    try:
        return await asyncio.wait_for(asyncio.shield(task), seconds)
    except TimeoutError:
        if task.done():  # the question's own timeout
            raise
        task.add_done_callback(_forget)
        raise NoAnswer(f"no answer within {seconds} s") from None


def _forget(task: asyncio.Future[Any]) -> None:
    if not task.cancelled():
        task.exception()  # retrieved, so asyncio does not log it as never retrieved


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
    principal = await gateway_of(request).principal(key)
    if principal is None:
        raise ApiError(401, "api_key", "not a live key")
    return principal


GatewayDep = Annotated[Gateway, Depends(gateway_of)]
PrincipalDep = Annotated[Principal, Depends(require_principal)]
