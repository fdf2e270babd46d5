"""End to end on a Temporal dev server and a real PostgreSQL: every way a case can close, read back three ways.

A closed case must read the same in the workflow's history, in the event store and in the workflow's own
state: the same events in the same order, and the same folded case. A retried append, a rejected command, a
second filing and a bad intake must each leave nothing behind.

The lifecycle scenarios are started together when the module's first test asks for them and run
concurrently on one worker; each scenario's test waits only for its own case.

Past 300 lines: every way a case can close, each read back three ways on real servers.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from temporalio.client import WorkflowHandle
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import ActivityEnvironment, WorkflowEnvironment

from activities.event_store import Pool, load_case, load_events
from activities.files import load_policy
from activities.registry import FilingConflict
from activities.store import BatchStore
from schemas.commands import PersonCommand, RecordProgress, WithdrawComplaint
from schemas.errors import CommandRejected
from schemas.events import Outcome
from schemas.fold import fold
from schemas.policy import SlaPolicy
from schemas.state import DepartmentStatus
from schemas.view import CaseView, view_of
from tests.domain_fixtures import (
    OTHER_FIRST_SECRETARY,
    blow,
    complete,
    decline,
    department,
    evaluate,
    order,
    report_in,
    resident,
    verify,
)
from tests.helpers import TestClient, case_handle, history_event_types, new_intake, running_worker, wait_until
from whistle.client import WhistleClient, workflow_id_for
from whistle.settings import DATA_DIR
from workflows.complaint import ComplaintWorkflow
from workflows.ports import StoreInput

LEAD, SECOND = "urban_management", "market_regulation"

RATING_WINDOW_OF_TWO_SECONDS = SlaPolicy.model_validate(
    {
        "default": {
            "verify": "2h", "report_in": "24h", "handling": "5wd", "evaluation": "2s",
            "first_secretary": "24h", "street_secretary": "48h", "max_reopens": 2,
        }
    }
)  # fmt: skip
"""The production windows, except that the resident has two seconds to rate the result."""


@dataclass(frozen=True)
class Clients:
    """SDK clients on one worker's task queue; the policy each files with is frozen into its cases."""

    production: TestClient
    """Hours and working days: no clock runs out while a test runs."""
    demo: TestClient
    """The seconds-scale demo policy: a department has 6 s to report in."""
    lapsing: TestClient
    """The resident's rating window is two seconds."""


@pytest.fixture(scope="module")
async def clients(dev_env: WorkflowEnvironment, pool: Pool) -> AsyncIterator[Clients]:
    async with running_worker(dev_env.client, pool, policy=DATA_DIR / "demo_policy.yaml") as demo:

        def filing_with(policy: SlaPolicy) -> TestClient:
            return demo.with_policy(policy)

        production = filing_with(load_policy(DATA_DIR / "policy.yaml"))
        lapsing = filing_with(RATING_WINDOW_OF_TWO_SECONDS)
        try:
            yield Clients(production=production, demo=demo, lapsing=lapsing)
        finally:
            await production.end_open_cases()
            await lapsing.end_open_cases()


def handle_for(client: WhistleClient, complaint_id: str) -> WorkflowHandle[Any, CaseView]:
    return case_handle(client.temporal, complaint_id)


async def file_case(client: WhistleClient) -> str:
    return (await client.submit(new_intake())).complaint_id


# The lifecycle scenarios: each drives a case to closed and returns its id once the workflow has completed.


async def resolved_in_grid_then_satisfied(clients: Clients) -> str:
    client = clients.production
    complaint_id = await file_case(client)
    resolved = await client.execute(complaint_id, verify(resolved=True))
    assert (resolved.stage, resolved.departments) == ("evaluating", {})
    await client.execute(complaint_id, evaluate("satisfied"))
    return complaint_id


