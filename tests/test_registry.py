"""One complaint id, one case, forever: the filing registry in PostgreSQL, on a dev server and a real worker.

Temporal refuses a second workflow of one id only while it retains the first; these tests purge the first (a
terminate and a delete, as retention would) and find the registry still refusing a second case.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment

from activities import registry
from activities.event_store import Pool, load_events
from activities.registry import FilingConflict, ForeignRun
from schemas.errors import CommandRejected
from tests.helpers import TestClient, new_intake, running_worker, sample_client, wait_until
from tests.pg import TestDatabase
from whistle.client import workflow_id_for


@pytest.fixture
async def client(dev_env: WorkflowEnvironment, pool: Pool) -> AsyncIterator[TestClient]:
    """An SDK client with a database, as the CLI, the gateway and the demo have, next to a real worker."""
    async with running_worker(dev_env.client, pool) as worker_client:
        yield worker_client


async def runs_of(temporal: Client, complaint_id: str) -> list[str]:
    """Every run Temporal holds for the case's workflow id (visibility trails a start a little)."""
    query = f"WorkflowId = '{workflow_id_for(complaint_id)}'"
    return [execution.run_id async for execution in temporal.list_workflows(query)]


def forget(client: TestClient, complaint_id: str) -> None:
    """Leave a case Temporal does not have out of the ones the test ends."""
    client.filed[:] = [filed for filed in client.filed if filed != complaint_id]


async def test_the_same_ticket_sent_twice_is_one_case(client: TestClient, pool: Pool) -> None:
    intake = new_intake()
    first = await client.submit(intake)
    resent = intake.model_copy(
        update={"reported_at": intake.reported_at + timedelta(minutes=3)}
    )  # `whistle submit` restamps it
    again = await client.submit(resent)
    assert not first.duplicate and again == first.model_copy(update={"duplicate": True})
    filing = await registry.lookup(pool, first.complaint_id)
    assert filing is not None and (filing.workflow_id, filing.run_id) == (first.workflow_id, first.run_id)


async def test_a_double_click_starts_one_workflow(client: TestClient) -> None:
    intake = new_intake()
    both = await asyncio.gather(*(client.submit(intake) for _ in range(3)))
    assert sorted(result.duplicate for result in both) == [False, True, True]
    assert len({result.run_id for result in both}) == 1
    await wait_until(lambda: _listed(client.temporal, intake.complaint_id))
    assert await runs_of(client.temporal, str(intake.complaint_id)) == [both[0].run_id]


async def _listed(temporal: Client, complaint_id: str | None) -> bool:
    return bool(await runs_of(temporal, str(complaint_id)))


async def test_another_body_under_a_filed_id_is_a_conflict_and_changes_nothing(client: TestClient, pool: Pool) -> None:
    intake = new_intake()
    first = await client.submit(intake)
    await wait_until(lambda: _stored(pool, first.complaint_id))
    stored = await load_events(pool, first.complaint_id)
    filing = await registry.lookup(pool, first.complaint_id)

    edited = intake.model_copy(update={"title": "烧烤店油烟直排（补充材料）"})
    with pytest.raises(FilingConflict) as conflict:
        await client.submit(edited)
    assert isinstance(conflict.value, CommandRejected)
    assert conflict.value.field == "complaint_id" and "different body" in conflict.value.reason

    assert await registry.lookup(pool, first.complaint_id) == filing
    assert await load_events(pool, first.complaint_id) == stored
    assert await runs_of(client.temporal, first.complaint_id) == [first.run_id]


async def _stored(pool: Pool, complaint_id: str) -> bool:
    return bool(await load_events(pool, complaint_id))


async def test_a_case_temporal_no_longer_has_is_still_filed(client: TestClient, pool: Pool) -> None:
    """Retention purged the case: the registry still holds its filing, bound to its run, and Temporal nothing.

    (The dev server accepts ``DeleteWorkflowExecution`` but had not deleted a terminated case 50 s later, so the
    purge is written as what it leaves: a bound filing of an id Temporal does not know.)"""
    intake = new_intake()
    assert intake.complaint_id is not None
    await registry.register(pool, intake.complaint_id, registry.body_digest(intake))
    await registry.bind_run(pool, intake.complaint_id, workflow_id_for(intake.complaint_id), "run-purged-long-ago")

    again = await client.submit(intake)
    assert (again.complaint_id, again.run_id, again.duplicate) == (intake.complaint_id, "run-purged-long-ago", True)
    with pytest.raises(FilingConflict):
        await client.submit(intake.model_copy(update={"description": "另一件事"}))
    with pytest.raises(RPCError) as missing:  # nothing was started under the id
        await client.temporal.get_workflow_handle(workflow_id_for(intake.complaint_id)).describe()
    assert missing.value.status == RPCStatusCode.NOT_FOUND
    forget(client, intake.complaint_id)


