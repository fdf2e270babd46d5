"""``WhistleClient.list`` on the dev server: for each filter, the read model lists exactly the cases the fold matches.

Seven cases are left in every stage, three communities, several departments and categories, one escalated
to the first secretary and one whose street secretary's window has passed (overdue). The expected answer of
each filter is worked out from each case's folded state (the workflow's ``state`` query), never from
the read model itself. The read model trails the history by the store's lag, so the comparison is retried until
it holds. The database is shared with the rest of the suite, so a filter's answer is read page by page to its end.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from temporalio.testing import WorkflowEnvironment

from activities.event_store import Pool
from schemas.errors import CommandRejected
from schemas.policy import SlaPolicy
from schemas.state import CaseState
from tests.domain_fixtures import blow, evaluate, report_in, verify
from tests.helpers import TestClient, case_handle, new_intake, running_worker, wait_until
from whistle.case_list import CaseFilter, CaseSummary
from workflows.complaint import ComplaintWorkflow

UM, MR, JO, PS = "urban_management", "market_regulation", "justice_office", "power_supply"

HOURS = {"verify": "2h", "report_in": "24h", "handling": "24h", "evaluation": "3d",
         "first_secretary": "24h", "street_secretary": "48h", "max_reopens": 2}  # fmt: skip
ESCALATING = SlaPolicy.model_validate({"default": {**HOURS, "report_in": "1s"}})
"""A department has one second to report in; the first secretary then has a day."""
TOP_OF_THE_LADDER = SlaPolicy.model_validate(
    {"default": {**HOURS, "report_in": "1s", "first_secretary": "1s", "street_secretary": "1s"}}
)
"""Every window on the ladder is one second: the case ends up with the street secretary, past their deadline."""

HONGQI = {"community": "hongqi", "grid": "hongqi_1", "category": "cooking_fumes"}
GANGYUAN = {"community": "gangyuan", "grid": "gangyuan_1", "category": "streetlight"}
ANJU = {"community": "anju", "grid": "anju_1", "category": "garbage"}


async def file(client: TestClient, place: dict[str, str]) -> str:
    return (await client.submit(new_intake(**place))).complaint_id


async def state_of(client: TestClient, complaint_id: str) -> CaseState:
    handle = case_handle(client.temporal, complaint_id)
    return await handle.query(ComplaintWorkflow.state)


@pytest.fixture(scope="module")
async def cases(dev_env: WorkflowEnvironment, pool: Pool) -> AsyncIterator[tuple[TestClient, list[str]]]:
    """The fixed case set, every case settled where the test wants it; yields the client and the case ids."""
    async with running_worker(dev_env.client, pool) as client:

        def filing_with(policy: SlaPolicy) -> TestClient:
            return client.with_policy(policy)

        escalating, laddering = filing_with(ESCALATING), filing_with(TOP_OF_THE_LADDER)
        try:
            discovered = await file(client, HONGQI)
            whistled = await file(client, GANGYUAN)
            await client.execute(whistled, verify("gw-gangyuan-1"))
            await client.execute(whistled, blow(UM, PS, by="sec-gangyuan"))
            handling = await file(client, HONGQI)
            await client.execute(handling, verify())
            await client.execute(handling, blow(MR))
            await client.execute(handling, report_in(MR))
            evaluating = await file(client, GANGYUAN)
            await client.execute(evaluating, verify("gw-gangyuan-1", resolved=True))
            closed = await file(client, ANJU)
            await client.execute(closed, verify("gw-anju-1", resolved=True))
            await client.execute(closed, evaluate("satisfied"))
            escalated = await file(escalating, HONGQI)
            await escalating.execute(escalated, verify())
            await escalating.execute(escalated, blow(JO))
            overdue = await file(laddering, ANJU)
            await laddering.execute(overdue, verify("gw-anju-1"))
            await laddering.execute(overdue, blow(UM, by="sec-anju"))

            async def settled() -> bool:
                top = await state_of(client, overdue)
                past = top.next_deadline is not None and top.next_deadline < datetime.now(UTC)
                return (await state_of(client, escalated)).escalation_level == 1 and top.escalation_level == 2 and past

            await wait_until(settled, within=20)
            yield client, [discovered, whistled, handling, evaluating, closed, escalated, overdue]
        finally:
            await escalating.end_open_cases()
            await laddering.end_open_cases()


def matches(state: CaseState, case_filter: CaseFilter, now: datetime) -> bool:
    """The filter's meaning, on the fold."""
    intake = state.case.intake
    deadline = state.watched_deadline
    return (
        case_filter.stage in (None, state.stage)
        and case_filter.community in (None, intake.community)
        and case_filter.grid in (None, intake.grid)
        and case_filter.category in (None, intake.category)
        and (case_filter.department is None or case_filter.department in state.departments)
        and (not case_filter.escalated or state.escalation_level > 0)
        and (not case_filter.overdue or (deadline is not None and deadline < now))
    )


