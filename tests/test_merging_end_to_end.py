"""Merging duplicates (工单合并) end to end, on a Temporal dev server and a real PostgreSQL: two cases' workflows
exchange signals, and for each case the store holds exactly what its history recorded and the read model is the
fold of it.

One report is merged into a primary, the primary closes, the report's reporter hears the outcome and rates it and
the report closes as ``merged``; another merge is undone while its primary is open; a merge into a case that is
gone undoes itself; likely duplicates are suggested from the read model.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from temporalio.testing import WorkflowEnvironment

from activities.event_store import Pool, load_case, load_events
from schemas.commands import MergeCase, UnmergeCase
from schemas.errors import CommandRejected
from schemas.fold import fold
from schemas.state import CaseState
from tests.domain_fixtures import blow, complete, evaluate, operator, report_in, secretary, verify
from tests.helpers import TestClient, case_handle, new_intake, running_worker, sent_notifications, wait_until
from whistle.client import workflow_id_for
from workflows.complaint import ComplaintWorkflow

LEAD = "urban_management"


@pytest.fixture(scope="module")
async def client(dev_env: WorkflowEnvironment, pool: Pool) -> AsyncIterator[TestClient]:
    async with running_worker(dev_env.client, pool) as whistle:
        yield whistle


async def state_when(client: TestClient, complaint_id: str, holds: Any) -> CaseState:
    """The case's state (asked of its workflow) once ``holds(state)``."""
    seen: list[CaseState] = []

    async def check() -> bool:
        seen.append(await client.state(complaint_id))
        return bool(holds(seen[-1]))

    await wait_until(check)
    return seen[-1]


async def store_equals_history(client: TestClient, pool: Pool, complaint_id: str) -> None:
    """Once the history and the store have caught up with the case (the outbox sends its batches one at a time): the
    same events in the same order in both, and the read model their fold and the workflow's own state."""
    count = (await client.state(complaint_id)).event_count

    async def caught_up() -> bool:
        return len(await client.events(complaint_id)) == len(await load_events(pool, complaint_id)) == count

    await wait_until(caught_up)
    stored = await load_events(pool, complaint_id)
    assert stored == await client.events(complaint_id)
    read_model = await load_case(pool, complaint_id)
    assert read_model is not None and read_model == fold(recorded.event for recorded in stored)
    workflow_state = await case_handle(client.temporal, complaint_id).query(ComplaintWorkflow.state)
    assert read_model.model_dump(mode="json") == workflow_state.model_dump(mode="json")


async def merged_reports(client: TestClient) -> int:
    """The community's count of reports merged into another case, from the read models (``whistle report``)."""
    groups = {group.group: group for group in (await client.report("community")).groups}
    return groups["hongqi"].merged if "hongqi" in groups else 0


async def two_reports(client: TestClient) -> tuple[str, str]:
    """A primary being handled and a second report of the same problem, whistled: (primary, report)."""
    primary = (await client.submit(new_intake())).complaint_id
    report = (await client.submit(new_intake())).complaint_id
    for case in (primary, report):
        await client.execute(case, verify())
        await client.execute(case, blow(LEAD))
    await client.execute(primary, report_in(LEAD))
    return primary, report


async def test_a_merged_report_hears_the_primarys_outcome_rates_it_and_closes_as_merged(
    client: TestClient, pool: Pool
) -> None:
    primary, report = await two_reports(client)
    before = await merged_reports(client)
    merged = await client.execute(report, MergeCase(actor=secretary(), into=primary, note="同一烧烤店"))
    assert (merged.stage, merged.merged_into, merged.next_deadline) == ("merged", primary, None)
    carrying = await state_when(client, primary, lambda state: state.linked_reports == [report])
    assert carrying.links == 1
    assert (await client.status(primary)).linked_reports == [report]

    with pytest.raises(CommandRejected) as refused:  # the report takes nothing meant for the problem's case
        await client.execute(report, report_in(LEAD))
    assert refused.value.field == "stage"

    await client.execute(primary, complete(LEAD))
    await client.execute(primary, evaluate("satisfied"))
    rating = await state_when(client, report, lambda state: state.stage == "evaluating")
    assert rating.merge is not None and rating.evaluation is not None
    told = [notice for notice in await sent_notifications(client, report) if notice.topic == "PrimaryClosed"]
    assert told and told[0].audience == ["reporter"] and primary in told[0].message

    closed = await client.execute(report, evaluate("basically_satisfied", actor=operator()))
    assert (closed.stage, closed.outcome, closed.merged_into) == ("closed", "merged", primary)
    assert closed.rating == "basically_satisfied"
    for case in (primary, report):
        await case_handle(client.temporal, case).result()
        await store_equals_history(client, pool, case)
    types = [recorded.event.type for recorded in await load_events(pool, report)]
    assert types[-5:] == ["WhistleBlown", "CaseMerged", "PrimaryClosed", "ResidentEvaluated", "CaseClosed"]
    assert "ReportLinked" in [recorded.event.type for recorded in await load_events(pool, primary)]
    assert await merged_reports(client) == before + 1  # the figures count the report apart, its problem once


