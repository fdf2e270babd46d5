"""Rates and rankings (红黑榜) checked against figures worked out by hand, and the daily snapshot.

Seven cases are built with the real decider and stored through the ``store`` activity in a database of their own,
so the read models are exactly what a worker would have written; no Temporal is needed for the rate math.
Only the snapshot test runs the report workflow, on the dev server.

Past 300 lines: every figure of the report is checked against one hand-worked table of seven cases.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import get_args

import pytest
from asyncpg import Record
from temporalio.client import ScheduleBackfill, ScheduleOverlapPolicy, SchedulePolicy
from temporalio.testing import WorkflowEnvironment

from activities.event_store import Pool, apply_migrations, create_pool
from activities.rates import build_report, load_case_facts
from activities.store import BatchStore
from schemas.calendar import CHINA_TIME
from schemas.commands import Command, DeadlineKind, RateDepartment, WithdrawComplaint
from schemas.events import RecordedEvent
from schemas.fold import apply, fold
from schemas.rates import CaseFacts, DepartmentFacts, GroupFigures, Report, ReportGroupBy, rank_groups
from schemas.rules.decider import decide, file_complaint
from tests.domain_fixtures import (
    NOW,
    blow,
    complete,
    deadline,
    decline,
    evaluate,
    make_case,
    make_intake,
    order,
    report_in,
    resident,
    secretary,
    verify,
)
from tests.helpers import record_report_run, running_worker, wait_until
from tests.pg import TestDatabase, database_beside
from whistle.devstack import ensure_database
from whistle.schedules import CATCHUP_WINDOW, DAILY_REPORT, Nightly
from workflows.ports import StoreInput
from workflows.report import REPORT_WORKFLOW

UM, MR, JO = "urban_management", "market_regulation", "justice_office"
SE, PS = "street_enforcement", "power_supply"


class Story:
    """One case told command by command through the real decider, each a few minutes after the last."""

    def __init__(self, complaint_id: str, place: tuple[str, str, str], *, days_later: int = 0) -> None:
        community, grid, category = place
        filed_at = NOW + timedelta(days=days_later)
        intake = make_intake(community=community, grid=grid, category=category, reported_at=filed_at.isoformat())
        self.events = file_complaint(make_case(complaint_id=complaint_id, intake=intake), filed_at)
        self.state = fold(self.events)
        self.now = filed_at

    def then(self, *commands: Command) -> Story:
        for command in commands:
            self.now += timedelta(minutes=10)
            decided = decide(self.state, command, self.now)
            for event in decided:
                self.state = apply(self.state, event)
            self.events += decided
        return self

    def lapse(self, kind: DeadlineKind, department: str | None = None) -> Story:
        """Let the clock of ``kind`` run out, as the workflow's timer would."""
        open_clocks = [d for d in self.state.open_deadlines() if (d.kind, d.department) == (kind, department)]
        self.now = open_clocks[0].clock.due - timedelta(minutes=10)
        return self.then(deadline(kind, department))

    def recorded(self) -> StoreInput:
        complaint_id = self.state.complaint_id
        events = [RecordedEvent(complaint_id=complaint_id, seq=seq, event=e) for seq, e in enumerate(self.events, 1)]
        workflow_id = f"complaint-{complaint_id}"
        return StoreInput(
            complaint_id=complaint_id, workflow_id=workflow_id, run_id="r", events=events, notifications=[]
        )


