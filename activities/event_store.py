"""The PostgreSQL event store and the current-case read model folded from it.

The workflow's history is the source of truth; this store trails it. ``append_events`` inserts a batch
idempotently and folds only the rows that were new onto the stored case, with the same ``CaseState.apply``
the workflow uses, in one transaction: a retried append changes nothing, and a case row always equals the
fold of its stored events, so it can be rebuilt from ``events`` at any time.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from pathlib import Path
from typing import Any, TypeAlias

import asyncpg
from pydantic import TypeAdapter
from temporalio import activity

from activities import personal_data
from schemas.common import ComplaintId, Model
from schemas.events import ComplaintFiled, Event, RecordedEvent
from schemas.state import CaseState, start
from schemas.view import CaseView, view_of
from whistle.logging import get_logger

Pool: TypeAlias = "asyncpg.Pool[asyncpg.Record]"
Connection: TypeAlias = "asyncpg.Connection[asyncpg.Record] | asyncpg.pool.PoolConnectionProxy[asyncpg.Record]"

MIGRATIONS = Path(__file__).with_name("migrations")
MIGRATION_LOCK = 0x57484953  # "WHIS": the advisory lock every process takes before migrating
EVENT: TypeAdapter[Event] = TypeAdapter(Event)
FOLDED_CASES_KEPT = 2000
"""Cases whose last folded state an ``EventStore`` keeps (a few KiB each), about the worker's workflow cache."""


async def create_pool(database_url: str) -> Pool:
    """A pool whose connections read and write jsonb as Python values, so no caller handles JSON text."""
    return await asyncpg.create_pool(database_url, init=_use_json_codec)


async def _use_json_codec(connection: Connection) -> None:
    await connection.set_type_codec("jsonb", encoder=_dumps, decoder=json.loads, schema="pg_catalog")


def _dumps(value: Any) -> str:
    # Chinese text stays readable in psql and takes a third of the bytes of \\u escapes.
    return json.dumps(value, ensure_ascii=False)


async def apply_migrations(pool_or_conn: Pool | Connection) -> list[str]:
    """Apply the migration files not applied yet, in name order; return the names applied by this call.

    Every worker calls this on start: the advisory lock makes concurrent callers wait for each other, and
    each file is recorded in ``schema_migrations`` in the same transaction that applies it, so it runs once.
    """
    if isinstance(pool_or_conn, asyncpg.Pool):
        async with pool_or_conn.acquire() as connection:
            return await _migrate(connection)
    return await _migrate(pool_or_conn)


async def _migrate(connection: Connection) -> list[str]:
    applied: list[str] = []
    async with connection.transaction():
        await connection.execute("select pg_advisory_xact_lock($1)", MIGRATION_LOCK)
        await connection.execute(
            "create table if not exists schema_migrations "
            "(name text primary key, applied_at timestamptz not null default now())"
        )
        done = {row["name"] for row in await connection.fetch("select name from schema_migrations")}
        for path in sorted(MIGRATIONS.glob("*.sql")):
            if path.name not in done:
                await connection.execute(path.read_text(encoding="utf-8"))
                await connection.execute("insert into schema_migrations (name) values ($1)", path.name)
                applied.append(path.name)
    return applied


class AppendEventsInput(Model):
    """One batch from a case's outbox, in ``seq`` order, and the workflow run that recorded it."""

    complaint_id: ComplaintId
    workflow_id: str
    run_id: str
    events: list[RecordedEvent]


class OutOfSequence(RuntimeError):
    """The new events do not continue the stored case; projecting them would skip an event."""


_INSERT_EVENTS = """
insert into events (complaint_id, seq, type, at, payload, workflow_id, run_id)
select $1, batch.seq, batch.type, batch.at, batch.payload, $6, $7
from unnest($2::integer[], $3::text[], $4::timestamptz[], $5::jsonb[]) as batch (seq, type, at, payload)
on conflict (complaint_id, seq) do nothing
returning seq
"""

_VIEW_COLUMNS = (
    "community", "grid", "category", "urgency", "title", "stage", "escalation_level", "parked", "departments",
    "lead", "next_deadline", "reopen_count", "rating", "outcome", "filed_at", "updated_at", "closed_at",
)
"""Read-model columns copied from ``CaseView`` fields of the same name."""

_COLUMNS = ("complaint_id", *_VIEW_COLUMNS, "last_seq", "state")
_UPSERT_CASE = (
    f"insert into complaints ({', '.join(_COLUMNS)}) "
    f"values ({', '.join(f'${number}' for number in range(1, len(_COLUMNS) + 1))}) "
    f"on conflict (complaint_id) do update set {', '.join(f'{name} = excluded.{name}' for name in _COLUMNS[1:])}"
)


