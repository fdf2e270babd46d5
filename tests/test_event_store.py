"""The event store as the ``store`` activity writes it: batches are idempotent, gaps are refused, and the case row
is the fold of its events."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime, timedelta, timezone
from typing import Any

import asyncpg
import pytest
from temporalio.testing import ActivityEnvironment

from activities.event_store import (
    MIGRATIONS,
    OutOfSequence,
    Pool,
    apply_migrations,
    create_pool,
    list_cases,
    load_case,
    load_events,
)
from activities.store import BatchStore
from schemas.actors import Actor
from schemas.calendar import WorkCalendar
from schemas.commands import BlowWhistle, Command, CompletePart, ReportIn, VerifyComplaint
from schemas.events import RecordedEvent
from schemas.fold import apply, fold
from schemas.intake import CaseIntake, ComplaintInput, Location, ReporterReference
from schemas.org import Category, Community, Department, Grid, OrgDirectory, Person, Street
from schemas.policy import CasePolicy
from schemas.rules.decider import decide, file_complaint
from schemas.view import view_of
from tests.pg import fresh_database
from workflows.ports import StoreInput

FILED_AT = datetime(2026, 3, 2, 9, 0, tzinfo=timezone(timedelta(hours=8)))

DIRECTORY = OrgDirectory(
    district="石景山区",
    streets=[Street(code="gucheng", name="古城街道", secretary=Person(id="street.wang", name="王书记"))],
    communities=[
        Community(
            code="steelworks",
            name="首钢老山社区",
            street="gucheng",
            secretary=Person(id="sec.li", name="李书记"),
            first_secretary=Person(id="first.zhao", name="赵第一书记"),
            grids=[Grid(code="grid_01", name="一网格", grid_workers=[Person(id="gw.chen", name="陈网格员")])],
        )
    ],
    departments=[
        Department(code="urban_management", name="城管", name_en="Urban management"),
        Department(code="power", name="供电", name_en="Power utility"),
    ],
    categories=[
        Category(code="streetlight", name="路灯", name_en="Streetlight", departments=["power", "urban_management"])
    ],
)

POLICY = CasePolicy.model_validate(
    {"verify": "1d", "report_in": "2wd", "handling": "5wd", "evaluation": "3d",
     "first_secretary": "1wd", "street_secretary": "2wd", "max_reopens": 1}
)

HANDLED: list[Command] = [
    VerifyComplaint(actor=Actor(kind="grid_worker", id="gw.chen")),
    BlowWhistle(actor=Actor(kind="community_secretary", id="sec.li"), departments=["power", "urban_management"]),
    ReportIn(actor=Actor(kind="department", id="power"), department="power", officer="张工"),
    ReportIn(actor=Actor(kind="department", id="urban_management"), department="urban_management",
             officer="刘队"),
    CompletePart(actor=Actor(kind="department", id="power"), department="power", result="更换了三盏路灯"),
    CompletePart(actor=Actor(kind="department", id="urban_management"), department="urban_management",
                 result="清理了灯杆周边"),
]
"""A broken streetlight, whistled to two departments and handled to the resident's evaluation."""


def history(complaint_id: str, commands: list[Command]) -> list[RecordedEvent]:
    """The events the real decider records for filing ``complaint_id`` and then running ``commands``."""
    intake = CaseIntake(
        complaint_id=complaint_id,
        source="grid_patrol",
        community="steelworks",
        grid="grid_01",
        category="streetlight",
        title="3号楼前路灯不亮",
        description="3号楼前三盏路灯一周不亮, 老人夜里出门不便。",
        location=Location(address="老山东里3号楼"),
        reporter=ReporterReference(reference=f"pd-{'0' * 32}"),
        reported_at=FILED_AT,
    )
    case = ComplaintInput(
        complaint_id=complaint_id,
        intake=intake,
        context=DIRECTORY.context_for("steelworks", "grid_01", "streetlight"),
        policy=POLICY,
        calendar=WorkCalendar(),
    )
    events = file_complaint(case, FILED_AT)
    state = fold(events)
    for hour, command in enumerate(commands, start=1):
        decided = decide(state, command, FILED_AT + timedelta(hours=hour))
        for event in decided:
            state = apply(state, event)
        events += decided
    return [RecordedEvent(complaint_id=complaint_id, seq=seq, event=event) for seq, event in enumerate(events, 1)]


def batch(recorded: list[RecordedEvent]) -> StoreInput:
    complaint_id = recorded[0].complaint_id
    return StoreInput(
        complaint_id=complaint_id, workflow_id=f"complaint-{complaint_id}", run_id="run-1", events=recorded,
        notifications=[],
    )  # fmt: skip


