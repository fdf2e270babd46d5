"""The PostgreSQL event store and the current-case read model folded from it.

The workflow's history is the source of truth; this store trails it. ``append_events`` inserts a batch
idempotently and folds only the rows that were new onto the stored case, with the same ``CaseState.apply``
the workflow uses, in one transaction: a retried append changes nothing, and a case row always equals the
fold of its stored events, so it can be rebuilt from ``events`` at any time.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeAlias

import asyncpg
from pydantic import TypeAdapter
from temporalio import activity

from activities import personal_data
from schemas.common import ComplaintId, Model
from schemas.events import ComplaintFiled, Event, RecordedEvent
from schemas.state import CaseState, fold, start
from schemas.view import CaseView, view_of
from whistle.logging import get_logger

Pool: TypeAlias = "asyncpg.Pool[asyncpg.Record]"
Connection: TypeAlias = "asyncpg.Connection[asyncpg.Record] | asyncpg.pool.PoolConnectionProxy[asyncpg.Record]"

MIGRATIONS = Path(__file__).with_name("migrations")
MIGRATION_LOCK = 0x57484953  # "WHIS": the advisory lock every process takes before migrating
EVENT: TypeAdapter[Event] = TypeAdapter(Event)
FOLDED_CASES_KEPT = 2000
"""Cases whose last folded state an ``EventStore`` keeps (a few KiB each), about the worker's workflow cache."""


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


class AppendEventsInput(Model):
    """One batch from a case's outbox, in ``seq`` order, and the workflow run that recorded it.

    ``history_length`` is set by the case's ``publish`` step, which runs inside the workflow task that decided
    the batch: the length of the history when that task started. A task that is lost and redone starts at a
    greater length, so the store can tell the redone batch from a late write of the lost one.
    """

    complaint_id: ComplaintId
    workflow_id: str
    run_id: str
    events: list[RecordedEvent]
    history_length: int | None = None


@dataclass(frozen=True)
class _Folded:
    """A case's state as this process last wrote it, and the row's ``last_seq`` and writer it wrote with."""

    last_seq: int
    writer_run_id: str | None
    writer_history_length: int | None
    state: CaseState

    def matches(self, row: asyncpg.Record) -> bool:
        stored = (row["last_seq"], *_stored_writer(row))
        return (self.last_seq, self.writer_run_id, self.writer_history_length) == stored


class OutOfSequence(RuntimeError):
    """The new events do not continue the stored case; projecting them would skip an event."""


_WRITE_EVENTS = """
insert into events (complaint_id, seq, type, at, payload, workflow_id, run_id)
select $1, batch.seq, batch.type, batch.at, batch.payload, $6, $7
from unnest($2::integer[], $3::text[], $4::timestamptz[], $5::jsonb[]) as batch (seq, type, at, payload)
on conflict (complaint_id, seq) do update
set type = excluded.type, at = excluded.at, payload = excluded.payload, run_id = excluded.run_id,
    recorded_at = now()
where (events.type, events.at, events.payload, events.run_id)
    is distinct from (excluded.type, excluded.at, excluded.payload, excluded.run_id)
returning seq
"""
"""Rows already stored as given are left alone; a seq stored differently is rewritten (a redone workflow task)."""

_VIEW_COLUMNS = (
    "community", "grid", "category", "urgency", "title", "stage", "escalation_level", "parked", "departments",
    "lead", "next_deadline", "reopen_count", "rating", "outcome", "filed_at", "updated_at", "closed_at",
)
"""Read-model columns copied from ``CaseView`` fields of the same name."""

_COLUMNS = ("complaint_id", *_VIEW_COLUMNS, "last_seq", "state")
_WRITER_COLUMNS = ("writer_run_id", "writer_history_length")
_UPSERT_CASE = (
    f"insert into complaints ({', '.join((*_COLUMNS, *_WRITER_COLUMNS))}) "
    f"values ({', '.join(f'${number}' for number in range(1, len(_COLUMNS) + len(_WRITER_COLUMNS) + 1))}) "
    f"on conflict (complaint_id) do update set {', '.join(f'{name} = excluded.{name}' for name in _COLUMNS[1:])}, "
    + ", ".join(f"{name} = coalesce(excluded.{name}, complaints.{name})" for name in _WRITER_COLUMNS)
)
"""A row's writer changes only when a writer is given (``publish``); other writes keep it."""

