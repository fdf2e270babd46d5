"""The gateway fixtures most gateway test modules share (a plugin of ``conftest.py``): each module gets its own
gateway and worker (``served``, module-scoped), and each test an HTTP client for it (``http``). A module that
needs another policy, a default Open311 community or another base URL defines its own fixture of the same name.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from activities.event_store import Pool
from tests.gateway_helpers import Served, serving


@pytest.fixture(scope="module")
async def served(dev_env: WorkflowEnvironment, pool: Pool) -> AsyncIterator[Served]:
    async with serving(dev_env.client, pool) as running:
        yield running


@pytest.fixture
async def http(served: Served) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=served.url, timeout=30) as client:
        yield client
