"""How the gateway answers when it says no: one exception, two wire formats.

The JSON API answers ``{"field": ..., "reason": ...}`` (the domain's ``CommandRejected`` shape); Open311
paths answer the GeoReport v2 error format, ``[{"code": <HTTP status>, "description": ...}]``. Bad input is
always a 4xx: 401 no or bad key, 403 the key may not do this, 404 no such case, 409 the case refuses the
command, 422 the request does not validate. A 5xx means the servers behind the gateway did not answer.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from schemas.errors import CommandRejected
from whistle.client import CaseNotFound
from whistle.logging import get_logger

OPEN311_PREFIX = "/open311/"


class ApiError(Exception):
    """A refusal with its HTTP status, the field it concerns and the reason in words."""

    def __init__(self, status: int, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.status = status
        self.field = field
        self.reason = reason


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


def _respond(request: Request, status: int, field: str, reason: str) -> Response:
    if request.url.path.startswith(OPEN311_PREFIX):
        description = f"{field}: {reason}" if field else reason
        if request.url.path.endswith(".xml"):
            from gateway.open311_xml import xml_errors  # here: open311_xml imports this module


            return xml_errors(status, description)
        return JSONResponse([{"code": status, "description": description}], status_code=status)
    return JSONResponse({"field": field, "reason": reason}, status_code=status)


def install_error_handlers(app: FastAPI) -> None:
    """Every refusal in its path's format; validation failures of the JSON API are 422, of Open311 400."""

    async def api_error(request: Request, error: Exception) -> Response:
        assert isinstance(error, ApiError)
        return _respond(request, error.status, error.field, error.reason)

    async def rejected(request: Request, error: Exception) -> Response:
        assert isinstance(error, CommandRejected)
        return _respond(request, 409, error.field, error.reason)

    async def not_found(request: Request, error: Exception) -> Response:
        assert isinstance(error, CaseNotFound)
        return _respond(request, 404, "complaint_id", f"no case {error.complaint_id!r}")

    async def invalid(request: Request, error: Exception) -> Response:
        assert isinstance(error, RequestValidationError | ValidationError)
        field, reason = first_problem(list(error.errors()))
        status = 400 if request.url.path.startswith(OPEN311_PREFIX) else 422
        return _respond(request, status, field, reason)

    async def http_error(request: Request, error: Exception) -> Response:
        assert isinstance(error, StarletteHTTPException)
        return _respond(request, error.status_code, "request", str(error.detail))

    async def unexpected(request: Request, error: Exception) -> Response:
        # A bug or an outage, never bad input: logged with its traceback, answered without one.
        get_logger().exception("gateway error", path=request.url.path, error=type(error).__name__)
        return _respond(request, 500, "server", "an unexpected error; the gateway's log has the details")

    app.add_exception_handler(ApiError, api_error)
    app.add_exception_handler(CommandRejected, rejected)
    app.add_exception_handler(CaseNotFound, not_found)
    app.add_exception_handler(RequestValidationError, invalid)
    app.add_exception_handler(ValidationError, invalid)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(Exception, unexpected)


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody, "description": "No API key, or not a live one"},
    403: {"model": ErrorBody, "description": "The key may not do this"},
    404: {"model": ErrorBody, "description": "No such case"},
    409: {"model": ErrorBody, "description": "The case refuses the command (the decider's field and reason)"},
    422: {"model": ErrorBody, "description": "The request does not validate"},
}
OPEN311_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"model": list[Open311Error], "description": "A required argument is missing or invalid"},
    403: {"model": list[Open311Error], "description": "api_key missing, invalid, or not allowed to file here"},
    404: {"model": list[Open311Error], "description": "No such service or service request"},
}
