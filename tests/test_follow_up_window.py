"""The follow-up window (回访) on the time-skipping server, under the shipped policy with ``follow_up: 7d``: a case
closed unevaluated waits for its call and the window ends missed when none comes; an unsolved call inside the
window reopens the case and its next closure opens a new window; after the window the workflow ends (a call after
it is refused: tests/test_end_to_end_follow_up.py, where the server describes a finished case)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from temporalio.testing import WorkflowEnvironment

from activities.event_store import Pool
from schemas.commands import BlowWhistle, RecordFollowUp, ReportIn, VerifyComplaint
from schemas.common import parse_duration
from schemas.events import FollowUpOpened, FollowUpWindowClosed
from tests.domain_fixtures import complete, department, evaluate, grid_worker, operator, secretary
from tests.helpers import TestClient, new_intake, running_worker, sent_notifications, wait_until
from whistle.client import WhistleClient, workflow_id_for

LEAD = "urban_management"


@pytest.fixture(scope="module")
async def client(time_env: WorkflowEnvironment, pool: Pool) -> AsyncIterator[TestClient]:
    async with running_worker(time_env.client, pool, end_open_cases=False) as whistle:
        policy = whistle.policy
        taking_calls = policy.model_copy(
            update={"default": policy.default.model_copy(update={"follow_up": parse_duration("7d")})}
        )
        yield whistle.with_policy(taking_calls)
        await whistle.terminate_filed()  # so no case of ours holds time still for later modules


async def evaluating(client: WhistleClient) -> str:
    """A case whose one department finished: the resident is asked to rate it (3 days in the shipped policy)."""
    complaint_id = (await client.submit(new_intake())).complaint_id
    await client.execute(complaint_id, VerifyComplaint(actor=grid_worker()))
    await client.execute(complaint_id, BlowWhistle(actor=secretary(), departments=[LEAD]))
    await client.execute(complaint_id, ReportIn(actor=department(LEAD), department=LEAD, officer="王科长"))
    view = await client.execute(complaint_id, complete(LEAD))
    assert view.stage == "evaluating"
    return complaint_id


async def types_once(client: WhistleClient, complaint_id: str, type_: str, count: int = 1) -> list[str]:
    """The case's stored event types once ``type_`` is among them ``count`` times."""
    found: list[str] = []

    async def arrived() -> bool:
        found[:] = [recorded.event.type for recorded in await client.events(complaint_id)]
        return found.count(type_) >= count

    await wait_until(arrived)
    return found


async def test_a_case_closed_unevaluated_waits_for_its_call_and_the_window_ends_missed(
    client: WhistleClient, time_env: WorkflowEnvironment
) -> None:
    complaint_id = await evaluating(client)
    await time_env.sleep(timedelta(days=3, minutes=1))  # the evaluation window: closed unevaluated
    types = await types_once(client, complaint_id, "FollowUpOpened")
    assert types[-3:] == ["EvaluationLapsed", "CaseClosed", "FollowUpOpened"]
    opened = (await client.events(complaint_id))[-1].event
    assert isinstance(opened, FollowUpOpened) and opened.asked
    assert (await client.status(complaint_id)).stage == "closed"
    unreached = RecordFollowUp(actor=operator(), verdict="unreached", note="无人接听")
    assert (await client.execute(complaint_id, unreached)).stage == "closed"  # closed, and still taking calls

    await time_env.sleep(timedelta(days=7))  # the follow-up window: no call reached the resident
    await client.temporal.get_workflow_handle(workflow_id_for(complaint_id)).result()
    types = await types_once(client, complaint_id, "FollowUpWindowClosed")
    assert types[-2:] == ["FollowUpRecorded", "FollowUpWindowClosed"]
    ended = (await client.events(complaint_id))[-1].event
    assert isinstance(ended, FollowUpWindowClosed) and ended.missed
    notices = await sent_notifications(client, complaint_id)
    assert any(n.topic == "FollowUpOpened" and n.audience == ["hotline"] for n in notices)
    assert any(n.topic == "FollowUpWindowClosed" and "hotline" in n.audience for n in notices)


async def test_an_unsolved_call_reopens_the_case_and_its_next_closure_opens_a_new_window(
    client: WhistleClient, time_env: WorkflowEnvironment
) -> None:
    complaint_id = await evaluating(client)
    closed = await client.execute(complaint_id, evaluate("satisfied"))
    assert closed.stage == "closed"
    await time_env.sleep(timedelta(days=2))  # inside the 7-day window
    view = await client.execute(complaint_id, RecordFollowUp(actor=operator(), verdict="unsolved", note="油烟依旧"))
    assert (view.stage, view.reopen_count, view.outcome) == ("handling", 1, None)
    await client.execute(complaint_id, complete(LEAD))
    assert (await client.execute(complaint_id, evaluate("satisfied"))).stage == "closed"
    types = await types_once(client, complaint_id, "FollowUpOpened", count=2)
    assert types[-7:] == [
        "FollowUpRecorded", "CaseReopened", "PartCompleted", "HandlingCompleted", "ResidentEvaluated", "CaseClosed",
        "FollowUpOpened",
    ]  # fmt: skip
    await time_env.sleep(timedelta(days=7, minutes=1))
    await client.temporal.get_workflow_handle(workflow_id_for(complaint_id)).result()
    types = await types_once(client, complaint_id, "FollowUpWindowClosed")
    assert types.count("FollowUpWindowClosed") == 1  # the first window ended with the reopening
    assert types[-1] == "FollowUpWindowClosed"
