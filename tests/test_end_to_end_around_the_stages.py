"""The practice around the five stages end to end on the dev server, one scenario per concept, each ending with the
event store equal to the workflow's history and the read model equal to the fold: a red whistle with a too-junior
officer refused and the community's rating of the department (whistle, rating), an approved extension
(extension), a parked case on the ledger with its review reminder and the public list (ledger), and reporting in
without the whistle (report_in)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from temporalio.testing import WorkflowEnvironment

from activities.event_store import Pool, load_case, load_events
from schemas.actors import Actor
from schemas.commands import (
    AnswerExtension,
    AskResident,
    BlowWhistle,
    DeclineCase,
    FlagCase,
    ProposeTermination,
    RateDepartment,
    Recategorise,
    ReportIn,
    ReportInProactively,
    RequestExtension,
    ResidentAnswer,
    ReviewResults,
    ReviewTermination,
    RuleResponsibility,
    UnflagCase,
    UrgeCase,
)
from schemas.common import parse_duration
from schemas.errors import CommandRejected
from schemas.fold import fold
from schemas.publication import PublishCase
from tests.domain_fixtures import (
    complete,
    department,
    evaluate,
    first_secretary,
    park,
    resident,
    secretary,
    street_secretary,
    verify,
)
from tests.helpers import TestClient, new_intake, running_worker, wait_until
from whistle.client import workflow_id_for
from whistle.ledger import LedgerEntryRow, ledger
from whistle.settings import DATA_DIR

LEAD = "urban_management"


@pytest.fixture(scope="module")
async def client(dev_env: WorkflowEnvironment, pool: Pool) -> AsyncIterator[TestClient]:
    async with running_worker(dev_env.client, pool, policy=DATA_DIR / "demo_policy.yaml") as whistle:
        yield whistle


async def closed_and_stored(client: TestClient, pool: Pool, complaint_id: str) -> list[str]:
    """Wait for the workflow to finish; the store must equal the history and the read model the fold."""
    await client.temporal.get_workflow_handle(workflow_id_for(complaint_id)).result()
    history = await client.events(complaint_id)
    stored = await load_events(pool, complaint_id)
    assert stored == history
    read_model = await load_case(pool, complaint_id)
    assert read_model == fold(recorded.event for recorded in stored)
    assert read_model.stage == "closed"
    return [recorded.event.type for recorded in stored]


async def test_red_whistle_needs_the_head_and_the_community_rates_the_department(
    client: TestClient, pool: Pool
) -> None:
    complaint_id = (await client.submit(new_intake())).complaint_id
    await client.execute(complaint_id, verify())
    await client.execute(complaint_id, BlowWhistle(actor=secretary(), departments=[LEAD], grade="red"))
    junior = ReportIn(actor=department(LEAD), department=LEAD, officer="王科长", seniority="section_head")
    with pytest.raises(CommandRejected) as refused:
        await client.execute(complaint_id, junior)
    assert refused.value.field == "seniority"
    head = ReportIn(actor=department(LEAD), department=LEAD, officer="赵局长", seniority="head")
    assert (await client.execute(complaint_id, head)).stage == "handling"
    await client.execute(complaint_id, complete(LEAD))
    rating = RateDepartment(actor=secretary(), department=LEAD, in_person=True, result="good", comment="局长亲自到场")
    await client.execute(complaint_id, rating)
    await client.execute(complaint_id, evaluate("satisfied"))
    types = await closed_and_stored(client, pool, complaint_id)
    assert "DepartmentRated" in types and types.count("DepartmentReportedIn") == 1
    stored = await load_events(pool, complaint_id)
    whistle = next(recorded.event for recorded in stored if recorded.event.type == "WhistleBlown")
    assert whistle.model_dump()["grade"] == "red"


async def test_an_approved_extension(client: TestClient, pool: Pool) -> None:
    complaint_id = (await client.submit(new_intake())).complaint_id
    await client.execute(complaint_id, verify())
    await client.execute(complaint_id, BlowWhistle(actor=secretary(), departments=[LEAD]))
    await client.execute(complaint_id, ReportIn(actor=department(LEAD), department=LEAD, officer="王科长"))
    asked = RequestExtension(actor=department(LEAD), department=LEAD, extend_by=parse_duration("1m"), reason="等待配件")
    await client.execute(complaint_id, asked)
    await client.execute(complaint_id, AnswerExtension(actor=first_secretary(), approve=True, note="同意"))
    await client.execute(complaint_id, complete(LEAD))
    await client.execute(complaint_id, evaluate("basically_satisfied"))
    types = await closed_and_stored(client, pool, complaint_id)
    assert [t for t in types if t.startswith("Extension")] == ["ExtensionRequested", "ExtensionApproved"]


async def test_a_parked_case_on_the_ledger_is_reviewed_and_published_without_personal_data(
    client: TestClient, pool: Pool
) -> None:
    complaint_id = (await client.submit(new_intake())).complaint_id
    await client.execute(complaint_id, verify())
    await client.execute(complaint_id, BlowWhistle(actor=secretary(), departments=[LEAD]))
    await client.execute(complaint_id, ReportIn(actor=department(LEAD), department=LEAD, officer="王科长"))
    assert (await client.execute(complaint_id, park())).parked

    async def reviewed() -> bool:  # the demo policy reminds every 10 s
        return "LedgerReviewReminded" in [recorded.event.type for recorded in await load_events(pool, complaint_id)]

    await wait_until(reviewed, within=40)
    now = datetime.now(UTC)

    async def public_rows() -> list[LedgerEntryRow]:
        rows = await ledger(pool, client.directory, datetime.now(UTC), public=True)
        return [row for row in rows if row.complaint_id == complaint_id]

    internal = [row for row in await ledger(pool, client.directory, now) if row.complaint_id == complaint_id]
    assert [(row.reason, row.owner, row.owner_name) for row in internal] == [("parked", "fs-hongqi", "孙卫东")]
    assert internal[0].address and await public_rows() == []  # on the public list only once published
    published = PublishCase(
        actor=first_secretary(), public_title="红旗社区烧烤油烟问题", public_description="挂账督办中。"
    )
    await client.publish(complaint_id, published)
    [public] = await public_rows()
    assert public.title == "红旗社区烧烤油烟问题" and public.address is None
    assert "苏慧敏" not in public.model_dump_json() and "13000000106" not in public.model_dump_json()

    await client.execute(complaint_id, complete(LEAD))
    await client.execute(complaint_id, evaluate("satisfied"))
    types = await closed_and_stored(client, pool, complaint_id)
    assert types.count("CaseLedgered") == 1
    closed = [row for row in await ledger(pool, client.directory, now) if row.complaint_id == complaint_id]
    assert closed[0].stage == "closed" and closed[0].next_review is None


async def test_reporting_in_without_waiting_for_the_whistle(client: TestClient, pool: Pool) -> None:
    complaint_id = (await client.submit(new_intake())).complaint_id
    came = ReportInProactively(actor=first_secretary(), officer="孙卫东")
    assert (await client.execute(complaint_id, came)).stage == "discovered"
    joined = ReportInProactively(actor=department(LEAD), department=LEAD, officer="王科长")
    view = await client.execute(complaint_id, joined)
    assert (view.stage, view.lead, view.departments) == ("handling", LEAD, {LEAD: "reported_in"})
    await client.execute(complaint_id, complete(LEAD))
    await client.execute(complaint_id, evaluate("satisfied"))
    types = await closed_and_stored(client, pool, complaint_id)
    assert types[:3] == ["ComplaintFiled", "ProactivelyReportedIn", "ProactivelyReportedIn"]
    assert "WhistleBlown" not in types


async def test_results_sent_back_by_the_review_then_accepted(client: TestClient, pool: Pool) -> None:
    reviewing = client.with_policy(client.policy.model_copy(update={"default": client.policy.default.model_copy(
        update={"review_before_evaluation": True})}))
    complaint_id = (await reviewing.submit(new_intake())).complaint_id
    await client.execute(complaint_id, verify())
    await client.execute(complaint_id, BlowWhistle(actor=secretary(), departments=[LEAD]))
    await client.execute(complaint_id, ReportIn(actor=department(LEAD), department=LEAD, officer="王科长"))
    assert (await client.execute(complaint_id, complete(LEAD))).stage == "handling"
    back = await client.execute(complaint_id, ReviewResults(actor=secretary(), approve=False, reason="油烟仍然直排"))
    assert back.departments == {LEAD: "reported_in"}
    await client.execute(complaint_id, complete(LEAD))
    accepted = await client.execute(complaint_id, ReviewResults(actor=secretary(), approve=True))
    assert accepted.stage == "evaluating"
    await client.execute(complaint_id, evaluate("satisfied"))
    types = await closed_and_stored(client, pool, complaint_id)
    assert [t for t in types if t.startswith("Results")] == ["ResultsSubmitted", "ResultsRejected",
                                                             "ResultsSubmitted", "ResultsApproved"]


async def test_a_reviewed_termination_closes_the_case_with_its_reason(client: TestClient, pool: Pool) -> None:
    complaint_id = (await client.submit(new_intake())).complaint_id
    await client.execute(complaint_id, verify())
    proposal = ProposeTermination(actor=secretary(), reason="not_our_responsibility", note="属物业合同纠纷，已告知居民")
    await client.execute(complaint_id, proposal)
    closed = await client.execute(complaint_id, ReviewTermination(actor=first_secretary(), approve=True))
    assert (closed.stage, closed.outcome) == ("closed", "terminated")
    types = await closed_and_stored(client, pool, complaint_id)
    assert types[-3:] == ["TerminationProposed", "TerminationApproved", "CaseClosed"]
    read_model = await load_case(pool, complaint_id)
    assert read_model is not None and read_model.closure_reason == "not_our_responsibility"


async def test_a_dispute_the_street_office_rules(client: TestClient, pool: Pool) -> None:
    complaint_id = (await client.submit(new_intake())).complaint_id  # the demo policy rules disputes
    await client.execute(complaint_id, verify())
    await client.execute(complaint_id, BlowWhistle(actor=secretary(), departments=[LEAD]))
    await client.execute(complaint_id, DeclineCase(actor=department(LEAD), department=LEAD, reason="不属于本部门"))
    ruled = RuleResponsibility(actor=street_secretary(), departments=["market_regulation"], note="街道裁定")
    view = await client.execute(complaint_id, ruled)
    assert view.departments == {LEAD: "declined", "market_regulation": "summoned"}
    regulation = department("market_regulation")
    with pytest.raises(CommandRejected):
        await client.execute(complaint_id, DeclineCase(actor=regulation, department="market_regulation", reason="否"))
    report = ReportIn(actor=department("market_regulation"), department="market_regulation", officer="李所长")
    await client.execute(complaint_id, report)
    await client.execute(complaint_id, complete("market_regulation"))
    await client.execute(complaint_id, evaluate("satisfied"))
    types = await closed_and_stored(client, pool, complaint_id)
    assert types[3:6] == ["DepartmentDeclined", "ResponsibilityDisputed", "ResponsibilityRuled"]


async def test_the_clocks_stop_while_the_resident_is_asked_and_run_again_when_they_answer(
    client: TestClient, pool: Pool
) -> None:
    complaint_id = (await client.submit(new_intake())).complaint_id
    await client.execute(complaint_id, verify())
    blown = await client.execute(complaint_id, BlowWhistle(actor=secretary(), departments=[LEAD]))  # 6 s to report in
    await client.execute(complaint_id, AskResident(actor=secretary(), reason="请居民提供照片"))
    await asyncio.sleep(8)  # past the report-in window: paused, so no escalation
    assert (await client.status(complaint_id)).escalation_level == 0
    resumed = await client.execute(complaint_id, ResidentAnswer(actor=resident(), note="照片已上传"))
    assert blown.next_deadline is not None and resumed.next_deadline is not None
    assert (resumed.next_deadline - blown.next_deadline).total_seconds() >= 7  # moved by the time it stood still
    await client.execute(complaint_id, ReportIn(actor=department(LEAD), department=LEAD, officer="王科长"))
    await client.execute(complaint_id, complete(LEAD))
    await client.execute(complaint_id, evaluate("satisfied"))
    types = await closed_and_stored(client, pool, complaint_id)
    assert [t for t in types if t.startswith("Clocks")] == ["ClocksPaused", "ClocksResumed"]
    assert "ReportInOverdue" not in types


async def test_a_supervisor_urges_and_flags_a_case_and_lists_show_it(client: TestClient, pool: Pool) -> None:
    supervisor = Actor(kind="supervisor", id="dubanchu-01")
    complaint_id = (await client.submit(new_intake())).complaint_id
    await client.execute(complaint_id, verify())
    blown = await client.execute(complaint_id, BlowWhistle(actor=secretary(), departments=[LEAD]))  # 6 s to report in
    await client.execute(complaint_id, UrgeCase(actor=supervisor, note="请尽快报到"))
    flagged = await client.execute(complaint_id, FlagCase(actor=supervisor, note="区领导批示：限期解决"))
    assert flagged.flagged and blown.next_deadline is not None and flagged.next_deadline is not None
    assert flagged.next_deadline < blown.next_deadline  # the demo policy halves what remains
    await client.execute(complaint_id, ReportIn(actor=department(LEAD), department=LEAD, officer="王科长"))

    async def listed(expected: bool) -> bool:
        return (complaint_id in {case.complaint_id for case in await client.list(flagged=True)}) == expected

    await wait_until(lambda: listed(True))
    lifted = await client.execute(complaint_id, UnflagCase(actor=supervisor, note="已报到"))
    assert not lifted.flagged
    await client.execute(complaint_id, complete(LEAD))
    await client.execute(complaint_id, evaluate("satisfied"))
    types = await closed_and_stored(client, pool, complaint_id)
    assert [t for t in types if t in ("CaseUrged", "CaseFlagged", "FlagLifted")] == [
        "CaseUrged", "CaseFlagged", "FlagLifted"
    ]
    await wait_until(lambda: listed(False))


async def test_a_corrected_category_routes_and_times_the_case_and_lists_find_it(client: TestClient, pool: Pool) -> None:
    complaint_id = (await client.submit(new_intake())).complaint_id
    await client.execute(complaint_id, verify())
    unknown = Recategorise(actor=secretary(), category="no_such_category", reason="实为燃气管道问题")
    with pytest.raises(CommandRejected) as refused:
        await client.execute(complaint_id, unknown)
    assert refused.value.field == "category"
    corrected = Recategorise(actor=secretary(), category="gas_supply", reason="实为燃气管道问题")
    view = await client.execute(complaint_id, corrected)
    assert view.category == "gas_supply"
    state = await client.state(complaint_id)
    assert state.case.context.suggested_departments[0] == "gas_company"

    async def listed() -> bool:
        return complaint_id in {case.complaint_id for case in await client.list(category="gas_supply")}

    await wait_until(listed)
    await client.execute(complaint_id, BlowWhistle(actor=secretary(), departments=["gas_company"]))
    gas = department("gas_company")
    await client.execute(complaint_id, ReportIn(actor=gas, department="gas_company", officer="赵工"))
    await client.execute(complaint_id, complete("gas_company"))
    await client.execute(complaint_id, evaluate("satisfied"))
    types = await closed_and_stored(client, pool, complaint_id)
    assert types.count("CaseRecategorised") == 1
    stored = await load_case(pool, complaint_id)
    assert stored is not None and stored.case.intake.category == "gas_supply"