def stories() -> list[Story]:
    """The fixed scenario set the hand-computed figures below are for."""
    hongqi = ("hongqi", "hongqi_1", "cooking_fumes")
    anju = ("anju", "anju_1", "unlicensed_business")
    return [
        # A: two departments on time, handled, rated by the community (双考核), satisfied.
        Story("A", hongqi).then(
            verify(), blow(UM, MR), report_in(UM), report_in(MR), complete(UM), complete(MR),
            RateDepartment(actor=secretary(), department=UM, in_person=True, result="good"),
            RateDepartment(actor=secretary(), department=MR, in_person=False, result="poor"),
            evaluate("satisfied"),
        ),
        # B: the justice office misses report-in (escalated), reports in late; unsatisfied once, then basically.
        Story("B", hongqi)
        .then(verify(), blow(UM, JO), report_in(UM))
        .lapse("report_in", JO)
        .then(report_in(JO), complete(UM), complete(JO), evaluate("unsatisfied"))
        .then(complete(UM), complete(JO), evaluate("basically_satisfied")),
        # E: whistled, the urban management bureau's report-in not yet due.
        Story("E", hongqi).then(verify(), blow(UM)),
        # C: resolved in the grid, the resident never rates it: closed unevaluated.
        Story("C", anju).then(verify("gw-anju-1", resolved=True)).lapse("evaluation"),
        # D: market regulation declines, enforcement reports in, then the resident withdraws.
        Story("D", anju).then(
            verify("gw-anju-1"),
            blow(MR, SE, by="sec-anju"),
            decline(MR),
            report_in(SE),
            WithdrawComplaint(actor=resident(), reason="问题已自行解决"),
        ),
        # G: the bureau misses report-in; the first secretary orders it in and it comes within the new window.
        Story("G", ("hebin", "hebin_1", "noise"))
        .then(verify("gw-hebin-1"), blow(UM, by="sec-hebin"))
        .lapse("report_in", UM)
        .then(order(UM, by="fs-hebin"), report_in(UM)),
        # F: filed three days later; both departments on time, handling overdue (escalated), still open.
        Story("F", ("gangyuan", "gangyuan_1", "streetlight"), days_later=3)
        .then(verify("gw-gangyuan-1"), blow(UM, PS, by="sec-gangyuan"), report_in(UM), report_in(PS))
        .lapse("handling"),
    ]


@pytest.fixture(scope="module")
async def report_pool(database: TestDatabase) -> AsyncIterator[Pool]:
    """A database of its own holding exactly the scenario set."""
    url = await ensure_database(database.url, f"whistle_reports_{uuid.uuid4().hex[:8]}")
    created = await create_pool(url)
    try:
        await apply_migrations(created)
        store = BatchStore(created)
        told = stories()
        stages = ["closed", "closed", "whistled", "closed", "closed", "handling", "handling"]
        assert [story.state.stage for story in told] == stages
        for story in told:
            await store.store(story.recorded())
        yield created
    finally:
        await created.close()


def figures(report: Report) -> dict[str, tuple[object, ...]]:
    """Per group: cases, (on time, summoned, declined), (resolved, closed, withdrawn), (satisfied, evaluations),
    overdue, escalated, rank, board."""

    def row(g: GroupFigures) -> tuple[object, ...]:
        return (
            g.cases,
            (g.reported_on_time, g.summoned, g.declined),
            (g.resolved, g.closed, g.withdrawn),
            (g.satisfied, g.evaluations),
            g.overdue,
            g.escalated,
            g.rank,
            g.board,
        )

    return {g.group: row(g) for g in report.groups}


async def test_community_rates_and_ranking_match_the_hand_counts(report_pool: Pool) -> None:
    report = await build_report(report_pool, "community", since=None, now=NOW + timedelta(days=30))
    assert [g.group for g in report.groups] == ["gangyuan", "hongqi", "anju", "hebin"]
    assert figures(report) == {
        "gangyuan": (1, (2, 2, 0), (0, 0, 0), (0, 0), 1, 1, 1, "red"),
        "hongqi": (3, (3, 4, 0), (2, 2, 0), (2, 3), 1, 1, 2, None),
        "anju": (2, (1, 1, 1), (1, 2, 1), (0, 0), 0, 0, 3, None),
        "hebin": (1, (0, 1, 0), (0, 0, 0), (0, 0), 1, 1, 4, "black"),
    }
    hongqi = report.groups[1]
    assert (hongqi.response_rate, hongqi.resolution_rate, hongqi.satisfaction_rate) == (0.75, 1.0, 0.6667)
    assert hongqi.score == pytest.approx((0.75 + 1.0 + 2 / 3) / 3, abs=1e-4)
    anju = report.groups[2]
    assert (anju.response_rate, anju.resolution_rate, anju.satisfaction_rate, anju.score) == (1.0, 0.5, None, 0.75)
    assert anju.name == "安居社区"


