"""What a PostgreSQL outage costs a case's history, measured on cases that get no other work meanwhile.

A case that is sent commands during an outage gains history events for them, whatever the outage costs.
So some cases are *held*: each is sent exactly one command once PostgreSQL is down (it then has events
waiting for the store, as any case in flight has) and no other until PostgreSQL is back. What a held case's
history gains between the outage's start and end is that one command plus the outage's own cost, which a
sound design keeps constant (issue 13: at most about ten events, however long the outage). The held cases
are the holdable ones open when the outage begins, and ``resting`` cases filed early that wait for the
outage after their first two commands, so there are cases to measure however few happen to be in flight.
"""

from __future__ import annotations

import asyncio

from tests.chaos.fleet import Case
from whistle.client import WhistleClient, workflow_id_for

REST_AFTER = 2
"""Commands (the filing and the grid's verification) a resting case is sent before it waits for the outage."""


class OutageHold:
    """The drivers ask ``before_command`` before each command; the outage calls ``begin``, ``measured``, ``end``."""

    def __init__(self, *, resting: int, enabled: bool) -> None:
        self.enabled = enabled
        self.resting_wanted = resting if enabled else 0
        self.resting: set[str] = set()
        self.held: dict[str, int] = {}
        """Each held case and the commands it was sent during the outage (at most one)."""
        self._begun = asyncio.Event()
        self._measured = asyncio.Event()
        self._ended = asyncio.Event()

    def filed(self, case: Case) -> None:
        if case.holdable and len(self.resting) < self.resting_wanted:
            self.resting.add(case.complaint_id)

    async def before_command(self, case: Case) -> None:
        """Wait while this case must not be sent a command."""
        if not self.enabled:
            return
        if case.complaint_id in self.resting and case.commands >= REST_AFTER:
            await self._begun.wait()
        if self._ended.is_set() or case.complaint_id not in self.held:
            return
        await self._measured.wait()
        if self.held[case.complaint_id] == 0 and not self._ended.is_set():
            self.held[case.complaint_id] = 1
            return
        await self._ended.wait()

    def begin(self, open_cases: list[Case]) -> list[str]:
        """PostgreSQL is down: hold the holdable open cases; answers their ids, to measure before ``measured``."""
        self.held = {case.complaint_id: 0 for case in open_cases if case.holdable}
        self._begun.set()
        return list(self.held)

    def measured(self) -> None:
        """The held cases' history lengths are taken: each may now be sent its one command."""
        self._measured.set()

    def end(self) -> None:
        self._ended.set()


async def history_length(client: WhistleClient, complaint_id: str) -> int:
    """The number of events in the case's Temporal history (all of them, not only the domain events)."""
    description = await client.temporal.get_workflow_handle(workflow_id_for(complaint_id)).describe()
    return description.history_length