async def every_stage_with_two_departments_then_satisfied(clients: Clients) -> str:
    client = clients.production
    complaint_id = await file_case(client)
    await client.execute(complaint_id, verify())
    whistled = await client.execute(complaint_id, blow(LEAD, SECOND, lead=SECOND))
    assert (whistled.stage, whistled.lead) == ("whistled", SECOND)
    for code in (LEAD, SECOND):
        handling = await client.execute(complaint_id, report_in(code))
    assert handling.stage == "handling"
    for code in (LEAD, SECOND):
        note = RecordProgress(actor=department(code), department=code, note="已约谈店主，安装净化器")
        await client.execute(complaint_id, note)
    for code in (LEAD, SECOND):
        evaluating = await client.execute(complaint_id, complete(code))
    assert evaluating.stage == "evaluating"
    await client.execute(complaint_id, evaluate("satisfied"))
    return complaint_id


async def declined_and_rerouted_by_a_second_whistle(clients: Clients) -> str:
    client = clients.production
    complaint_id = await file_case(client)
    await client.execute(complaint_id, verify())
    await client.execute(complaint_id, blow(LEAD))
    declined = await client.execute(complaint_id, decline(LEAD))
    assert (declined.stage, declined.lead, declined.departments) == ("whistled", None, {LEAD: "declined"})
    rerouted = await client.execute(complaint_id, blow(SECOND))
    assert (rerouted.lead, rerouted.departments) == (SECOND, {LEAD: "declined", SECOND: "summoned"})
    await client.execute(complaint_id, report_in(SECOND))
    await client.execute(complaint_id, complete(SECOND))
    await client.execute(complaint_id, evaluate("basically_satisfied"))
    return complaint_id


async def unsatisfied_reopens_handling_then_satisfied(clients: Clients) -> str:
    client = clients.production
    complaint_id = await file_case(client)
    await client.execute(complaint_id, verify())
    await client.execute(complaint_id, blow(LEAD))
    await client.execute(complaint_id, report_in(LEAD))
    await client.execute(complaint_id, complete(LEAD))
    reopened = await client.execute(complaint_id, evaluate("unsatisfied"))
    assert (reopened.stage, reopened.reopen_count, reopened.departments) == ("handling", 1, {LEAD: "reported_in"})
    await client.execute(complaint_id, complete(LEAD))
    await client.execute(complaint_id, evaluate("satisfied"))
    return complaint_id


async def withdrawn_by_the_reporter(clients: Clients) -> str:
    client = clients.production
    complaint_id = await file_case(client)
    await client.execute(complaint_id, verify())
    await client.execute(complaint_id, blow(LEAD))
    await client.execute(complaint_id, WithdrawComplaint(actor=resident(), reason="店家已自行整改"))
    return complaint_id


async def rating_window_lapses_unevaluated(clients: Clients) -> str:
    client = clients.lapsing
    complaint_id = await file_case(client)
    await client.execute(complaint_id, verify())
    await client.execute(complaint_id, blow(LEAD))
    await client.execute(complaint_id, report_in(LEAD))
    await client.execute(complaint_id, complete(LEAD))
    return complaint_id  # nobody rates it: the window's own timer closes the case


async def missed_report_in_escalates_and_the_first_secretary_orders_it_in(clients: Clients) -> str:
    client = clients.demo
    complaint_id = await file_case(client)
    await client.execute(complaint_id, verify())
    await client.execute(complaint_id, blow(LEAD))

    async def escalated() -> bool:
        return (await client.status(complaint_id)).escalation_level == 1

    await wait_until(escalated, within=30)
    ordered = await client.execute(complaint_id, order(LEAD))
    assert (ordered.escalation_level, ordered.departments) == (0, {LEAD: "summoned"})
    handling = await client.execute(complaint_id, report_in(LEAD))
    assert handling.stage == "handling"
    await client.execute(complaint_id, complete(LEAD))
    await client.execute(complaint_id, evaluate("satisfied"))
    return complaint_id