_ADVANCE_PARAMETERS = {
    name: f"${number}"
    for number, name in enumerate(
        (*_COLUMNS, "writer_history_length", "expected_seq", "run_id", "expected_writer",
         "seqs", "types", "ats", "payloads", "workflow_id"),
        start=1,
    )
}  # fmt: skip
_ADVANCE = (
    "with advanced as (update complaints set "
    + ", ".join(f"{name} = {_ADVANCE_PARAMETERS[name]}" for name in (*_COLUMNS[1:], "writer_history_length"))
    + " where complaint_id = {complaint_id} and last_seq = {expected_seq} and writer_run_id = {run_id}"
    " and writer_history_length = {expected_writer} returning 1) "
    "insert into events (complaint_id, seq, type, at, payload, workflow_id, run_id) "
    "select {complaint_id}, batch.seq, batch.type, batch.at, batch.payload, {workflow_id}, {run_id} "
    "from unnest({seqs}::integer[], {types}::text[], {ats}::timestamptz[], {payloads}::jsonb[]) "
    "as batch (seq, type, at, payload) where exists (select from advanced) returning seq"
).format(**_ADVANCE_PARAMETERS)
"""The common write as one statement: the case row moves on only if it still stands where this process left it
(same ``last_seq``, same writer), and the new events go in only if it moved. No rows back: it did not stand
there (another writer, a redone task), and the full path decides."""


class EventStore:
    """The store's Temporal activities, sharing one connection pool."""

    def __init__(self, pool: Pool) -> None:
        self._pool = pool
        self._folded: OrderedDict[str, _Folded] = OrderedDict()
        """The last state this process folded per case, with the row's ``last_seq`` and writer at the time; reused
        only when the row still says the same, so a case's next append skips re-reading and re-validating its
        state, and a batch another worker rewrote (same ``last_seq``, newer writer) is read again."""

    @activity.defn(name="append_events")
    async def append_events(self, input: AppendEventsInput) -> int:
        """Store the batch and project it onto the case row; return how many events were new or rewritten.

        Idempotent: events already stored as given are skipped and not folded again, so a retry returns 0 and
        changes nothing. If the batch does not continue the case's ``last_seq`` without a gap, it raises
        ``OutOfSequence`` and writes nothing; the activity's retries then keep the gap visible.
        """
        return await self.write(input)

    async def write(self, input: AppendEventsInput) -> int:
        """Store a batch as the workflow decided it, in one transaction with its case row.

        A batch written from inside its workflow task (``history_length`` set) may belong to a task that is
        then lost; the redone task decides its events again, at a later time and perhaps differently, and
        writes them over the same seqs. So the newest decision of a seq wins, rows past the batch's last seq
        (left by a lost task) are removed, and a write from a task older than the case's last writer is
        refused, so a lost task's straggler cannot undo the redone one.
        """
        check_batch(input.complaint_id, input.events)
        by_seq = {recorded.seq: recorded.event for recorded in input.events}
        first, last = min(by_seq), max(by_seq)
        advanced = await self._advance(input, by_seq, first, last)
        if advanced is not None:
            return advanced
        events = list(by_seq.values())
        async with self._pool.acquire() as connection, connection.transaction():
            row = await connection.fetchrow(
                "select last_seq, writer_run_id, writer_history_length from complaints "
                "where complaint_id = $1 for update",
                input.complaint_id,
            )
            if _is_stale(row, input):
                get_logger(complaint_id=input.complaint_id, run_id=input.run_id).warning(
                    "append from a lost workflow task refused", history_length=input.history_length
                )
                return 0
            stored_through = row["last_seq"] if row else 0
            if first > stored_through + 1:
                raise OutOfSequence(
                    f"case {input.complaint_id} has events up to {stored_through}; the batch starts at {first}"
                )
            await personal_data.keep(connection, input.complaint_id, events)
            written = sorted(
                record["seq"]
                for record in await connection.fetch(
                    _WRITE_EVENTS,
                    input.complaint_id,
                    list(by_seq),
                    *event_columns(events),
                    input.workflow_id,
                    input.run_id,
                )
            )
            removed = "DELETE 0"
            if last < stored_through:  # rows past the batch can only be a lost task's
                removed = await connection.execute(
                    "delete from events where complaint_id = $1 and seq > $2", input.complaint_id, last
                )
            writer = _writer(input) or _stored_writer(row)
            state = None
            if written or removed != "DELETE 0":
                fold_from = written[0] if written else last + 1
                state = await self._state_through(connection, input.complaint_id, fold_from - 1, row)
                for seq in range(fold_from, last + 1):
                    state = fold_one(state, by_seq[seq], input.complaint_id)
                assert state is not None
                await upsert_case(connection, state, last, _writer(input))
            elif input.history_length is not None:
                await connection.execute(
                    "update complaints set writer_run_id = $2, writer_history_length = $3 where complaint_id = $1",
                    input.complaint_id, input.run_id, input.history_length,
                )  # fmt: skip
        if state is None:
            return 0
        self._remember(input, _Folded(last, *writer, state), len(written))
        return len(written)

    async def _advance(self, input: AppendEventsInput, by_seq: dict[int, Event], first: int, last: int) -> int | None:
        """The usual ``publish`` batch in one statement, or None when the full path must decide.

        Usual: this process wrote the case last, in this run from an earlier task, and the batch carries only
        the events after that write. Then the kept state is the stored one and nothing needs reading, locking
        apart, overwriting or removing. ``_ADVANCE`` checks the row still stands there as it writes.
        """
        folded = self._folded.get(input.complaint_id)
        if (
            folded is None
            or input.history_length is None
            or folded.writer_run_id != input.run_id
            or folded.writer_history_length is None
            or input.history_length < folded.writer_history_length
            or first != folded.last_seq + 1
            or len(by_seq) != last - first + 1
        ):
            return None
        events = [by_seq[seq] for seq in range(first, last + 1)]
        state = folded.state
        for event in events:
            state = fold_one(state, event, input.complaint_id)
        async with self._pool.acquire() as connection:
            try:
                written = await connection.fetch(
                    _ADVANCE,
                    input.complaint_id, *_case_columns(state, last), input.history_length,
                    folded.last_seq, input.run_id, folded.writer_history_length,
                    list(range(first, last + 1)), *event_columns(events), input.workflow_id,
                )  # fmt: skip
            except asyncpg.UniqueViolationError:
                return None  # rows past the case's last_seq: only the full path clears those
        if not written:
            return None
        self._remember(input, _Folded(last, input.run_id, input.history_length, state), len(written))
        return len(written)

    async def _state_through(
        self, connection: Connection, complaint_id: str, seq: int, row: asyncpg.Record | None
    ) -> CaseState | None:
        """The case folded up to ``seq``: kept or stored when that is where its row stands, else from its events."""
        if seq == 0 or row is None:
            return None
        if seq == row["last_seq"]:
            folded = self._folded.get(complaint_id)
            if folded is not None and folded.matches(row):
                return folded.state
            return CaseState.model_validate(
                await connection.fetchval("select state from complaints where complaint_id = $1", complaint_id)
            )
        rows = await connection.fetch(
            "select payload from events where complaint_id = $1 and seq <= $2 order by seq", complaint_id, seq
        )
        return fold(EVENT.validate_python(record["payload"]) for record in rows)

    def _remember(self, input: AppendEventsInput, folded: _Folded, written: int) -> None:
        self._folded[input.complaint_id] = folded
        self._folded.move_to_end(input.complaint_id)
        while len(self._folded) > FOLDED_CASES_KEPT:
            self._folded.popitem(last=False)
        get_logger(complaint_id=input.complaint_id, workflow_id=input.workflow_id, run_id=input.run_id).info(
            "events appended", written=written, last_seq=folded.last_seq, stage=folded.state.stage
        )