@pytest.fixture(scope="module")
async def database_url() -> AsyncIterator[str]:
    async with fresh_database() as database:
        yield database.url


@pytest.fixture(scope="module")
async def pool(database_url: str) -> AsyncIterator[Pool]:
    pool = await create_pool(database_url)
    try:
        await apply_migrations(pool)
        yield pool
    finally:
        await pool.close()


async def case_row(pool: Pool, complaint_id: str) -> dict[str, Any] | None:
    row = await pool.fetchrow("select * from complaints where complaint_id = $1", complaint_id)
    return None if row is None else dict(row)


async def test_appended_events_project_a_row_equal_to_the_fold_of_the_stored_events(pool: Pool) -> None:
    recorded = history("light-1", HANDLED)
    store = BatchStore(pool)

    assert await store.store(batch(recorded[:3])) == 3
    assert await ActivityEnvironment().run(store.store, batch(recorded[3:])) == len(recorded) - 3

    stored = await load_events(pool, "light-1")
    assert stored == recorded
    assert await pool.fetchval(
        "select count(*) from events where complaint_id = 'light-1' and payload->>'type' = type"
    ) == len(recorded)
    folded = fold(event.event for event in stored)
    assert await load_case(pool, "light-1") == folded
    assert folded.stage == "evaluating"

    row = await case_row(pool, "light-1")
    assert row is not None
    view = view_of(folded)
    assert row["stage"] == "evaluating"
    assert row["community"] == "steelworks"
    assert row["departments"] == {"power": "done", "urban_management": "done"}
    assert row["lead"] == "power"
    assert folded.evaluation is not None
    assert row["next_deadline"] == view.next_deadline == folded.evaluation.due
    assert row["last_seq"] == len(recorded) == folded.event_count
    assert [case.complaint_id for case in await list_cases(pool)][-1] == "light-1"
    assert view in await list_cases(pool)


async def test_a_retried_append_writes_nothing_twice(pool: Pool) -> None:
    recorded = history("light-2", HANDLED[:2])
    store = BatchStore(pool)

    assert await store.store(batch(recorded)) == len(recorded)
    before = await case_row(pool, "light-2")
    assert await store.store(batch(recorded)) == 0
    assert await store.store(batch(recorded[1:])) == 0

    assert await case_row(pool, "light-2") == before
    assert await pool.fetchval("select count(*) from events where complaint_id = 'light-2'") == len(recorded)


async def test_a_batch_overlapping_stored_events_folds_only_the_new_ones(pool: Pool) -> None:
    recorded = history("light-3", HANDLED[:3])
    store = BatchStore(pool)

    assert await store.store(batch(recorded[:2])) == 2
    assert await store.store(batch(recorded)) == len(recorded) - 2

    assert await load_case(pool, "light-3") == fold(event.event for event in recorded)


async def test_a_batch_that_skips_a_seq_is_refused_and_writes_nothing(pool: Pool) -> None:
    recorded = history("light-4", HANDLED[:3])
    store = BatchStore(pool)
    assert await store.store(batch(recorded[:2])) == 2
    before = await case_row(pool, "light-4")

    with pytest.raises(OutOfSequence):
        await store.store(batch(recorded[3:]))
    with pytest.raises(OutOfSequence):
        await store.store(batch(history("light-5", HANDLED[:1])[1:]))

    assert await case_row(pool, "light-4") == before
    assert [event.seq for event in await load_events(pool, "light-4")] == [1, 2]
    assert await load_events(pool, "light-5") == []
    assert await load_case(pool, "light-5") is None


async def test_migrations_run_twice_or_concurrently_apply_each_file_once(pool: Pool, database_url: str) -> None:
    files = sorted(path.name for path in MIGRATIONS.glob("*.sql"))
    assert await apply_migrations(pool) == []

    # An empty schema first on the search path stands in for a fresh database on the same server.
    await pool.execute("create schema fresh_install")
    try:
        first, second = [
            await asyncpg.connect(database_url, server_settings={"search_path": "fresh_install"}) for _ in range(2)
        ]
        try:
            applied = await asyncio.gather(apply_migrations(first), apply_migrations(second))
            assert sorted(applied[0] + applied[1]) == files
            assert await apply_migrations(first) == []
            assert await first.fetchval("select count(*) from schema_migrations") == len(files)
            assert await first.fetchval("select count(*) from complaints") == 0
        finally:
            await first.close()
            await second.close()
    finally:
        await pool.execute("drop schema fresh_install cascade")