async def test_a_mistaken_merge_is_undone_while_the_primary_is_open(client: TestClient, pool: Pool) -> None:
    primary, report = await two_reports(client)
    before = await client.state(report)
    await client.execute(report, MergeCase(actor=operator(), into=primary))
    await state_when(client, primary, lambda state: state.linked_reports == [report])

    resumed = await client.execute(report, UnmergeCase(actor=secretary(), reason="不是同一家店"))
    assert (resumed.stage, resumed.merged_into) == ("whistled", None)
    after = await client.state(report)
    moved = after.departments[LEAD].report_in
    was = before.departments[LEAD].report_in
    assert moved is not None and was is not None and moved.due > was.due  # moved by the time it stood merged
    await state_when(client, primary, lambda state: state.linked_reports == [])
    for case in (primary, report):
        await store_equals_history(client, pool, case)
    assert [r.event.type for r in await load_events(pool, primary)][-2:] == ["ReportLinked", "ReportUnlinked"]
    assert [r.event.type for r in await load_events(pool, report)][-2:] == ["CaseMerged", "MergeUndone"]


async def test_the_sdk_refuses_a_primary_that_is_unknown_merged_or_the_case_itself(client: TestClient) -> None:
    primary, report = await two_reports(client)
    for into in ("T-nosuchcase", report):
        with pytest.raises(CommandRejected) as refused:
            await client.execute(report, MergeCase(actor=secretary(), into=into))
        assert refused.value.field == "into"
    await client.execute(primary, MergeCase(actor=secretary(), into=report))  # the other way round is fine
    with pytest.raises(CommandRejected) as chained:  # but not into a case merged itself
        third = (await client.submit(new_intake())).complaint_id
        await client.execute(third, MergeCase(actor=secretary(), into=primary))
    assert chained.value.field == "into"


async def test_a_merge_into_a_case_that_is_gone_undoes_itself(client: TestClient, pool: Pool) -> None:
    _, report = await two_reports(client)
    handle = client.temporal.get_workflow_handle(workflow_id_for(report))
    merge = MergeCase(actor=secretary(), into="T-gone-000000")  # past the SDK's check, as a racing closure would be
    await handle.execute_update("merge", merge)
    resumed = await state_when(client, report, lambda state: state.merge is None)
    assert resumed.stage == "whistled"
    await store_equals_history(client, pool, report)
    types = [recorded.event.type for recorded in await client.events(report)]
    assert types[-2:] == ["CaseMerged", "MergeUndone"]


async def test_likely_duplicates_are_suggested_from_the_read_model(client: TestClient, pool: Pool) -> None:
    near = {"address": "红旗社区15号楼底商", "latitude": 41.7962, "longitude": 123.3385}
    far = {"address": "红旗社区北门", "latitude": 41.7993, "longitude": 123.3385}  # about 345 m north, same grid
    first = (await client.submit(new_intake(location=near))).complaint_id
    elsewhere = (await client.submit(new_intake(location=far))).complaint_id
    other_kind = (await client.submit(new_intake(category="streetlight"))).complaint_id
    second = (await client.submit(new_intake(location=near))).complaint_id
    no_place = (await client.submit(new_intake(location={"address": "红旗社区"}))).complaint_id

    async def stored() -> bool:
        cases = (first, elsewhere, other_kind, second, no_place)
        return all([await load_case(pool, case) is not None for case in cases])

    await wait_until(stored)
    found = {candidate.complaint_id: candidate for candidate in await client.duplicates(second)}
    assert first in found and no_place in found  # without coordinates, the grid and the window decide
    assert elsewhere not in found and other_kind not in found and second not in found
    assert found[first].distance_m == 0.0 and found[no_place].distance_m is None
    intake = new_intake(location=near)
    assert second in {candidate.complaint_id for candidate in await client.duplicates_of(intake)}


async def test_a_primary_that_refuses_the_link_releases_the_report(client: TestClient, pool: Pool) -> None:
    _, report = await two_reports(client)
    elsewhere = (await client.submit(new_intake(community="anju", grid="anju_1"))).complaint_id
    with pytest.raises(CommandRejected) as refused:
        await client.execute(report, MergeCase(actor=secretary(), into=elsewhere))
    assert refused.value.field == "into" and "community" in refused.value.reason
    handle = client.temporal.get_workflow_handle(workflow_id_for(report))
    await handle.execute_update("merge", MergeCase(actor=secretary(), into=elsewhere))  # past the SDK's check
    resumed = await state_when(client, report, lambda state: state.merge is None)
    assert resumed.stage == "whistled"
    for case in (report, elsewhere):
        await store_equals_history(client, pool, case)
    undone = (await client.events(report))[-1].event
    assert undone.type == "MergeUndone" and "anju" in undone.model_dump()["reason"]
    assert (await client.state(elsewhere)).linked_reports == []
