"""Rebuilding the read models from the event store with the same fold the workflow uses.

``complaints`` is the one read model folded from the events; the rates and rankings are queries over it
and over ``events`` itself, so they follow it (``rate_contributions`` caches each case's part in them, and is
emptied here so the next report counts every case again). ``report_snapshots`` is history (each snapshot depends on
when it was taken) and is kept. A rebuild that equals the live tables is the proof the projections are
what the fold says.
"""

from __future__ import annotations

from activities.event_store import EVENT, Pool, upsert_case
from schemas.common import Model
from schemas.events import ComplaintFiled
from schemas.fold import apply, start
from schemas.state import CaseState

READ_MODELS = ("complaints", "rate_contributions")
"""Tables derived from ``events`` alone, which a rebuild drops and refills."""


class RebuildResult(Model):
    """What a rebuild did: cases written and events folded."""

    cases: int
    events: int


async def rebuild(pool: Pool) -> RebuildResult:
    """Empty every read model and fold every stored event into it again, in one transaction.

    Appends wait while it runs (the store's tables are locked in the order appends take them, complaints then
    events, so neither can deadlock the other); readers keep seeing the old rows until it commits.
    """
    cases = events = 0
    async with pool.acquire() as connection, connection.transaction():
        await connection.execute(f"lock table {', '.join(READ_MODELS)} in exclusive mode")
        await connection.execute("lock table events in share mode")
        await connection.execute(f"truncate {', '.join(READ_MODELS)}")
        state: CaseState | None = None
        last_seq = 0
        query = "select complaint_id, seq, payload from events order by complaint_id, seq"
        async for row in connection.cursor(query, prefetch=500):
            event = EVENT.validate_python(row["payload"])
            if isinstance(event, ComplaintFiled):
                if state is not None:
                    await upsert_case(connection, state, last_seq)
                    cases += 1
                state = start(event)
            else:
                if state is None or state.complaint_id != row["complaint_id"]:
                    raise ValueError(f"case {row['complaint_id']}: stored events do not start with ComplaintFiled")
                state = apply(state, event)
            last_seq = row["seq"]
            events += 1
        if state is not None:
            await upsert_case(connection, state, last_seq)
            cases += 1
    return RebuildResult(cases=cases, events=events)