async def test_department_rates_count_only_the_cases_each_department_worked(report_pool: Pool) -> None:
    report = await build_report(report_pool, "department", since=None, now=NOW + timedelta(days=30))
    assert figures(report) == {
        MR: (2, (1, 1, 1), (1, 1, 0), (1, 1), 0, 0, 1, "red"),
        PS: (1, (1, 1, 0), (0, 0, 0), (0, 0), 1, 1, 2, None),
        UM: (5, (3, 4, 0), (2, 2, 0), (2, 3), 2, 2, 3, None),
        SE: (1, (1, 1, 0), (0, 1, 1), (0, 0), 0, 0, 4, None),
        JO: (1, (0, 1, 0), (1, 1, 0), (1, 2), 1, 1, 5, "black"),
    }
    by_code = {g.group: g for g in report.groups}
    assert (by_code[JO].response_rate, by_code[JO].satisfaction_rate, by_code[JO].score) == (0.0, 0.5, 0.5)
    assert by_code[UM].name == "区城市管理局"
    two_way = {code: (g.community_ratings, g.community_good, g.community_in_person, g.community_rating_rate)
               for code, g in by_code.items()}  # fmt: skip
    assert two_way == {UM: (1, 1, 1, 1.0), MR: (1, 0, 0, 0.0), JO: (0, 0, 0, None), SE: (0, 0, 0, None),
                       PS: (0, 0, 0, None)}  # fmt: skip


async def test_first_secretary_figures_follow_their_community(report_pool: Pool) -> None:
    by_secretary = await build_report(report_pool, "first_secretary", since=None, now=NOW)
    by_community = await build_report(report_pool, "community", since=None, now=NOW)
    assert [g.group for g in by_secretary.groups] == ["fs-gangyuan", "fs-hongqi", "fs-anju", "fs-hebin"]
    assert [g.name for g in by_secretary.groups] == ["郭立新", "孙卫东", "邓永胜", "唐建平"]
    strip = {"group", "name"}
    assert [g.model_dump(exclude=strip) for g in by_secretary.groups] == [
        g.model_dump(exclude=strip) for g in by_community.groups
    ]


async def test_since_counts_only_cases_filed_from_that_day(report_pool: Pool) -> None:
    report = await build_report(report_pool, "community", since=date(2025, 9, 25), now=NOW)
    assert [(g.group, g.cases, g.rank, g.board) for g in report.groups] == [("gangyuan", 1, 1, None)]


async def test_the_daily_report_workflow_stores_a_dated_snapshot(dev_env: WorkflowEnvironment, pool: Pool) -> None:
    groupings: tuple[ReportGroupBy, ...] = ("community", "department", "first_secretary")
    triggered_at = datetime.now(UTC)

    async def written_since_the_trigger() -> list[Record]:
        # The session's database is shared: other tests store snapshots of other days in it too.
        return await pool.fetch(
            "select by, day, report from report_snapshots where generated_at >= $1 order by by", triggered_at
        )

    async with running_worker(dev_env.client, pool) as client:
        schedule_id = f"test-daily-report-{uuid.uuid4().hex[:8]}"
        handle = await dev_env.client.create_schedule(schedule_id, DAILY_REPORT.schedule(client.task_queue))
        try:
            await handle.trigger()

            async def stored() -> bool:
                return len(await written_since_the_trigger()) == len(groupings)

            await wait_until(stored, within=20)
            await record_report_run(dev_env.client, handle, "scheduled")
        finally:
            await handle.delete()
    rows = await written_since_the_trigger()
    assert [row["by"] for row in rows] == sorted(groupings)
    for row in rows:
        report = Report.model_validate(row["report"])
        assert report.by == row["by"]
        assert row["day"] == report.generated_at.astimezone(CHINA_TIME).date()


