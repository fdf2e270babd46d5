"""How the gateway answers when it says no: one exception, two wire formats.

The JSON API answers ``{"field": ..., "reason": ...}`` (the domain's ``CommandRejected`` shape); Open311
paths answer the GeoReport v2 error format, ``[{"code": <HTTP status>, "description": ...}]``. Bad input is
always a 4xx: 401 no or bad key, 403 the key may not do this, 404 no such case (or none of the key's), 409 the
case refuses the command, 413 the body is too large, 422 the request does not validate, 429 too many requests
(``Retry-After`` says when to try again). A 5xx means the servers behind the gateway did not answer: 503 with
``Retry-After`` while PostgreSQL or Temporal is away, 504 when no worker answered in time.
"""

from __future__ import annotations

from typing import Any

import asyncpg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from temporalio.service import RPCError, RPCStatusCode

from activities.log import get_logger
from gateway.xml_documents import xml_errors
from schemas.errors import CommandRejected
from whistle.client import CaseNotFound

OPEN311_PREFIX = "/open311/"


RETRY_AFTER_SECONDS = 5
"""What a 503 asks the caller to wait before trying again: about the time a server restart takes."""


class ApiError(Exception):
    """A refusal with its HTTP status, the field it concerns and the reason in words; ``retry_after`` (seconds)
    becomes the ``Retry-After`` header of a 429 or 503."""

    def __init__(self, status: int, field: str, reason: str, *, retry_after: int | None = None) -> None:
        super().__init__(f"{field}: {reason}")
        self.status = status
        self.field = field
        self.reason = reason
        self.retry_after = retry_after


def not_found(complaint_id: str) -> ApiError:
    """The one answer for a case that does not exist and a case that is not the caller's."""
    return ApiError(404, "complaint_id", f"no case {complaint_id!r}")


def unavailable(server: str, detail: str) -> ApiError:
    """503: ``server`` (``database`` or ``temporal``) did not answer; nothing was done, try again shortly."""
    return ApiError(503, server, f"{detail}; nothing was done, try again shortly", retry_after=RETRY_AFTER_SECONDS)


TEMPORAL_AWAY = {
    RPCStatusCode.UNAVAILABLE, RPCStatusCode.DEADLINE_EXCEEDED, RPCStatusCode.CANCELLED,
    RPCStatusCode.RESOURCE_EXHAUSTED,
}  # fmt: skip
"""RPC statuses that mean the Temporal server is away (or shedding load) rather than refusing the call."""

DATABASE_AWAY: tuple[type[Exception], ...] = (
    OSError,  # refused, reset, unreachable, a name that does not resolve; TimeoutError (a command_timeout) too
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.OperatorInterventionError,  # shutting down, crashed, starting up, the statement cancelled
    asyncpg.InsufficientResourcesError,  # too many connections, disk full
)
"""What PostgreSQL raises when it is away or cannot take the question, as opposed to refusing it."""


class ErrorBody(BaseModel):
    """The JSON API's error: which field and why."""

    field: str
    reason: str


class Open311Error(BaseModel):
    """One GeoReport v2 error: the HTTP status and a description."""

    code: int
    description: str


def first_problem(errors: list[Any]) -> tuple[str, str]:
    """The first pydantic problem as ``(field, reason)``; request locations like ``body`` are dropped."""
    if not errors:
        return "request", "invalid"
    first = errors[0]
    location = [str(part) for part in first.get("loc", ()) if part not in ("body", "query", "path", "form", "header")]
    reason = str(first.get("msg", "invalid")).removeprefix("Value error, ")
    if len(errors) > 1:
        reason += f" (and {len(errors) - 1} more)"
    return ".".join(location) or "request", reason


def respond(
    path: str, status: int, field: str, reason: str, *, retry_after: int | None = None
) -> Response:
    """The refusal in the format of ``path``'s surface (JSON API, Open311 JSON or XML)."""
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
    if path.startswith(OPEN311_PREFIX):
        description = f"{field}: {reason}" if field else reason
        if path.endswith(".xml"):
            response = xml_errors(status, description)
            response.headers.update(headers or {})
            return response
        return JSONResponse([{"code": status, "description": description}], status_code=status, headers=headers)
    return JSONResponse({"field": field, "reason": reason}, status_code=status, headers=headers)