@dataclass(frozen=True)
class Scenario:
    drive: Callable[[Clients], Awaitable[str]]
    events: tuple[str, ...]
    """The domain events the case records, in order."""
    outcome: Outcome
    departments: dict[str, DepartmentStatus] = field(default_factory=dict)
    reopen_count: int = 0


SCENARIOS: dict[str, Scenario] = {
    "resolved_in_grid_then_satisfied": Scenario(
        resolved_in_grid_then_satisfied,
        ("ComplaintFiled", "GridVerified", "ResolvedInGrid", "ResidentEvaluated", "CaseClosed"),
        "satisfied",
    ),
    "every_stage_with_two_departments_then_satisfied": Scenario(
        every_stage_with_two_departments_then_satisfied,
        ("ComplaintFiled", "GridVerified", "WhistleBlown", "DepartmentReportedIn", "DepartmentReportedIn",
         "ProgressRecorded", "ProgressRecorded", "PartCompleted", "PartCompleted", "HandlingCompleted",
         "ResidentEvaluated", "CaseClosed"),
        "satisfied",
        {LEAD: "done", SECOND: "done"},
    ),
    "declined_and_rerouted_by_a_second_whistle": Scenario(
        declined_and_rerouted_by_a_second_whistle,
        ("ComplaintFiled", "GridVerified", "WhistleBlown", "DepartmentDeclined", "WhistleBlown",
         "DepartmentReportedIn", "PartCompleted", "HandlingCompleted", "ResidentEvaluated", "CaseClosed"),
        "basically_satisfied",
        {LEAD: "declined", SECOND: "done"},
    ),
    "unsatisfied_reopens_handling_then_satisfied": Scenario(
        unsatisfied_reopens_handling_then_satisfied,
        ("ComplaintFiled", "GridVerified", "WhistleBlown", "DepartmentReportedIn", "PartCompleted",
         "HandlingCompleted", "ResidentEvaluated", "CaseReopened", "PartCompleted", "HandlingCompleted",
         "ResidentEvaluated", "CaseClosed"),
        "satisfied",
        {LEAD: "done"},
        reopen_count=1,
    ),
    "withdrawn_by_the_reporter": Scenario(
        withdrawn_by_the_reporter,
        ("ComplaintFiled", "GridVerified", "WhistleBlown", "CaseWithdrawn", "CaseClosed"),
        "withdrawn",
        {LEAD: "summoned"},
    ),
    "rating_window_lapses_unevaluated": Scenario(
        rating_window_lapses_unevaluated,
        ("ComplaintFiled", "GridVerified", "WhistleBlown", "DepartmentReportedIn", "PartCompleted",
         "HandlingCompleted", "EvaluationLapsed", "CaseClosed"),
        "unevaluated",
        {LEAD: "done"},
    ),
    "missed_report_in_escalates_and_the_first_secretary_orders_it_in": Scenario(
        missed_report_in_escalates_and_the_first_secretary_orders_it_in,
        ("ComplaintFiled", "GridVerified", "WhistleBlown", "ReportInOverdue", "EscalatedToFirstSecretary",
         "DirectiveIssued", "DepartmentReportedIn", "PartCompleted", "HandlingCompleted", "ResidentEvaluated",
         "CaseClosed"),
        "satisfied",
        {LEAD: "done"},
    ),
}  # fmt: skip


@pytest.fixture(scope="module")
async def closed_cases(clients: Clients) -> AsyncIterator[dict[str, asyncio.Task[str]]]:
    """Every scenario, started at once; each task ends with the case's id once its workflow has completed."""

    async def run_to_completion(scenario: Scenario) -> str:
        complaint_id = await scenario.drive(clients)
        await handle_for(clients.production, complaint_id).result()
        return complaint_id

    tasks = {name: asyncio.create_task(run_to_completion(scenario)) for name, scenario in SCENARIOS.items()}
    yield tasks
    for task in tasks.values():
        task.cancel()
    await asyncio.gather(*tasks.values(), return_exceptions=True)