FILTERS: list[dict[str, Any]] = [
    {"stage": "discovered"}, {"stage": "whistled"}, {"stage": "handling"}, {"stage": "evaluating"},
    {"stage": "closed"}, {"community": "hongqi"}, {"community": "anju"}, {"community": "gangyuan"},
    {"department": UM}, {"department": MR}, {"department": JO}, {"category": "streetlight"},
    {"category": "cooking_fumes"}, {"escalated": True}, {"overdue": True},
    {"community": "hongqi", "escalated": True}, {"stage": "whistled", "department": UM},
    {"community": "anju", "stage": "whistled", "overdue": True}, {"community": "hebin"}, {"grid": "gangyuan_1"},
    {"grid": "hongqi_1", "stage": "handling"}, {"grid": "hongqi_1"}, {"grid": "gangyuan_1", "stage": "whistled"},
    {"grid": "hongqi_2"},
]  # fmt: skip


async def every_page(
    client: TestClient, limit: int = 200, after: str | None = None, **fields: Any
) -> list[CaseSummary]:
    """The whole answer to a filter from ``after`` on, a page of ``limit`` at a time, each page starting after the
    last case of the previous one."""
    found: list[CaseSummary] = []
    while True:
        page = await client.list(**fields, limit=limit, after=found[-1].cursor if found else after)
        found += page
        if len(page) < limit:
            return found


async def test_every_filter_lists_exactly_the_cases_the_fold_matches(cases: tuple[TestClient, list[str]]) -> None:
    client, ids = cases
    states = {complaint_id: await state_of(client, complaint_id) for complaint_id in ids}
    assert {state.stage for state in states.values()} == {"discovered", "whistled", "handling", "evaluating", "closed"}
    mismatches: list[str] = []

    async def all_match() -> bool:
        mismatches.clear()
        now = datetime.now(UTC)
        for fields in FILTERS:
            expected = {cid for cid, state in states.items() if matches(state, CaseFilter(**fields), now)}
            listed = {summary.complaint_id for summary in await every_page(client, **fields, now=now)} & set(ids)
            if listed != expected:
                mismatches.append(f"{fields}: listed {sorted(listed)}, fold says {sorted(expected)}")
        return not mismatches

    try:
        await wait_until(all_match, within=20)
    except AssertionError:
        raise AssertionError("; ".join(mismatches)) from None
    escalated = await client.list(escalated=True, community="hongqi")
    assert [summary.escalation_level for summary in escalated if summary.complaint_id in ids] == [1]


async def test_a_listed_case_carries_its_current_columns(cases: tuple[TestClient, list[str]]) -> None:
    client, ids = cases
    whistled = ids[1]

    async def shown() -> bool:
        found = [summary for summary in await client.list(department=PS) if summary.complaint_id == whistled]
        return bool(found) and found[0].stage == "whistled"

    await wait_until(shown, within=20)
    [summary] = [summary for summary in await client.list(department=PS) if summary.complaint_id == whistled]
    state = await state_of(client, whistled)
    assert (summary.community, summary.grid, summary.category, sorted(summary.departments)) == (
        "gangyuan", "gangyuan_1", "streetlight", sorted(state.departments)
    )  # fmt: skip
    assert set(summary.departments) == {UM, PS}
    assert summary.next_deadline == state.next_deadline
    assert (summary.escalation_level, summary.overdue, summary.running) == (0, False, True)


async def test_pages_follow_each_other_newest_first_whatever_is_filed_between_them(
    cases: tuple[TestClient, list[str]],
) -> None:
    """Walking the pages after a first page, with a case filed in between, shows every case once, in order: those
    after the first page's last, the newcomer among them only if it sorts there (the suite's other cases carry
    filing times the time-skipping server moved ahead, so a case filed now need not be the newest)."""
    client, ids = cases

    async def all_stored() -> bool:
        return set(ids) <= {summary.complaint_id for summary in await every_page(client)}

    await wait_until(all_stored, within=20)
    whole = await every_page(client)
    first = await client.list(limit=7)
    newcomer = await file(client, ANJU)
    try:

        async def newcomer_stored() -> bool:
            return newcomer in {summary.complaint_id for summary in await every_page(client, grid=ANJU["grid"])}

        await wait_until(newcomer_stored, within=20)
        paged = first + await every_page(client, limit=7, after=first[-1].cursor)
        now_whole = await every_page(client)
    finally:
        await client.end_open_cases()

    def position(summary: CaseSummary) -> tuple[datetime, str]:
        return summary.filed_at, summary.complaint_id

    order = [position(summary) for summary in now_whole]
    assert order == sorted(order, reverse=True) and len(set(order)) == len(order)
    assert {summary.complaint_id for summary in now_whole} == {summary.complaint_id for summary in whole} | {newcomer}
    expected = first + [summary for summary in now_whole if position(summary) < position(first[-1])]
    assert [summary.complaint_id for summary in paged] == [summary.complaint_id for summary in expected]


async def test_a_cursor_that_is_not_one_is_refused_naming_after(cases: tuple[TestClient, list[str]]) -> None:
    client, _ = cases
    for cursor in ("T-1", "yesterday~T-1", "2026-12-05T10:00:00~T-1", "2026-12-05T10:00:00+00:00~"):
        with pytest.raises(CommandRejected) as refused:
            await client.list(after=cursor)
        assert refused.value.field == "after"
