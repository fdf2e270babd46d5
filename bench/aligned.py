"""Open cases whose report-in deadlines all end in one chosen second, brought there with the engine as it is.

The engine has no absolute deadline: every window is a duration counted from the moment its clock starts
(``schemas/rules/shared.due_after``: seconds, hours, days, or working days that land at the same local time of day),
and a report-in clock starts at the whistle, at the time of the workflow task that takes it, so its due time carries
that task's fraction of a second. Bringing 10,000 cases to report-in takes a quarter of an hour, so no one window
fits them all. One command moves a clock by a span chosen when it is sent, counted from the clock's own due rather
than from now: the first secretary's directive to extend (书记指令 延期, ``IssueDirective(kind="extend")``;
``schemas/rules/escalation.extended`` gives ``max(due, now) + extend_by``). So each case is filed under a policy with
a short report-in window, verified, whistled for one department, and at once extended by the whole seconds that move
its due into the chosen second (``shift_to``): every due lands in ``[instant, instant + 1 s)``, and the whistles'
fractions of a second are the only spread. A case whose whistle came too late to be moved (its first due already at
or past the instant) keeps its first due and is counted.

What this leaves behind, so that a storm at the instant starts from rest: a clock's timer moves only when its wake
moves earlier (``ComplaintWorkflow._wait_for_change_or_clock``), so each case's first timer still fires, early and
without an event, a first window after its whistle; warnings go at 5% of each window (``warn_at``), with the setup,
where working-day windows would send them hours before the deadline. The instant must leave time for both, and
a machine slower than the planned pace means fewer cases in the storm (``prepare``), never cases outside its second.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from bench.lifecycle import LEAD, new_intake
from schemas.policy import SlaPolicy
from tests.domain_fixtures import blow, extend, verify
from whistle.client import WhistleClient


def say(text: str) -> None:
    print(f"[{datetime.now(UTC):%H:%M:%S}] {text}", flush=True)


def storm_policy(first_window: int) -> SlaPolicy:
    """Report-in in ``first_window`` seconds; every other window long enough that nothing else runs out during the
    run (the first secretary's, which starts at the storm, included); warnings at 5% of a window."""
    return SlaPolicy.model_validate(
        {"default": {
            "verify": "1h", "report_in": f"{first_window}s", "handling": "24h", "evaluation": "24h",
            "first_secretary": "24h", "street_secretary": "24h", "max_reopens": 1, "warn_at": 0.05,
            "max_progress_notes": 1000,
        }}
    )  # fmt: skip


def shift_to(instant: datetime, due: datetime) -> int:
    """The whole seconds that move ``due`` into the second starting at ``instant`` (a whole second), its fraction
    kept; 0 or less when ``due`` is in that second or later already."""
    return int((instant - due.replace(microsecond=0)).total_seconds())


async def paced(
    count: int, rate: float, concurrency: int, one: Callable[[int], Awaitable[None]], last_start: float
) -> tuple[int, float]:
    """Start ``one(n)`` every ``1 / rate`` seconds, never more than ``concurrency`` at once and none after
    ``last_start`` (a ``time.perf_counter()`` reading); return how many were started and how many seconds behind
    its schedule the last start was (0 if the machine kept up)."""
    slots = asyncio.Semaphore(concurrency)
    started = time.perf_counter()
    running: list[asyncio.Task[None]] = []

    async def in_slot(number: int) -> None:
        try:
            await one(number)
        finally:
            slots.release()

    for number in range(count):
        await asyncio.sleep(max(0.0, started + number / rate - time.perf_counter()))
        await slots.acquire()
        if time.perf_counter() > last_start:
            slots.release()
            say(f"{number} cases started: the next could no longer be moved into the second, so the setup stops")
            break
        running.append(asyncio.create_task(in_slot(number)))
        if number % 1000 == 999:
            say(f"{number + 1} cases started")
    behind = time.perf_counter() - started - (len(running) - 1) / rate
    await asyncio.gather(*running)
    return len(running), max(0.0, behind)


@dataclass
class Prepared:
    dues: dict[str, datetime] = field(default_factory=dict)
    """Each case's report-in due after its extension (its first due if it could not be moved)."""
    unaligned: list[str] = field(default_factory=list)
    seconds: float = 0.0
    behind: float = 0.0
    started: int = 0


START_MARGIN = timedelta(seconds=30)
"""A case started later than this before its first due could reach the instant is not started: under load, filing,
verifying and whistling a case has taken several seconds."""


async def prepare(
    client: WhistleClient, cases: int, rate: float, concurrency: int, instant: datetime, first_window: int
) -> Prepared:
    """File, verify, whistle and extend each case so that its report-in due falls in the second at ``instant``.

    Cases are started at ``rate`` per second while they can still be moved there (a first due before the instant);
    on a machine slower than ``rate`` the storm has fewer cases than asked, and ``started`` says how many."""
    prepared = Prepared()
    cutoff = instant - timedelta(seconds=first_window) - START_MARGIN
    last_start = time.perf_counter() + (cutoff - datetime.now(UTC)).total_seconds()

    async def one(_: int) -> None:
        complaint_id = (await client.submit(new_intake())).complaint_id
        await client.execute(complaint_id, verify())
        view = await client.execute(complaint_id, blow(LEAD))
        assert view.next_deadline is not None
        shift = shift_to(instant, view.next_deadline)
        if shift >= 1:
            view = await client.execute(complaint_id, extend(f"{shift}s"))
        else:
            prepared.unaligned.append(complaint_id)
        assert view.next_deadline is not None
        prepared.dues[complaint_id] = view.next_deadline

    started = time.perf_counter()
    prepared.started, prepared.behind = await paced(cases, rate, concurrency, one, last_start)
    prepared.seconds = time.perf_counter() - started
    return prepared