@pytest.mark.parametrize("scenario", list(SCENARIOS))
async def test_closed_case_reads_the_same_in_history_store_and_workflow(
    scenario: str, closed_cases: dict[str, asyncio.Task[str]], clients: Clients, pool: Pool
) -> None:
    complaint_id = await closed_cases[scenario]
    expected = SCENARIOS[scenario]
    client = clients.production
    handle = handle_for(client, complaint_id)

    stored = await load_events(pool, complaint_id)
    assert stored == await client.events(complaint_id)
    assert [recorded.seq for recorded in stored] == list(range(1, len(stored) + 1))
    assert tuple(recorded.event.type for recorded in stored) == expected.events

    read_model = await load_case(pool, complaint_id)
    assert read_model is not None
    assert read_model == fold(recorded.event for recorded in stored)
    workflow_state = await handle.query(ComplaintWorkflow.state)
    assert read_model.model_dump(mode="json") == workflow_state.model_dump(mode="json")

    status = await client.status(complaint_id)
    assert (status.stage, status.outcome, status.escalation_level) == ("closed", expected.outcome, 0)
    assert (status.departments, status.reopen_count, status.next_deadline) == (
        expected.departments,
        expected.reopen_count,
        None,
    )
    assert status.event_count == len(stored)
    assert status == view_of(read_model) == await handle.result()


async def test_retried_append_writes_nothing_twice(
    closed_cases: dict[str, asyncio.Task[str]], clients: Clients, pool: Pool
) -> None:
    complaint_id = await closed_cases["every_stage_with_two_departments_then_satisfied"]
    stored = await load_events(pool, complaint_id)
    case_row = "select * from complaints where complaint_id = $1"
    row = await pool.fetchrow(case_row, complaint_id)
    assert row is not None and row["last_seq"] == len(stored)
    run_id = (await handle_for(clients.production, complaint_id).describe()).run_id
    whole = StoreInput(
        complaint_id=complaint_id, workflow_id=workflow_id_for(complaint_id), run_id=run_id, events=stored,
        notifications=[],
    )  # fmt: skip
    store = BatchStore(pool)

    assert await ActivityEnvironment().run(store.store, whole) == 0
    last_batch = whole.model_copy(update={"events": stored[-2:]})
    assert await ActivityEnvironment().run(store.store, last_batch) == 0

    assert await load_events(pool, complaint_id) == stored
    assert await pool.fetchval("select count(*) from events where complaint_id = $1", complaint_id) == len(stored)
    assert await pool.fetchrow(case_row, complaint_id) == row


async def test_rejected_commands_leave_no_trace_in_history_or_store(clients: Clients, pool: Pool) -> None:
    client = clients.production
    complaint_id = await file_case(client)
    await client.execute(complaint_id, verify())
    await client.execute(complaint_id, blow(LEAD))
    handle = handle_for(client, complaint_id)

    async def settled() -> bool:
        """Every event stored, every activity done, and no workflow task scheduled or running."""
        description = await handle.describe()
        history = await history_event_types(client, complaint_id)
        stored = await load_events(pool, complaint_id)
        return (
            not description.raw_description.pending_activities
            and history[-1] not in ("EVENT_TYPE_WORKFLOW_TASK_SCHEDULED", "EVENT_TYPE_WORKFLOW_TASK_STARTED")
            and len(stored) == (await client.status(complaint_id)).event_count
        )

    await wait_until(settled)
    history = await history_event_types(client, complaint_id)
    stored = await load_events(pool, complaint_id)
    read_model = await load_case(pool, complaint_id)
    before = await client.status(complaint_id)

    rejections: list[tuple[PersonCommand, str]] = [
        (report_in(SECOND), "department"),  # market regulation was never summoned
        (evaluate("satisfied"), "stage"),  # nothing has been handled yet
        (order(LEAD, by=OTHER_FIRST_SECRETARY), "actor"),  # another community's first secretary
    ]
    for command, named in rejections:
        with pytest.raises(CommandRejected) as rejected:
            await client.execute(complaint_id, command)
        assert rejected.value.field == named

    assert await history_event_types(client, complaint_id) == history
    assert await load_events(pool, complaint_id) == stored
    assert await load_case(pool, complaint_id) == read_model
    assert await client.status(complaint_id) == before

    await client.execute(complaint_id, report_in(LEAD))  # the control: an accepted command does leave a trace
    after = await history_event_types(client, complaint_id)
    assert after[: len(history)] == history
    assert "EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED" in after[len(history) :]