class EventStore:
    """The store's Temporal activities, sharing one connection pool."""

    def __init__(self, pool: Pool) -> None:
        self._pool = pool
        self._folded: OrderedDict[str, tuple[int, CaseState]] = OrderedDict()
        """The last state this process folded per case, keyed by its ``last_seq``; reused only when the row's
        ``last_seq`` still says the same, so a case's next append skips re-reading and re-validating its state."""

    @activity.defn(name="append_events")
    async def append_events(self, input: AppendEventsInput) -> int:
        """Store the batch and project it onto the case row; return how many events were new.

        Idempotent: events already stored are skipped and not folded again, so a retry returns 0 and changes
        nothing. If the new events do not continue the case's ``last_seq`` without a gap, it raises
        ``OutOfSequence`` and writes nothing; the activity's retries then keep the gap visible.
        """
        _check_batch(input)
        by_seq = {recorded.seq: recorded.event for recorded in input.events}
        events = list(by_seq.values())
        async with self._pool.acquire() as connection, connection.transaction():
            await personal_data.keep(connection, input.complaint_id, events)
            inserted = await connection.fetch(
                _INSERT_EVENTS,
                input.complaint_id,
                list(by_seq),
                [event.type for event in events],
                [event.at for event in events],
                [personal_data.withheld(event.model_dump(mode="json")) for event in events],
                input.workflow_id,
                input.run_id,
            )
            new_seqs = sorted(row["seq"] for row in inserted)
            if not new_seqs:
                return 0
            last_seq = await connection.fetchval(
                "select last_seq from complaints where complaint_id = $1 for update", input.complaint_id
            )
            last_seq = last_seq or 0
            if new_seqs != list(range(last_seq + 1, last_seq + 1 + len(new_seqs))):
                raise OutOfSequence(
                    f"case {input.complaint_id} has events up to {last_seq}; new events {new_seqs} leave a gap"
                )
            state = await self._stored_state(connection, input.complaint_id, last_seq)
            for seq in new_seqs:
                state = _fold_one(state, by_seq[seq], input.complaint_id)
            assert state is not None
            await upsert_case(connection, state, new_seqs[-1])
        self._remember(input.complaint_id, new_seqs[-1], state)
        get_logger(complaint_id=input.complaint_id, workflow_id=input.workflow_id, run_id=input.run_id).info(
            "events appended", new=len(new_seqs), last_seq=new_seqs[-1], stage=state.stage
        )
        return len(new_seqs)

    async def _stored_state(self, connection: Connection, complaint_id: str, last_seq: int) -> CaseState | None:
        """The case as its row holds it at ``last_seq`` (None before its first event)."""
        if last_seq == 0:
            return None
        folded = self._folded.get(complaint_id)
        if folded is not None and folded[0] == last_seq:
            return folded[1]
        return CaseState.model_validate(
            await connection.fetchval("select state from complaints where complaint_id = $1", complaint_id)
        )

    def _remember(self, complaint_id: str, last_seq: int, state: CaseState) -> None:
        self._folded[complaint_id] = (last_seq, state)
        self._folded.move_to_end(complaint_id)
        while len(self._folded) > FOLDED_CASES_KEPT:
            self._folded.popitem(last=False)



async def upsert_case(connection: Connection, state: CaseState, last_seq: int) -> None:
    """Write the case's read-model row: its view columns and the whole folded state up to ``last_seq``."""
    view = view_of(state)
    await connection.execute(
        _UPSERT_CASE,
        state.complaint_id,
        *(getattr(view, name) for name in _VIEW_COLUMNS),
        last_seq,
        personal_data.withheld(state.model_dump(mode="json")),
    )


def _check_batch(input: AppendEventsInput) -> None:
    """A batch names one case and each seq once; anything else is a bug in the caller, not a retry."""
    strangers = {recorded.complaint_id for recorded in input.events} - {input.complaint_id}
    if strangers:
        raise ValueError(f"batch for {input.complaint_id} holds events of {sorted(strangers)}")
    seqs = [recorded.seq for recorded in input.events]
    if len(set(seqs)) != len(seqs):
        raise ValueError(f"batch for {input.complaint_id} repeats a seq: {seqs}")


def _fold_one(state: CaseState | None, event: Event, complaint_id: str) -> CaseState:
    if state is not None:
        return state.apply(event)
    if not isinstance(event, ComplaintFiled):
        raise OutOfSequence(f"case {complaint_id} is not stored yet and its first new event is {event.type}")
    return start(event)


async def load_events(pool: Pool, complaint_id: str) -> list[RecordedEvent]:
    """The case's stored events in order (empty for an unknown case), the reporter put back from ``personal_data``."""
    rows = await pool.fetch("select seq, payload from events where complaint_id = $1 order by seq", complaint_id)
    reporter = await personal_data.reporter_of(pool, complaint_id) if rows else None
    return [
        RecordedEvent(
            complaint_id=complaint_id,
            seq=row["seq"],
            event=EVENT.validate_python(personal_data.restored(row["payload"], reporter)),
        )
        for row in rows
    ]


async def load_case(pool: Pool, complaint_id: str) -> CaseState | None:
    """The case as the read model last folded it (the reporter put back), or None if nothing is stored for it."""
    state = await pool.fetchval("select state from complaints where complaint_id = $1", complaint_id)
    if state is None:
        return None
    return CaseState.model_validate(personal_data.restored(state, await personal_data.reporter_of(pool, complaint_id)))


async def list_cases(pool: Pool) -> list[CaseView]:
    """Every case at a glance, oldest filing first."""
    rows = await pool.fetch("select state from complaints order by filed_at, complaint_id")
    return [view_of(CaseState.model_validate(row["state"])) for row in rows]