def _writer(input: AppendEventsInput) -> tuple[str, int] | None:
    return None if input.history_length is None else (input.run_id, input.history_length)


def _stored_writer(row: asyncpg.Record | None) -> tuple[str | None, int | None]:
    return (None, None) if row is None else (row["writer_run_id"], row["writer_history_length"])


def _is_stale(row: asyncpg.Record | None, input: AppendEventsInput) -> bool:
    """A write from an older workflow task of the run that last wrote the case (a lost task's straggler)."""
    if row is None or input.history_length is None or row["writer_run_id"] != input.run_id:
        return False
    return bool(input.history_length < row["writer_history_length"])


async def upsert_case(
    connection: Connection, state: CaseState, last_seq: int, writer: tuple[str, int] | None = None
) -> None:
    """Write the case's read-model row: its view columns and the whole folded state up to ``last_seq``, and
    ``writer`` (run id, history length) when the write came from inside a workflow task."""
    columns = _case_columns(state, last_seq)
    await connection.execute(_UPSERT_CASE, state.complaint_id, *columns, *(writer or (None, None)))


def _case_columns(state: CaseState, last_seq: int) -> list[Any]:
    """The row's columns after ``complaint_id`` (``_COLUMNS``): its view, ``last_seq`` and its whole folded state."""
    view = view_of(state)
    state_json = personal_data.withheld(state.model_dump(mode="json"))
    return [*(getattr(view, name) for name in _VIEW_COLUMNS), last_seq, state_json]


def event_columns(events: list[Event]) -> list[list[Any]]:
    """The batch's ``type``, ``at`` and ``payload`` arrays, in the order ``_WRITE_EVENTS`` and ``_ADVANCE`` unnest
    them (personal data withheld from the payload)."""
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