async def test_same_complaint_filed_twice_is_one_case(clients: Clients, pool: Pool) -> None:
    client = clients.production
    intake = new_intake()
    both = await asyncio.gather(client.submit(intake), client.submit(intake))  # a double-click
    first, again = sorted(both, key=lambda result: result.duplicate)
    assert (first.duplicate, again.duplicate) == (False, True)
    assert again.model_copy(update={"duplicate": False}) == first
    with pytest.raises(FilingConflict):  # the id is filed: another body under it starts nothing
        await client.submit(intake.model_copy(update={"title": "烧烤店油烟直排（补充材料）"}))

    same_id = f"WorkflowId = '{first.workflow_id}'"

    async def listed() -> bool:  # visibility trails the start a little
        return (await client.temporal.count_workflows(same_id)).count != 0

    await wait_until(listed)
    runs = [execution.run_id async for execution in client.temporal.list_workflows(same_id)]
    assert runs == [first.run_id]

    async def filed() -> bool:
        # The history and the store: the store activity writes a moment after its batch is recorded.
        return bool(await client.events(first.complaint_id)) and bool(await load_events(pool, first.complaint_id))

    await wait_until(filed)
    filings = [r for r in await client.events(first.complaint_id) if r.event.type == "ComplaintFiled"]
    assert len(filings) == 1


async def test_closed_case_filed_again_returns_the_closed_case(
    closed_cases: dict[str, asyncio.Task[str]], clients: Clients, pool: Pool
) -> None:
    complaint_id = await closed_cases["withdrawn_by_the_reporter"]
    client = clients.production
    read_model = await load_case(pool, complaint_id)
    assert read_model is not None
    run_id = (await handle_for(client, complaint_id).describe()).run_id

    again = await client.submit(client.intakes[complaint_id])  # the intake as first sent, reporter and all
    assert (again.complaint_id, again.run_id, again.duplicate) == (complaint_id, run_id, True)
    assert (await client.status(complaint_id)).outcome == "withdrawn"
    with pytest.raises(CommandRejected) as rejected:
        await client.execute(complaint_id, verify())
    assert rejected.value.field == "stage"


@pytest.mark.parametrize(
    ("named", "overrides"),
    [
        ("community", {"community": "atlantis"}),
        ("grid", {"grid": "anju_1"}),  # a grid of another community
        ("category", {"category": "ufo_sighting"}),
        ("reported_at", {"reported_at": (datetime.now(UTC) + timedelta(days=1)).isoformat()}),
    ],
    ids=["unknown_community", "grid_not_in_community", "unknown_category", "reported_in_the_future"],
)
async def test_intake_the_directory_refutes_starts_no_case(
    named: str, overrides: dict[str, str], clients: Clients
) -> None:
    client = clients.production
    intake = new_intake(**overrides)
    with pytest.raises(CommandRejected) as rejected:
        await client.submit(intake)
    assert rejected.value.field == named

    assert intake.complaint_id is not None
    with pytest.raises(RPCError) as missing:
        await client.temporal.get_workflow_handle(workflow_id_for(intake.complaint_id)).describe()
    assert missing.value.status == RPCStatusCode.NOT_FOUND
