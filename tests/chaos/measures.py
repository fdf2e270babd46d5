"""What the fault suite times: each command's latency, and the stretches of the run each fault covered.

A command belongs to the stretch it was sent in, so "commands during the outage" are those sent while
PostgreSQL was down, however long they then took. Times are seconds since the run's start on the event
loop's clock.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Stretch:
    """One fault, from when it began to when it ended."""

    kind: str
    start: float
    end: float

    def covers(self, moment: float) -> bool:
        return self.start <= moment <= self.end

    def touches(self, sent: float, answered: float, settle: float) -> bool:
        """Whether a command in flight from ``sent`` to ``answered`` met this fault or its settling."""
        return sent <= self.end + settle and answered >= self.start


@dataclass(frozen=True)
class Latency:
    """p50, p99 and max of some commands' latencies, in seconds (zeros when there were none)."""

    count: int = 0
    p50: float = 0.0
    p99: float = 0.0
    max: float = 0.0

    @classmethod
    def of(cls, seconds: list[float]) -> Latency:
        if not seconds:
            return cls()
        ordered = sorted(seconds)
        return cls(len(ordered), percentile(ordered, 50), percentile(ordered, 99), ordered[-1])

    def __str__(self) -> str:
        return f"p50 {self.p50:.2f}s p99 {self.p99:.2f}s max {self.max:.2f}s (n={self.count})"


def percentile(ordered: list[float], p: float) -> float:
    """The nearest-rank percentile of an ascending list: p99 of fewer than 100 values is their maximum."""
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


@dataclass(frozen=True)
class Growth:
    """How many history events some cases gained over a stretch."""

    count: int = 0
    max: int = 0
    median: float = 0.0

    @classmethod
    def of(cls, gained: list[int]) -> Growth:
        return cls(len(gained), max(gained), statistics.median(gained)) if gained else cls()

    def __str__(self) -> str:
        return f"max +{self.max} median +{self.median:g} events (n={self.count})"


@dataclass
class Timeline:
    """The run's commands (when each was sent, how long it took) and the faults' stretches."""

    commands: list[tuple[float, float]] = field(default_factory=list)
    """Commands that need Temporal alone: officials' and operators' (the outage's promise is about these)."""
    through_database: list[tuple[float, float]] = field(default_factory=list)
    """Filings and residents' own commands, which go through PostgreSQL (the claim check) and so wait out an outage."""
    stretches: list[Stretch] = field(default_factory=list)

    def command(self, sent: float, seconds: float, *, through_database: bool = False) -> None:
        (self.through_database if through_database else self.commands).append((sent, seconds))

    def latency_during(self, kind: str, *, through_database: bool = False) -> Latency:
        """Commands (``through_database``: filings and residents' commands) sent while a fault of ``kind`` lasted."""
        windows = [stretch for stretch in self.stretches if stretch.kind == kind]
        sent_then = self.through_database if through_database else self.commands
        return Latency.of([took for sent, took in sent_then if any(w.covers(sent) for w in windows)])

    def latency_calm(self, settle: float) -> Latency:
        """Commands that met no fault from their sending to their answer, nor the ``settle`` seconds after one."""
        calm = [
            took
            for sent, took in self.commands
            if not any(w.touches(sent, sent + took, settle) for w in self.stretches)
        ]
        return Latency.of(calm)
