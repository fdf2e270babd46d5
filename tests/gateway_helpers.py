"""Gateway test helpers: the app served for real on a free loopback port, next to a worker, with keys.

The server runs as a task in the test's own event loop (the Temporal client and the pool live there), so a
client that blocks (schemathesis, a browser) must run in a thread.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from temporalio.client import Client

from activities.event_store import Pool
from activities.photo_store import PhotoStore
from gateway.app import create_app
from gateway.context import Gateway
from gateway.guard import Throttle
from gateway.keys import create_key
from tests.helpers import TestClient, new_intake, running_worker
from tests.ports import free_port
from whistle.settings import DATA_DIR


@dataclass
class Served:
    """A running gateway: its base URL, the SDK client behind it, and keys made on demand."""

    url: str
    client: TestClient
    pool: Pool
    keys: dict[tuple[str, str], str] = field(default_factory=dict)

    async def key(self, role: str, subject: str, *, organisation: str | None = None) -> str:
        """A live key for ``role``/``subject`` (one per pair, made on first use); operators and integrators belong
        to ``organisation`` (default: the 12345 hotline for operators, themselves for integrators)."""
        if role == "operator":
            organisation = organisation or HOTLINE
        if (role, subject) not in self.keys:
            _, self.keys[role, subject] = await create_key(
                self.pool, self.client.directory, role, subject, organisation=organisation
            )
        return self.keys[role, subject]


HOTLINE = "hotline-12345"
"""The organisation operator keys belong to in these tests."""
UNTHROTTLED = Throttle(per_address="1000000/minute", per_key="1000000/minute")
"""Tests send hundreds of requests a minute from one address; the budgets are tested on their own."""


@asynccontextmanager
async def serving(
    temporal: Client,
    pool: Pool,
    *,
    policy: Path = DATA_DIR / "policy.yaml",
    open311_community: str | None = None,
    throttle: Throttle = UNTHROTTLED,
    photos: PhotoStore | None = None,
) -> AsyncIterator[Served]:
    """A worker on a fresh task queue and the gateway app in front of it, on ``http://127.0.0.1:<port>``; the SDK
    client behind it keeps photos in ``photos``."""
    async with running_worker(temporal, pool, policy=policy, photos=photos) as worker_client:
        client = worker_client  # with the database, as `whistle serve` has it: submit goes through the registry
        gateway = Gateway(client, pool, open311_community=open311_community, timeout=20.0, throttle=throttle)
        async with serving_app(gateway) as url:
            yield Served(url, worker_client, pool)


@asynccontextmanager
async def serving_app(gateway: Gateway) -> AsyncIterator[str]:
    """The gateway app for ``gateway`` served on a free loopback port; yields its base URL."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(gateway), host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


def intake_json(**overrides: Any) -> dict[str, Any]:
    return new_intake(**overrides).model_dump(mode="json", exclude_none=True)


def resident_body(**overrides: Any) -> dict[str, Any]:
    """What a resident's app sends: no complaint id, source, urgency or time (the server decides those)."""
    body = intake_json(**overrides)
    for decided_by_the_server in ("complaint_id", "source", "urgency", "reported_at"):
        body.pop(decided_by_the_server, None)
    return body


async def filed_count(pool: Pool) -> tuple[int, int, int]:
    counts = await pool.fetchrow(
        "select (select count(*) from filings) as filings, (select count(*) from gateway_filings) as gateway,"
        " (select count(*) from personal_data) as people"
    )
    assert counts is not None
    return counts["filings"], counts["gateway"], counts["people"]


async def post(http: httpx.AsyncClient, key: str, path: str, body: Any, **headers: str) -> httpx.Response:
    return await http.post(path, json=body, headers={"X-API-Key": key, **headers})
