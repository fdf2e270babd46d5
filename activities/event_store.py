"""The PostgreSQL event store and the current-case read model folded from it.

The workflow's history is the source of truth; this store trails it. The ``store`` activity
(``activities/store.py``) writes each batch the history recorded and folds the new events onto the stored
case, with the same ``CaseState.apply`` the workflow uses, in one transaction; this module holds what it and
the other writers share (the pool, the migrations, the row's columns) and what readers load. A case row always
equals the fold of its stored events, so it can be rebuilt from ``events`` at any time (``whistle/projections.py``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, TypeAlias

import asyncpg
from pydantic import TypeAdapter

from activities import personal_data
from schemas.events import ComplaintFiled, Event, RecordedEvent
from schemas.fold import apply, start
from schemas.state import CaseState
from schemas.view import CaseView, view_of

Pool: TypeAlias = "asyncpg.Pool[asyncpg.Record]"
Connection: TypeAlias = "asyncpg.Connection[asyncpg.Record] | asyncpg.pool.PoolConnectionProxy[asyncpg.Record]"

MIGRATIONS = Path(__file__).with_name("migrations")
MIGRATION_LOCK = 0x57484953  # "WHIS": the advisory lock every process takes before migrating
EVENT: TypeAdapter[Event] = TypeAdapter(Event)


async def create_pool(
    database_url: str, *, command_timeout: float | None = None, connect_timeout: float = 60.0
) -> Pool:
    """A pool whose connections read and write jsonb as Python values, so no caller handles JSON text.

    ``command_timeout`` bounds every statement and ``connect_timeout`` every new connection: a server that stops
    answering (packets dropped, not refused) then fails a call instead of hanging it (the gateway sets both)."""
    return await asyncpg.create_pool(
        database_url,
        init=_use_json_codec,
        reset=_keep_session,
        command_timeout=command_timeout,
        timeout=connect_timeout,
    )


async def _keep_session(connection: Connection) -> None:
    """Hand a connection back as it is: asyncpg's default reset is a round trip per use (``RESET ALL``,
    ``UNLISTEN *``, advisory unlocks) that undoes nothing here. Whistle never sets session state: no ``SET``,
    ``LISTEN`` or session-level advisory lock (the migration lock is transaction-scoped). An open transaction
    is still rolled back by asyncpg before this runs."""


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
        if await connection.fetchval("select to_regclass('schema_migrations') is null"):
            # Only when missing: even "if not exists" needs the right to create, which an application's role lacks.
            await connection.execute(
                "create table schema_migrations (name text primary key, applied_at timestamptz not null default now())"
            )
        done = {row["name"] for row in await connection.fetch("select name from schema_migrations")}
        for path in sorted(MIGRATIONS.glob("*.sql")):
            if path.name not in done:
                await connection.execute(path.read_text(encoding="utf-8"))
                await connection.execute("insert into schema_migrations (name) values ($1)", path.name)
                applied.append(path.name)
    return applied


class OutOfSequence(RuntimeError):
    """The new events do not continue the stored case; projecting them would skip an event."""


_VIEW_COLUMNS = (
    "community", "grid", "category", "urgency", "title", "stage", "escalation_level", "parked", "departments",
    "lead", "next_deadline", "reopen_count", "rating", "outcome", "filed_at", "updated_at", "closed_at",
)
"""Read-model columns copied from ``CaseView`` fields of the same name."""

_COLUMNS = ("complaint_id", *_VIEW_COLUMNS, "watched_deadline", "flagged", "merged", "last_seq", "state")
_UPSERT_CASE = (
    f"insert into complaints ({', '.join(_COLUMNS)}) "
    f"values ({', '.join(f'${number}' for number in range(1, len(_COLUMNS) + 1))}) "
    f"on conflict (complaint_id) do update set {', '.join(f'{name} = excluded.{name}' for name in _COLUMNS[1:])}"
)


async def upsert_case(connection: Connection, state: CaseState, last_seq: int) -> None:
    """Write the case's read-model row: its view columns and the whole folded state up to ``last_seq``."""
    await connection.execute(_UPSERT_CASE, state.complaint_id, *_case_columns(state, last_seq))


def _case_columns(state: CaseState, last_seq: int) -> list[Any]:
    """The row's columns after ``complaint_id`` (``_COLUMNS``): its view, what lists and counts filter on (the
    watched deadline: the earliest missed one still open, else the next; under leader supervision; merged into
    another case), ``last_seq`` and its whole folded state. The filters are columns of their own, not expressions
    over ``state``, so the indexes on them leave PostgreSQL free to update a row in place (HOT) when they hold."""
    view = view_of(state)
    state_json = personal_data.withheld(state.model_dump(mode="json"))
    filters = [state.watched_deadline, state.flagged, state.merge is not None]
    return [*(getattr(view, name) for name in _VIEW_COLUMNS), *filters, last_seq, state_json]


def event_columns(events: list[Event]) -> list[list[Any]]:
    """The batch's ``type``, ``at`` and ``payload`` arrays, in the order the inserts unnest them (personal data
    withheld from the payload)."""
    return [
        [event.type for event in events],
        [event.at for event in events],
        [personal_data.withheld(event.model_dump(mode="json")) for event in events],
    ]


def check_batch(complaint_id: str, events: list[RecordedEvent]) -> None:
    """A batch names one case and each seq once; anything else is a bug in the caller, not a retry."""
    strangers = {recorded.complaint_id for recorded in events} - {complaint_id}
    if strangers:
        raise ValueError(f"batch for {complaint_id} holds events of {sorted(strangers)}")
    seqs = [recorded.seq for recorded in events]
    if len(set(seqs)) != len(seqs):
        raise ValueError(f"batch for {complaint_id} repeats a seq: {seqs}")


def fold_one(state: CaseState | None, event: Event, complaint_id: str) -> CaseState:
    if state is not None:
        return apply(state, event)
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