async def test_a_scheduled_run_started_late_reports_the_day_it_was_scheduled_for(
    dev_env: WorkflowEnvironment, pool: Pool
) -> None:
    """A backfill starts, now, the run the schedule meant for 23:50 on 15 March 2024 (Beijing): as late as a run gets.
    Its snapshot is dated 15 March, not today."""
    scheduled_day = date(2024, 3, 15)
    scheduled_at = datetime(2024, 3, 15, 23, 50, tzinfo=CHINA_TIME)
    triggered_at = datetime.now(UTC)

    async def snapshot_days() -> list[date]:
        # Another test's run may store today's snapshot meanwhile: only 15 March counts, and only from this run.
        query = "select day from report_snapshots where day = $1 and generated_at >= $2"
        return [row["day"] for row in await pool.fetch(query, scheduled_day, triggered_at)]

    async with running_worker(dev_env.client, pool) as client:
        schedule_id = f"test-daily-report-{uuid.uuid4().hex[:8]}"
        handle = await dev_env.client.create_schedule(schedule_id, DAILY_REPORT.schedule(client.task_queue))
        try:
            around = timedelta(minutes=1)
            await handle.backfill(
                ScheduleBackfill(scheduled_at - around, scheduled_at + around, overlap=ScheduleOverlapPolicy.ALLOW_ALL)
            )

            async def stored() -> bool:
                return len(await snapshot_days()) == 3  # community, department, first secretary

            await wait_until(stored, within=20)  # dated today instead, they never come
            await record_report_run(dev_env.client, handle, "started-late")
        finally:
            await handle.delete()


def test_the_communitys_two_way_ratings_stand_beside_the_residents_satisfaction() -> None:
    def part(result: str | None, in_person: bool = True) -> DepartmentFacts:
        return DepartmentFacts(
            status="done", reported_on_time=True, report_in_lapsed=False,
            community_result=result, community_in_person=in_person,
        )  # fmt: skip

    def case(complaint_id: str, parts: dict[str, DepartmentFacts]) -> CaseFacts:
        return CaseFacts(
            complaint_id=complaint_id, community="hongqi", community_name="红旗社区", first_secretary="fs-hongqi",
            first_secretary_name="孙卫东", department_names={}, closed=True, outcome="satisfied", departments=parts,
            ratings=["satisfied"], late_departments=[], handling_overdue=False, escalations=[],
        )  # fmt: skip

    facts = [
        case("1", {UM: part("good"), MR: part("poor", in_person=False)}),
        case("2", {UM: part("fair", in_person=False), MR: part(None)}),
        case("3", {UM: part("good")}),
    ]
    by_code = {g.group: g for g in rank_groups(facts, "department")}
    um, mr = by_code[UM], by_code[MR]
    assert (um.community_ratings, um.community_good, um.community_in_person, um.community_rating_rate) == (
        3, 2, 2, 0.6667
    )  # fmt: skip
    assert (mr.community_ratings, mr.community_good, mr.community_in_person, mr.community_rating_rate) == (
        1, 0, 0, 0.0
    )  # fmt: skip
    assert (um.satisfaction_rate, mr.satisfaction_rate) == (1.0, 1.0)
    assert um.score == mr.score == 1.0  # beside the residents' figures, not part of the score


async def test_the_daily_schedule_is_created_once_however_often_workers_start(dev_env: WorkflowEnvironment) -> None:
    created = [await DAILY_REPORT.ensure(dev_env.client, "whistle-schedule-test") for _ in range(3)]
    handle = dev_env.client.get_schedule_handle(DAILY_REPORT.schedule_id)
    try:
        assert created.count(True) <= 1 and created[1:] == [False, False]
        described = await handle.describe()
        [calendar] = described.schedule.spec.calendars
        assert (calendar.hour[0].start, calendar.minute[0].start) == DAILY_REPORT.at
        assert described.schedule.spec.time_zone_name == "Asia/Shanghai"
        assert described.schedule.policy.catchup_window == CATCHUP_WINDOW == timedelta(hours=1)
    finally:
        await handle.delete()


