"""A fresh PostgreSQL database for a test session, on a server the tests may also stop and start.

With ``DATABASE_URL`` set, a uniquely named database is created on that server and dropped at the end.
Otherwise a pgserver PostgreSQL is started in a temporary directory (never under ``.whistle/``) and
removed at the end. Either way tests get a URL asyncpg accepts.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import pytest

from whistle.devstack import ensure_database, start_postgres, stop_postgres


@dataclass(frozen=True)
class TestDatabase:
    """The database's URL, and the data directory of its server when the tests own that server."""

    __test__ = False  # a helper, not a test class for pytest to collect

    url: str
    pgdata: Path | None

    async def stop_postgres(self) -> None:
        """Stop the whole server, as an outage would; the URL stays valid for ``start_postgres``."""
        await asyncio.to_thread(stop_postgres, self._owned_pgdata())

    async def start_postgres(self) -> None:
        """Start the server again on the same data (and the same socket, so the same URL)."""
        await asyncio.to_thread(start_postgres, self._owned_pgdata())

    def _owned_pgdata(self) -> Path:
        if self.pgdata is None:
            pytest.skip("DATABASE_URL points at a server these tests do not own and must not stop")
        return self.pgdata


@asynccontextmanager
async def database_beside(database: TestDatabase, prefix: str) -> AsyncIterator[TestDatabase]:
    """Yield a new empty database on ``database``'s server, named ``prefix`` and a random suffix; drop it after."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    url = await ensure_database(database.url, name)
    try:
        yield TestDatabase(url, database.pgdata)
    finally:
        admin = await asyncpg.connect(database.url)
        try:
            await admin.execute(f'drop database if exists "{name}" with (force)')
        finally:
            await admin.close()


@asynccontextmanager
async def fresh_database() -> AsyncIterator[TestDatabase]:
    """Yield a new empty database; drop it (or the whole temporary server) afterwards."""
    name = f"whistle_test_{uuid.uuid4().hex[:12]}"
    server_url = os.environ.get("DATABASE_URL")
    if server_url is not None:
        async with database_beside(TestDatabase(server_url, None), "whistle_test") as database:
            yield database
        return

    scratch = Path(tempfile.mkdtemp(prefix="whistle-pg-"))
    pgdata = scratch / "pgdata"
    try:
        admin_url = await asyncio.to_thread(start_postgres, pgdata)
        yield TestDatabase(await ensure_database(admin_url, name), pgdata)
    finally:
        await asyncio.to_thread(stop_postgres, pgdata)
        shutil.rmtree(scratch, ignore_errors=True)