def _respond(request: Request, status: int, field: str, reason: str, *, retry_after: int | None = None) -> Response:
    return respond(request.url.path, status, field, reason, retry_after=retry_after)


def install_error_handlers(app: FastAPI) -> None:
    """Every refusal in its path's format; validation failures of the JSON API are 422, of Open311 400."""

    async def api_error(request: Request, error: Exception) -> Response:
        assert isinstance(error, ApiError)
        return _respond(request, error.status, error.field, error.reason, retry_after=error.retry_after)

    async def rejected(request: Request, error: Exception) -> Response:
        assert isinstance(error, CommandRejected)
        return _respond(request, 409, error.field, error.reason)

    async def missing(request: Request, error: Exception) -> Response:
        assert isinstance(error, CaseNotFound)
        return await api_error(request, not_found(error.complaint_id))

    async def database_away(request: Request, error: Exception) -> Response:
        # Refused, reset or timed out (a command_timeout, a pool that cannot connect in time): PostgreSQL is away.
        get_logger().warning("database unavailable", path=request.url.path, error=type(error).__name__)
        return await api_error(request, unavailable("database", "PostgreSQL did not answer"))

    async def temporal_error(request: Request, error: Exception) -> Response:
        assert isinstance(error, RPCError)
        if error.status in TEMPORAL_AWAY:
            return await api_error(request, unavailable("temporal", "the Temporal server did not answer"))
        return await unexpected(request, error)

    async def invalid(request: Request, error: Exception) -> Response:
        assert isinstance(error, RequestValidationError | ValidationError)
        field, reason = first_problem(list(error.errors()))
        status = 400 if request.url.path.startswith(OPEN311_PREFIX) else 422
        return _respond(request, status, field, reason)

    async def http_error(request: Request, error: Exception) -> Response:
        assert isinstance(error, StarletteHTTPException)
        if error.status_code == 400:  # FastAPI could not decode the body at all (not UTF-8, not JSON)
            return _respond(request, 400, "body", "not a JSON document in UTF-8")
        return _respond(request, error.status_code, "request", str(error.detail))

    async def unexpected(request: Request, error: Exception) -> Response:
        # A bug or an outage, never bad input: logged with its traceback, answered without one.
        get_logger().exception("gateway error", path=request.url.path, error=type(error).__name__)
        return _respond(request, 500, "server", "an unexpected error; the gateway's log has the details")

    app.add_exception_handler(ApiError, api_error)
    app.add_exception_handler(CommandRejected, rejected)
    app.add_exception_handler(CaseNotFound, missing)
    for away in DATABASE_AWAY:
        app.add_exception_handler(away, database_away)
    app.add_exception_handler(RPCError, temporal_error)
    app.add_exception_handler(RequestValidationError, invalid)
    app.add_exception_handler(ValidationError, invalid)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(Exception, unexpected)


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody, "description": "No API key, or not a live one"},
    403: {"model": ErrorBody, "description": "The key may not do this"},
    404: {"model": ErrorBody, "description": "No such case, or not one this key reaches"},
    409: {"model": ErrorBody, "description": "The case refuses the command (the decider's field and reason)"},
    413: {"model": ErrorBody, "description": "The body is larger than this path accepts"},
    422: {"model": ErrorBody, "description": "The request does not validate"},
    429: {"model": ErrorBody, "description": "Too many requests from this key or address (see Retry-After)"},
    503: {"model": ErrorBody, "description": "PostgreSQL or Temporal is away; nothing was done (see Retry-After)"},
}
OPEN311_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"model": list[Open311Error], "description": "A required argument is missing or invalid"},
    403: {"model": list[Open311Error], "description": "api_key missing, invalid, or not allowed to file here"},
    404: {"model": list[Open311Error], "description": "No such service or service request"},
    413: {"model": list[Open311Error], "description": "The body is larger than this path accepts"},
    429: {"model": list[Open311Error], "description": "Too many requests (see Retry-After)"},
    503: {"model": list[Open311Error], "description": "A server behind the gateway is away (see Retry-After)"},
}