async def test_a_schedule_from_before_the_catchup_window_gets_it_and_an_operators_window_stays(
    dev_env: WorkflowEnvironment,
) -> None:
    older = Nightly(f"test-nightly-{uuid.uuid4().hex[:8]}", REPORT_WORKFLOW, (23, 50))
    chosen = Nightly(f"test-nightly-{uuid.uuid4().hex[:8]}", REPORT_WORKFLOW, (23, 50))
    as_before = dataclasses.replace(older.schedule("q"), policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP))
    by_operator = dataclasses.replace(
        chosen.schedule("q"),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP, catchup_window=timedelta(hours=6)),
    )
    handles = [
        await dev_env.client.create_schedule(older.schedule_id, as_before),
        await dev_env.client.create_schedule(chosen.schedule_id, by_operator),
    ]
    try:
        assert not await older.ensure(dev_env.client, "q") and not await chosen.ensure(dev_env.client, "q")
        windows = [(await handle.describe()).schedule.policy.catchup_window for handle in handles]
        assert windows == [CATCHUP_WINDOW, timedelta(hours=6)]
    finally:
        for handle in handles:
            await handle.delete()


def test_a_terminated_case_is_counted_apart_from_the_resolution_rate() -> None:
    def closed_as(complaint_id: str, outcome: str) -> CaseFacts:
        return CaseFacts(
            complaint_id=complaint_id, community="hongqi", community_name="红旗社区", first_secretary="fs-hongqi",
            first_secretary_name="孙卫东", department_names={}, closed=True, outcome=outcome, departments={},
            ratings=[], late_departments=[], handling_overdue=False, escalations=[],
        )  # fmt: skip

    facts = [closed_as("1", "satisfied"), closed_as("2", "withdrawn"), closed_as("3", "terminated")]
    [hongqi] = rank_groups(facts, "community")
    assert (hongqi.cases, hongqi.resolved, hongqi.closed, hongqi.withdrawn, hongqi.terminated) == (3, 1, 2, 1, 1)
    assert hongqi.resolution_rate == 0.5


def test_urgings_are_counted_against_who_held_the_case() -> None:
    """催办: a department's figure counts the urgings made while it held the case; its community's (and first
    secretary's) every urging of the community's cases. Beside the rates, not in the score."""
    done = DepartmentFacts(
        status="done", reported_on_time=True, report_in_lapsed=False, community_result=None, community_in_person=False
    )
    case = CaseFacts(
        complaint_id="1", community="hongqi", community_name="红旗社区", first_secretary="fs-hongqi",
        first_secretary_name="孙卫东", department_names={}, closed=True, outcome="satisfied",
        departments={UM: done, MR: done}, ratings=["satisfied"], late_departments=[], handling_overdue=False,
        escalations=[], urgings=[[UM, MR], [UM], ["sec-hongqi"]],
    )  # fmt: skip
    by_code = {g.group: g for g in rank_groups([case], "department")}
    assert (by_code[UM].urged, by_code[MR].urged) == (2, 1)
    [community] = rank_groups([case], "community")
    [first_secretary] = rank_groups([case], "first_secretary")
    assert community.urged == first_secretary.urged == 3
    assert by_code[UM].score == by_code[MR].score == community.score == 1.0


def test_follow_up_calls_are_counted_beside_the_rates() -> None:
    """回访: the calls on a group's cases (a department's: on the cases it worked), those that found the problem
    unsolved, and the windows that ran out without the call the policy asked for. Beside the rates, not in the
    score."""
    done = DepartmentFacts(
        status="done", reported_on_time=True, report_in_lapsed=False, community_result=None, community_in_person=False
    )
    declined = DepartmentFacts(status="declined", reported_on_time=None, report_in_lapsed=False)
    case = CaseFacts(
        complaint_id="1", community="hongqi", community_name="红旗社区", first_secretary="fs-hongqi",
        first_secretary_name="孙卫东", department_names={}, closed=True, outcome="unevaluated",
        departments={UM: done, MR: declined}, ratings=[], late_departments=[], handling_overdue=False,
        escalations=[], follow_ups=["unreached", "unsolved", "solved"], follow_ups_missed=1,
    )  # fmt: skip
    [community] = rank_groups([case], "community")
    assert (community.followed_up, community.follow_up_unsolved, community.follow_up_missed) == (3, 1, 1)
    by_code = {g.group: g for g in rank_groups([case], "department")}
    assert (by_code[UM].followed_up, by_code[UM].follow_up_unsolved, by_code[UM].follow_up_missed) == (3, 1, 1)
    assert by_code[MR].followed_up == 0  # it declined: not its work
    assert community.score == 1.0  # resolved, no rating: the calls move no rate


