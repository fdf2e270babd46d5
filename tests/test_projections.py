"""``whistle projections rebuild``: refolding the event store gives back exactly the live read models.

A mixed set of cases runs on the dev server (closed every way, reopened, declined and re-routed, escalated,
still open); once the store has caught up with each workflow, the live ``complaints`` table is read, damaged,
and rebuilt from ``events`` with the same fold. The rebuilt table must equal what the appends had built.
"""

from __future__ import annotations

from typing import Any

from temporalio.testing import WorkflowEnvironment

from activities.event_store import Pool
from schemas.commands import WithdrawComplaint
from schemas.policy import SlaPolicy
from tests.domain_fixtures import blow, complete, decline, evaluate, report_in, resident, verify
from tests.helpers import TestClient, case_handle, new_intake, running_worker, wait_until
from whistle.projections import rebuild
from workflows.complaint import ComplaintWorkflow

UM, MR = "urban_management", "market_regulation"

ESCALATING = SlaPolicy.model_validate(
    {"default": {"verify": "2h", "report_in": "1s", "handling": "24h", "evaluation": "3d",
                 "first_secretary": "24h", "street_secretary": "48h", "max_reopens": 2}}
)  # fmt: skip
"""A department has one second to report in; after that nothing fires for a day."""


async def drive_mixed_cases(client: TestClient, escalating: TestClient) -> list[str]:
    async def filed(on: TestClient) -> str:
        return (await on.submit(new_intake())).complaint_id

    satisfied, reopened, rerouted, withdrawn, handling, discovered = [await filed(client) for _ in range(6)]
    await client.execute(satisfied, verify(resolved=True))
    await client.execute(satisfied, evaluate("satisfied"))
    for case in (reopened, rerouted, withdrawn, handling):
        await client.execute(case, verify())
    await client.execute(reopened, blow(UM, MR))
    for command in (report_in(UM), report_in(MR), complete(UM), complete(MR), evaluate("unsatisfied"), complete(UM)):
        await client.execute(reopened, command)
    await client.execute(rerouted, blow(MR))
    for next_step in (decline(MR), blow(UM), report_in(UM), complete(UM), evaluate("basically_satisfied")):
        await client.execute(rerouted, next_step)
    await client.execute(withdrawn, blow(UM))
    await client.execute(withdrawn, WithdrawComplaint(actor=resident(), reason="店家已自行整改"))
    await client.execute(handling, blow(UM))
    await client.execute(handling, report_in(UM))
    escalated = await filed(escalating)
    await escalating.execute(escalated, verify())
    await escalating.execute(escalated, blow(MR))
    return [satisfied, reopened, rerouted, withdrawn, handling, discovered, escalated]


async def complaints_table(pool: Pool) -> list[dict[str, Any]]:
    """The read model as the fold makes it."""
    return [dict(row) for row in await pool.fetch("select * from complaints order by complaint_id")]


async def test_rebuild_from_the_event_store_equals_the_live_projections(
    dev_env: WorkflowEnvironment, pool: Pool
) -> None:
    async with running_worker(dev_env.client, pool) as client:
        escalating = client.with_policy(ESCALATING)
        try:
            ids = await drive_mixed_cases(client, escalating)

            async def store_caught_up() -> bool:
                for complaint_id in ids:
                    handle = case_handle(client.temporal, complaint_id)
                    state = await handle.query(ComplaintWorkflow.state)
                    stored = await pool.fetchval(
                        "select last_seq from complaints where complaint_id = $1", complaint_id
                    )
                    if stored != state.event_count or (complaint_id == ids[-1] and state.escalation_level != 1):
                        return False
                return True

            await wait_until(store_caught_up, within=20)
            live = await complaints_table(pool)
            assert {row["stage"] for row in live if row["complaint_id"] in ids} == {
                "closed", "handling", "discovered", "whistled"
            }  # fmt: skip
            await pool.execute("delete from complaints where complaint_id = $1", ids[0])
            await pool.execute("update complaints set stage = 'closed', state = '{}' where complaint_id = $1", ids[1])

            result = await rebuild(pool)

            assert await complaints_table(pool) == live
            assert result.cases == len(live)
            assert result.events == await pool.fetchval("select count(*) from events")
        finally:
            await escalating.end_open_cases()
