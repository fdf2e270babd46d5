"""The deadlines of the practice around the stages, on the time-skipping server with the shipped policy: a missed
report-in raising the whistle's grade (哨源升级), an unanswered request for more time, the long-running ledger (挂账)
and its periodic review reminders."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from temporalio.testing import WorkflowEnvironment

from activities.event_store import Pool
from schemas.actors import Actor
from schemas.commands import (
    AnswerExtension,
    AskResident,
    BlowWhistle,
    DeclineCase,
    FlagCase,
    ProposeTermination,
    ReportIn,
    RequestExtension,
    VerifyComplaint,
)
from schemas.common import parse_duration
from schemas.events import (
    CaseLedgered,
    ClocksResumed,
    EscalatedToFirstSecretary,
    Event,
    ExtensionRefused,
    TerminationRefused,
    WhistleGradeRaised,
)
from tests.domain_fixtures import complete, department, first_secretary, grid_worker, park, secretary
from tests.helpers import TestClient, new_intake, running_worker, sent_notifications, wait_until
from whistle.client import WhistleClient

LEAD = "urban_management"


@pytest.fixture(scope="module")
async def client(time_env: WorkflowEnvironment, pool: Pool) -> AsyncIterator[TestClient]:
    async with running_worker(time_env.client, pool, end_open_cases=False) as whistle:
        yield whistle
        await whistle.terminate_filed()  # so no case of ours holds time still for later modules


def raising(client: WhistleClient) -> WhistleClient:
    """The same client, filing under the shipped policy with 哨源升级 switched on."""
    return filing_with(client, raise_grade_on_miss=True)


async def whistled(client: WhistleClient, filer: WhistleClient | None = None) -> str:
    complaint_id = (await (filer or client).submit(new_intake())).complaint_id
    await client.execute(complaint_id, VerifyComplaint(actor=grid_worker()))
    await client.execute(complaint_id, BlowWhistle(actor=secretary(), departments=[LEAD]))
    return complaint_id


async def handling(client: WhistleClient) -> str:
    complaint_id = await whistled(client)
    await client.execute(complaint_id, ReportIn(actor=department(LEAD), department=LEAD, officer="王科长"))
    return complaint_id


async def events_once(client: WhistleClient, complaint_id: str, *types: str) -> list[Event]:
    """The case's events once every one of ``types`` is among them."""
    found: list[Event] = []

    async def arrived() -> bool:
        found[:] = [recorded.event for recorded in await client.events(complaint_id)]
        return set(types) <= {event.type for event in found}

    await wait_until(arrived)
    return found


async def test_a_missed_report_in_raises_the_grade_once_then_escalates(
    client: WhistleClient, time_env: WorkflowEnvironment
) -> None:
    complaint_id = await whistled(client, raising(client))
    await time_env.sleep(timedelta(hours=24, minutes=1))
    events = await events_once(client, complaint_id, "WhistleGradeRaised")
    raised = events[-1]
    assert isinstance(raised, WhistleGradeRaised) and raised.grade == "yellow"
    assert (await client.status(complaint_id)).escalation_level == 0

    await time_env.sleep(timedelta(hours=12))  # the yellow whistle's 12 h window
    events = await events_once(client, complaint_id, "EscalatedToFirstSecretary")
    assert [event.type for event in events][-4:] == [
        "ReportInOverdue", "WhistleGradeRaised", "ReportInOverdue", "EscalatedToFirstSecretary"
    ]


async def test_an_unanswered_extension_counts_as_refused_and_escalates(
    client: WhistleClient, time_env: WorkflowEnvironment
) -> None:
    complaint_id = await handling(client)
    asked = RequestExtension(
        actor=department(LEAD), department=LEAD, extend_by=parse_duration("2d"), reason="等待配件"
    )
    await client.execute(complaint_id, asked)
    await time_env.sleep(timedelta(hours=24, minutes=1))  # the policy's extension_answer
    events = await events_once(client, complaint_id, "ExtensionRefused", "EscalatedToFirstSecretary")
    refused = next(event for event in events if isinstance(event, ExtensionRefused))
    assert refused.lapsed
    assert isinstance(events[-1], EscalatedToFirstSecretary) and events[-1].cause == "extension"


async def test_an_approved_extension_moves_the_deadline_and_tells_the_resident(client: WhistleClient) -> None:
    complaint_id = await handling(client)
    before = await client.status(complaint_id)
    asked = RequestExtension(
        actor=department(LEAD), department=LEAD, extend_by=parse_duration("2d"), reason="等待配件"
    )
    await client.execute(complaint_id, asked)
    view = await client.execute(complaint_id, AnswerExtension(actor=first_secretary(), approve=True, note="同意"))
    assert before.next_deadline is not None and view.next_deadline is not None
    assert view.next_deadline >= before.next_deadline + timedelta(days=2)

    async def told() -> bool:
        notices = await sent_notifications(client, complaint_id)
        return any(n.topic == "ExtensionApproved" and "reporter" in n.audience for n in notices)

    await wait_until(told)


async def test_a_case_three_times_past_its_handling_window_goes_on_the_ledger_and_is_reviewed(
    client: WhistleClient, time_env: WorkflowEnvironment
) -> None:
    complaint_id = await handling(client)
    await time_env.sleep(timedelta(days=24))  # 5 working days span about a week: three times that, and more
    events = await events_once(client, complaint_id, "CaseLedgered")
    ledgered = next(event for event in events if isinstance(event, CaseLedgered))
    assert ledgered.reason == "long_overdue" and ledgered.owner == "fs-hongqi"
    await time_env.sleep(timedelta(days=7, minutes=1))
    events = await events_once(client, complaint_id, "LedgerReviewReminded")
    assert [event.type for event in events].count("CaseLedgered") == 1


