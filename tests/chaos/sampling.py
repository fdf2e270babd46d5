"""Store ⊆ history, checked all through a fault run, a few cases at a time, not only once it is over.

The event store may trail a case's Temporal history (hold fewer events) but must never hold an event the
history does not hold, or hold it differently: a row the history lacks is a fact nobody decided. The check
reads the store from PostgreSQL and the history from Temporal, so it holds whatever way events reach the
store. For each case the store is read first and the history second: in a store that trails, an event
stored before the first read is in the history by the second, so a row missing from the history is a real
lead, never a race of the check's own.

While PostgreSQL is down the sampler compares the store as it was just before the outage (it cannot
change meanwhile) with the histories as they grow.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable

import asyncpg
from temporalio.client import WorkflowUpdateRPCTimeoutOrCancelledError
from temporalio.service import RPCError

from activities.event_store import Pool, create_pool, load_events
from schemas.events import RecordedEvent
from tests.chaos.fleet import Fleet
from whistle.client import WhistleClient

_UNREADABLE = (
    OSError, asyncpg.PostgresError, asyncpg.InterfaceError, RPCError, WorkflowUpdateRPCTimeoutOrCancelledError,
)  # fmt: skip
"""A server that is down for a fault: that sample is skipped (and counted), not judged."""


def lead_over(stored: list[RecordedEvent], history: list[RecordedEvent]) -> str | None:
    """What the store holds that the history does not (None when the store is a prefix-wise subset of it)."""
    recorded = {event.seq: event for event in history}
    for row in stored:
        at_seq = recorded.get(row.seq)
        if at_seq is None:
            return f"the store holds seq {row.seq} ({row.event.type}), the history has {len(history)} events"
        if at_seq != row:
            return f"seq {row.seq} differs: store {row.event!r}, history {at_seq.event!r}"
    return None


class StoreSampler:
    """Samples ``size`` cases every round, open ones first; ``violations`` says when and where the store led."""

    def __init__(self, database_url: str, client: WhistleClient, fleet: Fleet, rng: random.Random, size: int,
                 clock: Callable[[], float]) -> None:  # fmt: skip
        self.database_url = database_url
        self.pool: Pool | None = None
        self.client = client
        self.fleet = fleet
        self.rng = rng
        self.size = size
        self.clock = clock
        self.rounds = 0
        self.samples = 0
        self.during_outage = 0
        self.unreadable = 0
        self.violations: list[str] = []
        self._frozen: dict[str, list[RecordedEvent]] | None = None

    async def open(self) -> None:
        self.pool = await create_pool(self.database_url)

    async def close(self) -> None:
        pool, self.pool = self.pool, None
        if pool is not None:
            await pool.close()

    async def freeze(self) -> None:
        """Keep the store as it is now, to sample against while PostgreSQL is down. The pool is closed
        meanwhile: it would only retry its connections against a server that is not there."""
        assert self.pool is not None
        frozen: dict[str, list[RecordedEvent]] = {}
        for complaint_id in list(self.fleet.cases):
            frozen[complaint_id] = await load_events(self.pool, complaint_id)
        self._frozen = frozen
        await self.close()

    async def thaw(self) -> None:
        """PostgreSQL is back: sample the live store again."""
        await self.open()
        self._frozen = None

    async def run(self, interval: float) -> None:
        """Sample rounds until cancelled."""
        while True:
            await self.round("sample")
            await asyncio.sleep(interval)  # a pace, not a wait for an event

    async def round(self, when: str) -> None:
        """Sample a few cases now (``when`` names the moment in a violation: after which fault, say)."""
        open_cases = [case.complaint_id for case in self.fleet.open()]
        closed = [complaint_id for complaint_id in self.fleet.cases if complaint_id not in set(open_cases)]
        chosen = self.rng.sample(open_cases, min(self.size, len(open_cases)))
        chosen += self.rng.sample(closed, min(self.size - len(chosen), len(closed)))
        self.rounds += 1
        for complaint_id in chosen:
            await self._sample(complaint_id, when)

    async def _sample(self, complaint_id: str, when: str) -> None:
        at = self.clock()
        frozen = self._frozen
        try:
            if frozen is not None:
                stored = frozen.get(complaint_id, [])
            elif self.pool is not None:
                stored = await load_events(self.pool, complaint_id)
            else:
                return  # between the freeze and the outage: nothing to read the store with
            history = await self.client.events(complaint_id)
        except _UNREADABLE:
            self.unreadable += 1
            return
        self.samples += 1
        self.during_outage += frozen is not None
        lead = lead_over(stored, history)
        if lead is not None:
            outage = ", PostgreSQL down" if frozen is not None else ""
            self.violations.append(f"{complaint_id} at {at:.1f}s ({when}{outage}): {lead}")