def test_a_merged_report_counts_apart_and_its_problem_once() -> None:
    """工单合并: a report merged into another case is in no figure of its own (its problem is the primary's) and is
    counted apart as ``merged``; its departments stood down, so theirs leave it out too."""
    done = DepartmentFacts(
        status="done", reported_on_time=True, report_in_lapsed=False, community_result=None, community_in_person=False
    )
    late = DepartmentFacts(status="summoned", reported_on_time=None, report_in_lapsed=True)

    def case(complaint_id: str, *, merged: bool, outcome: str, parts: dict[str, DepartmentFacts]) -> CaseFacts:
        return CaseFacts(
            complaint_id=complaint_id, community="hongqi", community_name="红旗社区", first_secretary="fs-hongqi",
            first_secretary_name="孙卫东", department_names={}, closed=True, outcome=outcome, departments=parts,
            ratings=["satisfied"], late_departments=list(parts) if not merged else [UM], handling_overdue=False,
            escalations=[], merged=merged,
        )  # fmt: skip

    facts = [
        case("1", merged=False, outcome="satisfied", parts={UM: done}),
        case("2", merged=True, outcome="merged", parts={UM: late}),
        case("3", merged=True, outcome="merged", parts={}),
    ]
    [community] = rank_groups(facts, "community")
    assert (community.cases, community.merged, community.closed, community.evaluations) == (1, 2, 1, 1)
    assert (community.overdue, community.resolution_rate, community.satisfaction_rate) == (1, 1.0, 1.0)
    [department] = rank_groups(facts, "department")
    assert (department.cases, department.summoned, department.overdue) == (1, 1, 1)


async def test_a_report_counts_each_case_as_its_read_model_row_stands_now(database: TestDatabase) -> None:
    """The SQL sums over the kept contributions equal the figures counted from every case's facts, and a case that
    moved on since the last report is counted as it stands now (its contributions refreshed, not summed twice)."""
    async with database_beside(database, "whistle_reports") as own:
        pool = await create_pool(own.url)
        try:
            await apply_migrations(pool)
            store = BatchStore(pool)
            told = stories()
            halves: list[tuple[StoreInput, StoreInput]] = []
            for story in told:
                whole = story.recorded()
                cut = max(1, len(whole.events) // 2)
                halves.append((
                    whole.model_copy(update={"events": whole.events[:cut]}),
                    whole.model_copy(update={"events": whole.events[cut:]}),
                ))  # fmt: skip
            for first, _ in halves:
                await store.store(first)

            async def both_ways(by: ReportGroupBy) -> tuple[list[GroupFigures], list[GroupFigures]]:
                summed = (await build_report(pool, by, since=None, now=NOW)).groups
                return summed, rank_groups(await load_case_facts(pool, None), by)

            for by in get_args(ReportGroupBy):
                summed, counted = await both_ways(by)
                assert summed == counted and summed
            for _, rest in halves:
                if rest.events:
                    await store.store(rest)
            for by in get_args(ReportGroupBy):
                summed, counted = await both_ways(by)
                assert summed == counted
            # Once every case is whole, the figures are the hand counts of the scenario set.
            report = await build_report(pool, "community", since=None, now=NOW + timedelta(days=30))
            assert [g.group for g in report.groups] == ["gangyuan", "hongqi", "anju", "hebin"]
        finally:
            await pool.close()
