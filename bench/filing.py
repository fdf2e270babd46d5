"""Filing many cases through the real client at the rate the worker stores them, and that rate slice by slice.

``make bench-scale`` (``bench/scale.py``) asks whether filing slows as the count of open cases grows; the answer is
the rate per slice of filings, each slice's seconds its own, beside the memory readings taken while it was filed.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bench.footprint import Sample
from bench.lifecycle import _gather_limited, percentile
from tests.domain_fixtures import make_intake
from whistle.client import WhistleClient


def id_prefix(run: str) -> str:
    """What every case id of run ``run`` starts with."""
    return f"S-{run}-"


def complaint_id(run: str, number: int) -> str:
    return f"{id_prefix(run)}{number}"


@dataclass(frozen=True)
class Filed:
    done: float
    """Seconds from the start of filing to this submit's answer."""
    seconds: float
    """The submit's own latency."""


def filing_slices(filed: list[Filed], size: int, samples: list[Sample], offset: float = 0.0) -> list[dict[str, Any]]:
    """Per ``size`` filings in the order they were answered: the rate over the slice's own seconds, the submit
    latency, and the peak memory of the readings taken while the slice was filed (a reading's ``at`` less ``offset``,
    the seconds from the first reading to the first filing, falls in the slice's seconds)."""
    ordered = sorted(filed, key=lambda one: one.done)
    rows: list[dict[str, Any]] = []
    previous_end = 0.0
    for first in range(0, len(ordered), size):
        part = ordered[first : first + size]
        last = first + len(part)
        end = part[-1].done
        during = [sample for sample in samples if previous_end <= sample.at - offset <= end]
        latencies = [one.seconds for one in part]
        rows.append({
            "first": first + 1, "last": last, "seconds": end - previous_end,
            "per_s": len(part) / (end - previous_end) if end > previous_end else float("nan"),
            "submit_p50_ms": 1000 * percentile(latencies, 0.5), "submit_p99_ms": 1000 * percentile(latencies, 0.99),
            **{f"{name}_mib_max": max((getattr(sample, f"{name}_mib") for sample in during), default=None)
               for name in ("worker", "server", "postgres")},
            "stored_at_end": during[-1].stored if during else None,
        })  # fmt: skip
        previous_end = end
    return rows


class Backlog:
    """Holds new filings while more than ``limit`` filed cases are not yet in the read model (0: never holds).

    ``submit`` answers once Temporal has started the workflow, before the worker has run it; filing faster than the
    worker stores would measure only the server's start rate and leave a queue for the catch-up, and a queue longer
    than the workflow cache would evict cases between their first task and their store activity's completion,
    making the worker replay them. Held this way the filing rate is the rate cases are filed and stored."""

    def __init__(self, stored: Callable[[], Awaitable[int]], limit: int) -> None:
        self._stored, self._limit = stored, limit
        self._seen, self._checked = 0, float("-inf")
        self._lock = asyncio.Lock()

    async def wait(self, filed: Callable[[], int]) -> None:
        while self._limit and filed() - self._seen > self._limit:
            async with self._lock:
                if time.perf_counter() - self._checked >= 0.5:
                    self._seen = await self._stored()
                    self._checked = time.perf_counter()
                    continue
            await asyncio.sleep(0.25)


async def file_cases(
    client: WhistleClient, prefix: str, cases: int, concurrency: int, backlog: Backlog, filed: list[Filed],
    on_slice: Callable[[], None], slice_size: int, started: float,
) -> float:  # fmt: skip
    """File ``cases``; each answer goes into ``filed`` as it comes (its time counted from ``started``, a
    ``time.perf_counter``), ``on_slice`` runs after each ``slice_size``. Returns the wall time."""

    async def one(number: int) -> None:
        intake = make_intake(complaint_id=complaint_id(prefix, number), reported_at=datetime.now(UTC).isoformat())
        await backlog.wait(lambda: len(filed))
        sent = time.perf_counter()
        await client.submit(intake)
        now = time.perf_counter()
        filed.append(Filed(now - started, now - sent))
        if len(filed) % slice_size == 0:
            on_slice()

    return await _gather_limited(cases, concurrency, one)
