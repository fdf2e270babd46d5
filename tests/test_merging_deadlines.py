"""Merging duplicates (工单合并) against the clock, on Temporal's time-skipping test server with the real policy: a
merged report's clocks stand still however long it waits, run again (moved) when the merge is undone, and the
reporter's window to rate the primary's outcome lapses into a closure as ``merged``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from temporalio.testing import WorkflowEnvironment

from activities.event_store import Pool
from schemas.commands import MergeCase, UnmergeCase
from schemas.state import CaseState
from tests.domain_fixtures import blow, complete, evaluate, report_in, secretary, verify
from tests.helpers import TestClient, new_intake, running_worker, wait_until

LEAD = "urban_management"


@pytest.fixture(scope="module")
async def client(time_env: WorkflowEnvironment, pool: Pool) -> AsyncIterator[TestClient]:
    async with running_worker(time_env.client, pool, end_open_cases=False) as whistle:
        yield whistle
        await whistle.terminate_filed()  # cases left running would stop time from skipping for later modules


async def state_when(client: TestClient, complaint_id: str, holds: Any) -> CaseState:
    seen: list[CaseState] = []

    async def check() -> bool:
        seen.append(await client.state(complaint_id))
        return bool(holds(seen[-1]))

    await wait_until(check)
    return seen[-1]


async def last_events(client: TestClient, complaint_id: str, types: list[str]) -> None:
    """Wait until the case's history ends with ``types`` (it trails the workflow's state by a batch)."""

    async def recorded() -> bool:
        return [event.event.type for event in await client.events(complaint_id)][-len(types) :] == types

    await wait_until(recorded)


async def merged_report(client: TestClient) -> tuple[str, str]:
    """(primary, report): both whistled, the primary's department reported in, the report merged into it."""
    primary = (await client.submit(new_intake())).complaint_id
    report = (await client.submit(new_intake())).complaint_id
    for case in (primary, report):
        await client.execute(case, verify())
        await client.execute(case, blow(LEAD))
    await client.execute(primary, report_in(LEAD))
    await client.execute(report, MergeCase(actor=secretary(), into=primary))
    await state_when(client, primary, lambda state: state.linked_reports == [report])
    return primary, report


async def test_a_merged_reports_clocks_stand_still_and_run_again_moved_when_undone(
    client: TestClient, time_env: WorkflowEnvironment
) -> None:
    _, report = await merged_report(client)
    await time_env.sleep(timedelta(days=3))  # three report-in windows: nothing runs out while merged
    waited = await client.state(report)
    clock = waited.departments[LEAD].report_in
    assert clock is not None and not clock.lapsed
    assert (waited.stage, waited.escalation_level) == ("merged", 0)
    resumed = await client.execute(report, UnmergeCase(actor=secretary(), reason="不是同一家店"))
    assert resumed.stage == "whistled" and resumed.next_deadline is not None
    assert resumed.next_deadline > await time_env.get_current_time() + timedelta(hours=23)
    await time_env.sleep(timedelta(hours=24, minutes=1))
    escalated = await state_when(client, report, lambda state: state.escalation_level == 1)
    assert escalated.stage == "whistled"
    await last_events(client, report, ["ReportInOverdue", "EscalatedToFirstSecretary"])


async def test_an_unrated_primary_outcome_closes_the_report_as_merged(
    client: TestClient, time_env: WorkflowEnvironment
) -> None:
    primary, report = await merged_report(client)
    await client.execute(primary, complete(LEAD))
    await client.execute(primary, evaluate("satisfied"))
    rating = await state_when(client, report, lambda state: state.stage == "evaluating")
    assert rating.evaluation is not None
    await time_env.sleep(rating.evaluation.due - await time_env.get_current_time() + timedelta(minutes=1))
    closed = await state_when(client, report, lambda state: state.stage == "closed")
    assert (closed.outcome, closed.rating) == ("merged", None)
    await last_events(client, report, ["EvaluationLapsed", "CaseClosed"])
