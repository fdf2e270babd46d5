"""A PostgreSQL outage costs a case's history nothing, keeps commands answered, and the store catches up after.

The store activity's retries are the server's, so while the database is down a case holds one pending
activity and its history stands still; the commands sent meanwhile are answered from the workflow as usual.
(Before, the retry rounds were workflow timers: 14 events became 46 in the first 30 s of an outage.)
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
from temporalio.testing import WorkflowEnvironment

from activities.event_store import apply_migrations, create_pool, load_events
from schemas.commands import PersonCommand
from tests.domain_fixtures import blow, report_in, verify
from tests.helpers import TestClient, history_event_types, new_intake, running_worker, wait_until
from tests.pg import TestDatabase, fresh_database
from whistle.client import workflow_id_for
from workflows.complaint import ComplaintWorkflow

LEAD, SECOND = "urban_management", "market_regulation"
OUTAGE_GROWTH_LIMIT = 10
"""History events a case may gain from an outage, beyond its commands' own, however long the outage lasts."""
EVENTS_PER_COMMAND = 5
"""A command's own history events: its workflow task (3) and its Update accepted and completed (2)."""


@pytest.fixture
async def own_database() -> AsyncIterator[TestDatabase]:
    """A PostgreSQL server of this test's own, so stopping it troubles no other test's pool."""
    async with fresh_database() as database:
        if database.pgdata is None:
            pytest.skip("DATABASE_URL points at a server these tests do not own and must not stop")
        yield database


async def history_length(client: TestClient, complaint_id: str) -> int:
    return len(await history_event_types(client, complaint_id))


async def test_outage_adds_nothing_to_the_history_and_the_store_catches_up(
    dev_env: WorkflowEnvironment, own_database: TestDatabase
) -> None:
    pool = await create_pool(own_database.url)
    await apply_migrations(pool)
    try:
        async with running_worker(dev_env.client, pool) as client:
            complaint_id = (await client.submit(new_intake())).complaint_id
            await client.execute(complaint_id, verify())

            async def stored_all() -> bool:
                """Every event the case has decided is stored (some may not be in a store activity's input yet)."""
                decided = (
                    await client.temporal.get_workflow_handle(workflow_id_for(complaint_id)).query(
                        ComplaintWorkflow.state
                    )
                ).event_count
                return len(await load_events(pool, complaint_id)) == decided

            await wait_until(stored_all)
            await own_database.stop_postgres()
            before = await history_length(client, complaint_id)

            commands: list[PersonCommand] = [blow(LEAD, SECOND, lead=LEAD), report_in(LEAD), report_in(SECOND)]
            slowest = 0.0
            for command in commands:
                started = time.monotonic()
                await client.execute(complaint_id, command)
                slowest = max(slowest, time.monotonic() - started)
            after_commands = await history_length(client, complaint_id)
            await asyncio.sleep(12)  # the outage goes on; the server retries the store activity meanwhile
            after_waiting = await history_length(client, complaint_id)

            await own_database.start_postgres()
            await wait_until(stored_all, within=90)

            # The commands were answered from the workflow while the database was down (usually in milliseconds;
            # the bound is loose for a shared machine, and far below the seconds a database retry would take).
            assert slowest < 5.0, slowest
            # Waiting added nothing, and the whole outage added at most a constant beyond the commands' own events.
            assert after_waiting == after_commands
            assert after_waiting - before - EVENTS_PER_COMMAND * len(commands) <= OUTAGE_GROWTH_LIMIT
            # The store caught up with what the history holds, event for event.
            assert await load_events(pool, complaint_id) == await client.events(complaint_id)
            assert (await client.status(complaint_id)).stage == "handling"
    finally:
        await pool.close()
