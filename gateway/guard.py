"""What every request passes before it reaches a route: a rate limit per caller and a cap on the body.

Rates are counted with ``limits`` (moving windows, in this process's memory: each gateway replica counts its own,
so a deployment of N replicas behind one proxy allows N times the rate per address). Each address has one budget
for every request it sends, so forged or guessed keys cost the address that sends them; a live key has a budget
of its own on top, spent wherever it is used from (``Throttle.check_key``, called once the key is known). The
address is the client's as uvicorn sees it: behind a TLS-terminating proxy, start uvicorn with the proxy's address
in ``FORWARDED_ALLOW_IPS`` so it is the caller's, not the proxy's.

Bodies are refused past ``body_limit`` bytes, from ``Content-Length`` at once or while a chunked body streams in,
before FastAPI parses a byte of it. One cap serves every path; ``larger_bodies`` raises it for the paths that take
files (by path prefix): the photo upload (``gateway.photos``).
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

from limits import RateLimitItem, parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.errors import ApiError, respond

BODY_LIMIT = 64 * 1024
"""Bytes a request body may carry: ten times the largest complaint (4,000 characters of text and the rest)."""


@dataclass
class Throttle:
    """Per-address and per-key request budgets, written as ``limits`` does: ``"600/minute"``, ``"20/second"``."""

    per_address: str = "300/minute"
    per_key: str = "600/minute"
    _limiter: MovingWindowRateLimiter = field(init=False, repr=False)
    _address_rate: RateLimitItem = field(init=False, repr=False)
    _key_rate: RateLimitItem = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._limiter = MovingWindowRateLimiter(MemoryStorage())
        self._address_rate = parse(self.per_address)
        self._key_rate = parse(self.per_key)

    def check_address(self, address: str) -> None:
        self._spend(self._address_rate, "address", address)

    def check_key(self, key_id: str) -> None:
        self._spend(self._key_rate, "api_key", key_id)

    def _spend(self, rate: RateLimitItem, field_name: str, who: str) -> None:
        if self._limiter.hit(rate, field_name, who):
            return
        reset_at = self._limiter.get_window_stats(rate, field_name, who).reset_time
        retry_after = max(1, math.ceil(reset_at - time.time()))
        reason = f"more than {rate} requests; try again in {retry_after}s"
        raise ApiError(429, field_name, reason, retry_after=retry_after)


class Guard:
    """ASGI middleware: the per-address budget and the body cap, answered in the path's own error format."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        throttle: Throttle,
        body_limit: int = BODY_LIMIT,
        larger_bodies: Mapping[str, int] | None = None,
    ) -> None:
        self.app = app
        self.throttle = throttle
        self.body_limit = body_limit
        self.larger_bodies = dict(larger_bodies or {})

    def limit_for(self, path: str) -> int:
        return max([self.body_limit, *(cap for prefix, cap in self.larger_bodies.items() if path.startswith(prefix))])

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        client = scope.get("client")
        try:
            self.throttle.check_address(client[0] if client else "unknown")
        except ApiError as error:
            await respond(path, error.status, error.field, error.reason, retry_after=error.retry_after)(
                scope, receive, send
            )
            return
        limit = self.limit_for(path)
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            await self._too_large(path, limit)(scope, receive, send)
            return
        # Read the body here, at most ``limit`` bytes of it (a chunked body declares no length), and hand it on whole.
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk: bytes = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                await self._too_large(path, limit)(scope, receive, send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body: list[Message] = [{"type": "http.request", "body": b"".join(chunks), "more_body": False}]

        async def replay() -> Message:
            return body.pop() if body else await receive()

        await self.app(scope, replay, send)

    @staticmethod
    def _too_large(path: str, limit: int) -> ASGIApp:
        return respond(path, 413, "body", f"larger than {limit} bytes, the most this path accepts")
