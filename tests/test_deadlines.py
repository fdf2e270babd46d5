"""Every deadline path of a running case, on Temporal's time-skipping test server with the real policy.

Hours and working days pass in an instant here, so each test runs the escalation ladder as a city would
see it over days, against a real worker and a real PostgreSQL.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from temporalio.testing import WorkflowEnvironment

from activities.calendar import calendar_for_filing
from activities.event_store import Pool, load_events
from schemas.calendar import CHINA_TIME
from schemas.commands import (
    BlowWhistle,
    CompletePart,
    DeclineCase,
    EvaluateOutcome,
    IssueDirective,
    ReportIn,
    VerifyComplaint,
)
from schemas.common import parse_duration
from schemas.view import CaseView
from tests.domain_fixtures import department as acting
from tests.domain_fixtures import first_secretary, grid_worker, resident, secretary
from tests.helpers import TestClient, history_event_types, new_intake, running_worker, sent_notifications, wait_until
from whistle.client import WhistleClient

LEAD, SECOND = "urban_management", "market_regulation"


@pytest.fixture(scope="module")
async def client(time_env: WorkflowEnvironment, pool: Pool) -> AsyncIterator[TestClient]:
    """One worker for the module: cases left open keep being served while later tests skip time."""
    async with running_worker(time_env.client, pool, end_open_cases=False) as whistle:
        yield whistle
        # Cases left running with no worker would stop time from skipping for every later module.
        await whistle.terminate_filed()


async def file_case(client: WhistleClient, **intake: object) -> str:
    result = await client.submit(new_intake(**intake))
    return result.complaint_id


async def whistled_case(client: WhistleClient) -> str:
    complaint_id = await file_case(client)
    await client.execute(complaint_id, VerifyComplaint(actor=grid_worker()))
    await client.execute(complaint_id, BlowWhistle(actor=secretary(), departments=[LEAD, SECOND]))
    return complaint_id


async def handling_case(client: WhistleClient) -> str:
    complaint_id = await whistled_case(client)
    for code in (LEAD, SECOND):
        await client.execute(complaint_id, ReportIn(actor=acting(code), department=code, officer="王科长"))
    return complaint_id


async def status_when(client: WhistleClient, complaint_id: str, holds: str) -> CaseView:
    """The case's status once ``holds`` (an expression over ``view``) is true."""
    seen: list[CaseView] = []

    async def check() -> bool:
        view = await client.status(complaint_id)
        seen.append(view)
        return bool(eval(holds, {}, {"view": view}))

    await wait_until(check)
    return seen[-1]


async def event_types(client: WhistleClient, complaint_id: str) -> list[str]:
    return [recorded.event.type for recorded in await client.events(complaint_id)]


async def test_unanswered_whistle_escalates_to_first_secretary_then_street_secretary(
    client: WhistleClient, time_env: WorkflowEnvironment
) -> None:
    complaint_id = await whistled_case(client)
    await client.execute(complaint_id, ReportIn(actor=acting(LEAD), department=LEAD, officer="王科长"))

    await time_env.sleep(timedelta(hours=24, minutes=1))
    view = await status_when(client, complaint_id, "view.escalation_level == 1")
    assert view.departments == {LEAD: "reported_in", SECOND: "summoned"}

    await time_env.sleep(timedelta(hours=24))
    await status_when(client, complaint_id, "view.escalation_level == 2")
    types = await event_types(client, complaint_id)
    assert types[-3:] == ["ReportInOverdue", "EscalatedToFirstSecretary", "EscalatedToStreetSecretary"]


async def test_first_secretary_order_brings_a_missed_department_in(
    client: WhistleClient, time_env: WorkflowEnvironment
) -> None:
    complaint_id = await whistled_case(client)
    await client.execute(complaint_id, ReportIn(actor=acting(LEAD), department=LEAD, officer="王科长"))
    await time_env.sleep(timedelta(hours=25))
    await status_when(client, complaint_id, "view.escalation_level == 1")

    ordered = await client.execute(
        complaint_id, IssueDirective(actor=first_secretary(), kind="order", departments=[SECOND], note="明早现场会")
    )
    assert ordered.escalation_level == 0
    assert ordered.departments[SECOND] == "summoned"
    view = await client.execute(complaint_id, ReportIn(actor=acting(SECOND), department=SECOND, officer="李所长"))
    assert view.stage == "handling"


async def test_grid_that_never_verifies_escalates_to_first_secretary(
    client: WhistleClient, time_env: WorkflowEnvironment
) -> None:
    complaint_id = await file_case(client)
    await time_env.sleep(timedelta(hours=2, minutes=1))
    view = await status_when(client, complaint_id, "view.escalation_level == 1")
    assert view.stage == "discovered"
    stored = await client.events(complaint_id)
    assert stored[-1].event.type == "EscalatedToFirstSecretary"
    assert stored[-1].event.model_dump()["cause"] == "verify"


async def test_overdue_handling_escalates_and_an_extension_answers_it(
    client: WhistleClient, time_env: WorkflowEnvironment
) -> None:
    complaint_id = await handling_case(client)
    before = await client.status(complaint_id)
    assert before.next_deadline is not None

    await time_env.sleep(before.next_deadline - await time_env.get_current_time() + timedelta(minutes=1))
    view = await status_when(client, complaint_id, "view.escalation_level == 1")
    assert view.stage == "handling"
    assert (await event_types(client, complaint_id))[-2:] == ["HandlingOverdue", "EscalatedToFirstSecretary"]

    extended = await client.execute(
        complaint_id, IssueDirective(actor=first_secretary(), kind="extend", extend_by=parse_duration("48h"))
    )
    assert extended.escalation_level == 0
    assert extended.next_deadline is not None and extended.next_deadline > before.next_deadline


