"""Follow-up calls (回访) end to end on the dev server, under the demo policy with a short follow-up window: a case
closed unevaluated is called back, the resident says the problem is unsolved, the case reopens (counted as a
reopen), is done again and rated, is called back again, and its workflow ends when the second window runs out. The
event store then equals the history, the read model the fold, the figures count the calls, and a call after the
window is refused."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from temporalio.testing import WorkflowEnvironment

from activities.event_store import Pool, load_case, load_events
from activities.rates import build_report
from schemas.commands import BlowWhistle, RecordFollowUp, ReportIn
from schemas.common import parse_duration
from schemas.errors import CommandRejected
from schemas.fold import fold
from tests.domain_fixtures import complete, department, evaluate, operator, secretary, verify
from tests.helpers import TestClient, case_handle, new_intake, running_worker, wait_until
from whistle.settings import DATA_DIR

LEAD = "urban_management"


@pytest.fixture(scope="module")
async def client(dev_env: WorkflowEnvironment, pool: Pool) -> AsyncIterator[TestClient]:
    async with running_worker(dev_env.client, pool, policy=DATA_DIR / "demo_policy.yaml") as whistle:
        demo = whistle.policy.default
        short = demo.model_copy(update={"evaluation": parse_duration("3s"), "follow_up": parse_duration("8s")})
        yield whistle.with_policy(whistle.policy.model_copy(update={"default": short}))


async def stored_types(client: TestClient, complaint_id: str) -> list[str]:
    return [recorded.event.type for recorded in await client.events(complaint_id)]


async def test_an_unsolved_follow_up_reopens_a_case_closed_unevaluated(client: TestClient, pool: Pool) -> None:
    complaint_id = (await client.submit(new_intake())).complaint_id
    await client.execute(complaint_id, verify())
    await client.execute(complaint_id, BlowWhistle(actor=secretary(), departments=[LEAD]))
    await client.execute(complaint_id, ReportIn(actor=department(LEAD), department=LEAD, officer="王科长"))
    await client.execute(complaint_id, complete(LEAD))

    async def window_open(count: int) -> bool:
        return (await stored_types(client, complaint_id)).count("FollowUpOpened") == count

    await wait_until(lambda: window_open(1))  # the resident did not rate within 3 s: closed unevaluated
    assert (await client.status(complaint_id)).outcome == "unevaluated"
    unsolved = RecordFollowUp(actor=operator(), verdict="unsolved", note="油烟仍然直排")
    reopened = await client.execute(complaint_id, unsolved)
    assert (reopened.stage, reopened.reopen_count, reopened.outcome) == ("handling", 1, None)

    await client.execute(complaint_id, complete(LEAD))
    assert (await client.execute(complaint_id, evaluate("satisfied"))).outcome == "satisfied"
    await wait_until(lambda: window_open(2))
    solved = await client.execute(complaint_id, RecordFollowUp(actor=operator(), verdict="solved"))
    assert (solved.stage, solved.outcome) == ("closed", "satisfied")

    final = await case_handle(client.temporal, complaint_id).result()
    history = await client.events(complaint_id)
    stored = await load_events(pool, complaint_id)
    assert stored == history
    read_model = await load_case(pool, complaint_id)
    assert read_model == fold(recorded.event for recorded in stored)
    assert read_model is not None and read_model.stage == "closed" and read_model.follow_ups == 2
    assert final.outcome == "satisfied" and final.reopen_count == 1
    types = [recorded.event.type for recorded in stored]
    assert types[types.index("EvaluationLapsed"):] == [
        "EvaluationLapsed", "CaseClosed", "FollowUpOpened", "FollowUpRecorded", "CaseReopened", "PartCompleted",
        "HandlingCompleted", "ResidentEvaluated", "CaseClosed", "FollowUpOpened", "FollowUpRecorded",
        "FollowUpWindowClosed",
    ]  # fmt: skip

    report = await build_report(pool, "community", since=None, now=final.updated_at)
    [community] = [group for group in report.groups if group.group == final.community]
    assert community.followed_up >= 2 and community.follow_up_unsolved >= 1

    with pytest.raises(CommandRejected) as refused:  # the window ran out and the workflow ended
        await client.execute(complaint_id, RecordFollowUp(actor=operator(), verdict="solved"))
    assert refused.value.field == "stage"