async def test_a_parked_case_reminds_its_first_secretary_every_review_period(
    client: WhistleClient, time_env: WorkflowEnvironment
) -> None:
    complaint_id = await handling(client)
    view = await client.execute(complaint_id, park())
    assert view.parked
    await time_env.sleep(timedelta(days=14, minutes=2))

    async def reminded_twice() -> bool:
        types = [recorded.event.type for recorded in await client.events(complaint_id)]
        return types.count("LedgerReviewReminded") >= 2

    await wait_until(reminded_twice)
    notices = await sent_notifications(client, complaint_id)
    reminders = [n for n in notices if n.topic == "LedgerReviewReminded"]
    assert reminders and all(n.audience == ["fs-hongqi"] for n in reminders)


def filing_with(client: WhistleClient, **changes: object) -> TestClient:
    """The same client (its cases ended and checked with its own), filing under the policy with ``changes``."""
    assert isinstance(client, TestClient)
    policy = client.policy.model_copy(update={"default": client.policy.default.model_copy(update=changes)})
    return client.with_policy(policy)


async def test_results_nobody_reviews_escalate_to_the_first_secretary(
    client: WhistleClient, time_env: WorkflowEnvironment
) -> None:
    complaint_id = await whistled(client, filing_with(client, review_before_evaluation=True))
    await client.execute(complaint_id, ReportIn(actor=department(LEAD), department=LEAD, officer="王科长"))
    view = await client.execute(complaint_id, complete(LEAD))
    assert view.stage == "handling"
    await time_env.sleep(timedelta(hours=24, minutes=1))  # the policy's review window
    events = await events_once(client, complaint_id, "EscalatedToFirstSecretary")
    assert isinstance(events[-1], EscalatedToFirstSecretary) and events[-1].cause == "review"


async def test_an_unanswered_termination_counts_as_refused(
    client: WhistleClient, time_env: WorkflowEnvironment
) -> None:
    complaint_id = await whistled(client)
    proposal = ProposeTermination(actor=secretary(), reason="duplicate", note="与另一工单重复")
    await client.execute(complaint_id, proposal)
    await time_env.sleep(timedelta(hours=48, minutes=1))
    events = await events_once(client, complaint_id, "TerminationRefused")
    refused = next(event for event in events if isinstance(event, TerminationRefused))
    assert refused.lapsed
    assert (await client.status(complaint_id)).stage == "whistled"


async def test_a_dispute_nobody_rules_escalates(client: WhistleClient, time_env: WorkflowEnvironment) -> None:
    complaint_id = await whistled(client, filing_with(client, rule_disputes=True))
    declined = DeclineCase(actor=department(LEAD), department=LEAD, reason="不属于本部门")
    view = await client.execute(complaint_id, declined)
    assert view.stage == "whistled"
    await time_env.sleep(timedelta(hours=48, minutes=1))  # the policy's ruling window
    events = await events_once(client, complaint_id, "ResponsibilityDisputed", "EscalatedToFirstSecretary")
    assert isinstance(events[-1], EscalatedToFirstSecretary) and events[-1].cause == "ruling"


async def test_waiting_on_the_resident_stops_the_report_in_clock_until_the_allowance_runs_out(
    client: WhistleClient, time_env: WorkflowEnvironment
) -> None:
    complaint_id = await whistled(client)
    await client.execute(complaint_id, AskResident(actor=grid_worker(), reason="需入户查看"))
    await time_env.sleep(timedelta(days=3))  # far past the 24 h report-in window: nothing fires while paused
    view = await client.status(complaint_id)
    assert view.escalation_level == 0
    await time_env.sleep(timedelta(days=4, minutes=1))  # the 7 d allowance runs out: clocks resume by themselves
    events = await events_once(client, complaint_id, "ClocksResumed")
    resumed = next(event for event in events if isinstance(event, ClocksResumed))
    assert resumed.lapsed and abs(resumed.paused_seconds - 7 * 86400) < 1
    assert (await client.status(complaint_id)).escalation_level == 0  # 24 h to report in, counted again
    await time_env.sleep(timedelta(hours=24, minutes=1))
    await events_once(client, complaint_id, "EscalatedToFirstSecretary")


async def test_leader_supervision_cuts_the_running_report_in_window(
    client: WhistleClient, time_env: WorkflowEnvironment
) -> None:
    """The shipped policy halves what remains (flagged_windows 0.5): flagged 2 h into a 24 h report-in window, the
    department is late 11 h later, not 22 h."""
    complaint_id = await whistled(client)
    await time_env.sleep(timedelta(hours=2))
    flag = FlagCase(actor=Actor(kind="supervisor", id="dubanchu-01"), note="区领导批示：限期解决")
    view = await client.execute(complaint_id, flag)
    assert view.flagged
    await time_env.sleep(timedelta(hours=11, minutes=1))
    events = await events_once(client, complaint_id, "EscalatedToFirstSecretary")
    assert [event.type for event in events][-3:] == ["CaseFlagged", "ReportInOverdue", "EscalatedToFirstSecretary"]
    flagged, overdue = events[-3], events[-2]
    assert abs((overdue.at - flagged.at) - timedelta(hours=11)) < timedelta(seconds=5)