async def test_unrated_case_closes_as_unevaluated_when_the_window_lapses(
    client: WhistleClient, time_env: WorkflowEnvironment
) -> None:
    complaint_id = await file_case(client)
    await client.execute(complaint_id, VerifyComplaint(actor=grid_worker(), resolved_in_grid=True))
    await time_env.sleep(timedelta(days=3, minutes=1))
    final = await status_when(client, complaint_id, "view.stage == 'closed'")
    assert final.outcome == "unevaluated"

    async def completed() -> bool:  # describe() cannot parse this server's datetime search attributes
        types = await history_event_types(client, complaint_id)
        return types[-1] == "EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED"

    await wait_until(completed)
    assert (await event_types(client, complaint_id))[-2:] == ["EvaluationLapsed", "CaseClosed"]


async def test_unsatisfied_resident_reopens_handling_until_the_limit_then_escalates(
    client: WhistleClient,
) -> None:
    complaint_id = await handling_case(client)
    for reopen in (1, 2):
        for code in (LEAD, SECOND):
            await client.execute(complaint_id, CompletePart(actor=acting(code), department=code, result="已处理"))
        unsatisfied = EvaluateOutcome(actor=resident(), rating="unsatisfied", comment="油烟还在")
        view = await client.execute(complaint_id, unsatisfied)
        assert (view.stage, view.reopen_count) == ("handling", reopen)
    for code in (LEAD, SECOND):
        await client.execute(complaint_id, CompletePart(actor=acting(code), department=code, result="再次处理"))
    view = await client.execute(complaint_id, EvaluateOutcome(actor=resident(), rating="unsatisfied"))
    assert (view.stage, view.reopen_count, view.escalation_level) == ("evaluating", 2, 1)


async def test_warning_goes_out_before_the_report_in_deadline(
    client: WhistleClient, time_env: WorkflowEnvironment
) -> None:
    complaint_id = await whistled_case(client)
    await time_env.sleep(timedelta(hours=20))  # past 80% of the 24 h window, before the deadline

    async def warned() -> bool:
        notices = await sent_notifications(client, complaint_id)
        return any(n.kind == "warning" and n.topic == "report_in_due_soon" for n in notices)

    await wait_until(warned)
    view = await client.status(complaint_id)
    assert view.escalation_level == 0


async def test_working_day_handling_deadline_skips_the_weekend(client: WhistleClient) -> None:
    complaint_id = await handling_case(client)
    view = await client.status(complaint_id)
    assert view.next_deadline is not None
    # "5wd" lands at the same Beijing time on the 5th working day after: every day it passes over that is not a
    # working day (a weekend, a holiday) lengthens it by one. How many that is depends on the weekday the
    # (time-skipped) clock shows, so count them rather than assume: 7 calendar days from a weekday, 6 from a
    # Saturday, exactly 5 from a Sunday (the CI run of 2026-12-05 filed on a Sunday in Beijing).
    calendar = calendar_for_filing(view.updated_at)
    start = view.updated_at.astimezone(CHINA_TIME)
    due = view.next_deadline.astimezone(CHINA_TIME)
    assert due.timetz() == start.timetz() and calendar.is_workday(due.date())
    passed = [start.date() + timedelta(days=n) for n in range(1, (due.date() - start.date()).days + 1)]
    assert sum(calendar.is_workday(day) for day in passed) == 5


async def test_every_event_reaches_the_store_in_order(client: WhistleClient, pool: Pool) -> None:
    complaint_id = await handling_case(client)

    async def stored_all() -> bool:
        return len(await load_events(pool, complaint_id)) == (await client.status(complaint_id)).event_count

    await wait_until(stored_all)
    assert await load_events(pool, complaint_id) == await client.events(complaint_id)


async def test_working_day_deadline_beyond_the_calendar_data_raises_the_alarm(
    client: WhistleClient, caplog: pytest.LogCaptureFixture
) -> None:
    long_handling = client.policy.model_copy(
        update={"default": client.policy.default.model_copy(update={"handling": parse_duration("200wd")})}
    )
    planner = client.with_policy(long_handling)
    complaint_id = await file_case(planner)
    await client.execute(complaint_id, VerifyComplaint(actor=grid_worker()))
    await client.execute(complaint_id, BlowWhistle(actor=secretary(), departments=[LEAD]))
    with caplog.at_level(logging.ERROR, logger="temporalio.workflow"):
        view = await client.execute(complaint_id, ReportIn(actor=acting(LEAD), department=LEAD, officer="王科长"))
        assert view.stage == "handling"

        async def alarmed() -> bool:
            return any("calendar data missing for 2027" in record.getMessage() for record in caplog.records)

        await wait_until(alarmed)


async def test_case_every_department_declined_escalates_when_nobody_reroutes_it(
    client: WhistleClient, time_env: WorkflowEnvironment
) -> None:
    complaint_id = await whistled_case(client)
    for code in (LEAD, SECOND):
        await client.execute(complaint_id, DeclineCase(actor=acting(code), department=code, reason="不属于本部门职责"))
    waiting = await client.status(complaint_id)
    assert waiting.stage == "whistled" and waiting.next_deadline is not None

    await time_env.sleep(waiting.next_deadline - await time_env.get_current_time() + timedelta(minutes=1))
    await status_when(client, complaint_id, "view.escalation_level == 1")
    stored = await client.events(complaint_id)
    assert stored[-1].event.model_dump()["cause"] == "reroute"
