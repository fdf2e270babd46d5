"""Least privilege in PostgreSQL: the application's role runs the whole product without a grant on
``personal_data`` (only its functions), and the readers' role reads the read models and nothing personal."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import urlsplit

import asyncpg
import pytest
from temporalio.testing import WorkflowEnvironment

from activities.event_store import MIGRATIONS, Pool, apply_migrations, create_pool
from schemas.actors import Actor
from schemas.commands import EvaluateOutcome
from schemas.publication import PublishCase
from tests.domain_fixtures import RESIDENT, blow, complete, report_in, verify
from tests.helpers import new_intake, running_worker
from tests.pg import TestDatabase

LEAD = "urban_management"

pytestmark = pytest.mark.skipif(
    "DATABASE_URL" in os.environ, reason="logs in as roles it creates, which a server it does not own may refuse"
)


@asynccontextmanager
async def login(database: TestDatabase, group: str) -> AsyncIterator[str]:
    """A login role of ``group`` for the test, and the database URL that connects as it; dropped afterwards."""
    name = f"whistle_login_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(database.url)
    try:
        await admin.execute(f"create role {name} login in role {group}")
        address = urlsplit(database.url)  # the host part (empty for pgserver's socket, named in the query) stays
        host = address.netloc.rpartition("@")[2]
        yield address._replace(netloc=f"{name}@{host}").geturl()
    finally:
        await admin.execute(f"drop owned by {name}")
        await admin.execute(f"drop role {name}")
        await admin.close()


async def test_the_application_role_runs_a_case_through_the_functions_alone(
    dev_env: WorkflowEnvironment, database: TestDatabase, pool: Pool
) -> None:
    async with login(database, "whistle_app") as url:
        app_pool = await create_pool(url)
        try:
            assert await apply_migrations(app_pool) == []  # every migration applied: it needs no right to create
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await app_pool.fetch("select * from personal_data")
            async with running_worker(dev_env.client, app_pool) as client:
                complaint_id = (await client.submit(new_intake())).complaint_id  # deposit, through its function
                for command in (verify(), blow(LEAD), report_in(LEAD), complete(LEAD)):
                    await client.execute(complaint_id, command)
                resident = Actor(kind="resident", id=RESIDENT)  # matched to the case through its function
                await client.execute(complaint_id, EvaluateOutcome(actor=resident, rating="satisfied"))
                await client.temporal.get_workflow_handle(f"complaint-{complaint_id}").result()
                moderator = Actor(kind="community_secretary", id="sec-hongqi")
                public = PublishCase(actor=moderator, public_title="油烟问题", public_description="已解决。")
                assert await client.publish(complaint_id, public) is not None
                assert (await client.erase(complaint_id, by="op-12345-01", reason="居民要求")).text_redacted
            assert await pool.fetchval("select reporter from personal_data where complaint_id = $1", complaint_id) == {}
        finally:
            await app_pool.close()


async def test_the_readers_role_reads_the_read_models_and_nothing_personal(database: TestDatabase) -> None:
    async with login(database, "whistle_reader") as url:
        reader = await asyncpg.connect(url)
        try:
            await reader.fetch("select complaint_id, stage from complaints limit 1")
            await reader.fetch("select complaint_id from publications limit 1")
            for forbidden in (
                "select * from personal_data",
                "select whistle_resident_of('x')",
                "select * from filings",
                "select * from api_keys",
                "delete from events",
            ):
                with pytest.raises(asyncpg.InsufficientPrivilegeError):
                    await reader.execute(forbidden)
        finally:
            await reader.close()


async def test_the_owner_migrates_a_fresh_database_once_with_whistle_migrate(own_database: TestDatabase) -> None:
    environment = {**os.environ, "DATABASE_URL": own_database.url, "WHISTLE_LOG_FORMAT": "json"}

    async def migrate() -> list[str]:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-c", "from cli.app import main; main()", "migrate", "--json",
            env=environment, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        stdout, stderr = await process.communicate()
        assert process.returncode == 0, stderr.decode()
        applied: list[str] = json.loads(stdout)["applied"]
        return applied

    first = await migrate()
    assert first == sorted(path.name for path in MIGRATIONS.glob("*.sql"))
    assert await migrate() == []