async def test_an_id_filed_before_the_registry_is_the_existing_case(client: TestClient, pool: Pool) -> None:
    """A filing without a digest (from the store, or a case started outside the SDK) is the case, whatever the body."""
    complaint_id = f"T-{uuid.uuid4().hex[:12]}"
    await registry.bind_run(pool, complaint_id, workflow_id_for(complaint_id), "run-of-an-old-case")

    again = await client.submit(new_intake(complaint_id=complaint_id))
    assert (again.run_id, again.duplicate) == ("run-of-an-old-case", True)
    with pytest.raises(RPCError):  # Temporal never saw the id, and still has not
        await client.temporal.get_workflow_handle(workflow_id_for(complaint_id)).describe()
    forget(client, complaint_id)


async def test_a_filing_registered_but_never_started_starts_on_resend(client: TestClient, pool: Pool) -> None:
    """Temporal was unreachable after the id was registered: the same ticket resent starts the case."""
    intake = new_intake()
    assert intake.complaint_id is not None
    await registry.register(pool, intake.complaint_id, registry.body_digest(intake))

    started = await client.submit(intake)
    assert not started.duplicate and started.run_id
    filing = await registry.lookup(pool, intake.complaint_id)
    assert filing is not None and filing.run_id == started.run_id


async def test_a_refuted_resend_of_a_filed_ticket_is_still_the_case(client: TestClient) -> None:
    """A resend the directory would now refuse (here: from the future) answers with the filed case, or its conflict."""
    intake = new_intake()
    first = await client.submit(intake)
    a_day_behind = datetime.now(UTC) - timedelta(days=1)  # the resend is checked against a clock that is behind
    assert await client.submit(intake, now=a_day_behind) == first.model_copy(update={"duplicate": True})
    with pytest.raises(FilingConflict):
        await client.submit(intake.model_copy(update={"title": "别的事"}), now=a_day_behind)


async def test_bind_run_is_idempotent_for_the_own_run_and_refuses_another(pool: Pool) -> None:
    complaint_id = f"T-{uuid.uuid4().hex[:12]}"
    workflow_id = workflow_id_for(complaint_id)
    await registry.bind_run(pool, complaint_id, workflow_id, "run-1")
    await registry.bind_run(pool, complaint_id, workflow_id, "run-1")
    async with pool.acquire() as connection, connection.transaction():  # as the store's append calls it
        await registry.bind_run(connection, complaint_id, workflow_id, "run-1")
        with pytest.raises(ForeignRun) as foreign:
            await registry.bind_run(connection, complaint_id, workflow_id, "run-2")
    assert (foreign.value.complaint_id, foreign.value.run_id, foreign.value.owner_run_id) == (
        complaint_id, "run-2", "run-1",
    )  # fmt: skip
    filing = await registry.lookup(pool, complaint_id)
    assert filing is not None and (filing.body_digest, filing.run_id) == (None, "run-1")


async def test_concurrent_binds_of_a_new_id_agree_on_one_run(pool: Pool) -> None:
    complaint_id = f"T-{uuid.uuid4().hex[:12]}"
    outcomes = await asyncio.gather(
        *(registry.bind_run(pool, complaint_id, workflow_id_for(complaint_id), f"run-{n}") for n in range(4)),
        return_exceptions=True,
    )
    assert sum(outcome is None for outcome in outcomes) == 1
    assert all(isinstance(outcome, ForeignRun) for outcome in outcomes if outcome is not None)


def test_the_digest_is_of_the_body_not_its_spelling() -> None:
    intake = new_intake()
    spelled_out = type(intake).model_validate({**intake.model_dump(mode="json"), "urgency": "normal"})
    assert registry.body_digest(spelled_out) == registry.body_digest(intake)
    other = intake.model_copy(update={"reporter": intake.reporter.model_copy(update={"resident_id": "app-00002"})})
    assert registry.body_digest(other) != registry.body_digest(intake)


async def test_concurrent_first_filings_share_one_pool(dev_env: WorkflowEnvironment, database: TestDatabase) -> None:
    """A client given a database URL opens its pool on first use; filings sent at once (the demo files all its
    cases together) must share it, not open a pool each (ten connections apiece: PostgreSQL ran out of them)."""
    client = sample_client(dev_env.client, f"pool-{uuid.uuid4().hex[:8]}", database_url=database.url)
    try:
        pools = await asyncio.gather(*(client._database() for _ in range(8)))
        assert len({id(pool) for pool in pools}) == 1
    finally:
        await client.close()
