"""The fault suite's plan (how hard to push) and its report (what it found, and whether that passes).

The verdict has three parts, so a test can hold each to account on its own: nothing was lost (every case
closed as its path says, with the store, the history and the read model in agreement at the end), the store
never led the history at any sample, and the faults cost nothing (a held case's history grew at most
``growth_limit`` events over the outage; commands during the outage and during the webhook's silence were
answered with p99 under ``command_p99_limit`` seconds).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from tests.chaos.measures import Growth, Latency
from tests.chaos.scenarios import PATHS, Tally


@dataclass(frozen=True)
class FaultPlan:
    """How hard to push: ``cases`` spread over ``spread`` seconds, the faults in a random order inside it."""

    cases: int = 300
    spread: float = 1200.0
    pause: float = 1.0
    """Up to this many seconds between a case's commands, so a case lives through faults."""
    worker_kills: int = 10
    temporal_restarts: int = 2
    postgres_outage: float = 600.0
    """Seconds PostgreSQL stays down (0: no outage)."""
    webhook_silence: float = 120.0
    """Seconds the webhook accepts connections and answers nothing (0: it always answers)."""
    settle: float = 12.0
    """Seconds between one fault's end and the next's start; commands sent that soon after a fault do not count as
    calm. More than the SDK's sticky schedule-to-start timeout (10 s): after a worker is killed, a case it had
    cached waits that long on the dead worker's sticky queue before its next task goes to another worker, and
    that wait must be charged to the kill, not to the fault that follows."""
    resting: int = 12
    """Cases filed early that wait for the outage, so its cost is measured on at least this many."""
    warm_up: float = 60.0
    """Seconds before the first fault, while cases are filed: filing goes through PostgreSQL (the claim check), so
    an outage drawn first would otherwise find no case to hold and no command to answer."""
    growth_limit: int = 10
    """History events a held case may gain over the outage (its one command included)."""
    command_p99_limit: float = 5.0
    """Seconds: p99 of the commands sent during the outage, and during the webhook's silence."""
    sample_every: float = 2.0
    sample_size: int = 6
    seed: int | None = None


@dataclass
class FaultReport:
    plan: FaultPlan
    seed: int
    faults: list[str] = field(default_factory=list)
    unexpected_worker_exits: list[str] = field(default_factory=list)
    """For each time the worker exited on its own: its exit code and its last log line."""
    closed_as_expected: int = 0
    events_stored: int = 0
    read_models_equal: int = 0
    problems: list[str] = field(default_factory=list)
    """What the end-of-run check found: a case not closed as expected, an event lost, a store unlike the history."""
    samples: int = 0
    samples_during_outage: int = 0
    unreadable_samples: int = 0
    leads: list[str] = field(default_factory=list)
    """Samples at which the store held an event the history did not (or held it differently)."""
    longest_history: tuple[str, int] = ("", 0)
    median_history: float = 0.0
    outage_growth: Growth = field(default_factory=Growth)
    outage_latency: Latency = field(default_factory=Latency)
    outage_database_latency: Latency = field(default_factory=Latency)
    """Filings and residents' own commands sent during the outage: they wait for PostgreSQL, by design."""
    silence_latency: Latency = field(default_factory=Latency)
    calm_latency: Latency = field(default_factory=Latency)
    webhook_unanswered: int = 0
    tally: Tally = field(default_factory=Tally)
    seconds: float = 0.0

    @property
    def lost_nothing(self) -> bool:
        return not self.problems and self.closed_as_expected == self.plan.cases

    @property
    def store_trailed(self) -> bool:
        return not self.leads and self.samples > 0

    @property
    def costs(self) -> list[str]:
        """What the faults cost beyond the plan's limits (or what went unmeasured that should have been)."""
        found: list[str] = []
        kinds = Counter(fault.split(" ")[0] for fault in self.faults)
        if kinds["postgres-outage"]:
            if self.outage_growth.count == 0:
                found.append("no held case to measure the outage's cost on")
            elif self.outage_growth.max > self.plan.growth_limit:
                found.append(f"a held case's history grew {self.outage_growth.max} events over the outage "
                             f"(limit {self.plan.growth_limit})")  # fmt: skip
            found += _slow("the outage", self.outage_latency, self.plan.command_p99_limit)
        if kinds["webhook-silence"]:
            found += _slow("the webhook's silence", self.silence_latency, self.plan.command_p99_limit)
        return found

    @property
    def ok(self) -> bool:
        return self.lost_nothing and self.store_trailed and not self.costs

    def summary(self) -> str:
        kinds = Counter(fault.split(" ")[0] for fault in self.faults)
        did = (
            f"{self.plan.cases} cases over {len(PATHS)} paths; {kinds['worker-sigkill']} worker SIGKILLs, "
            f"{kinds['temporal-restart']} Temporal restarts, PostgreSQL down {self.plan.postgres_outage:.0f}s "
            f"x{kinds['postgres-outage']}, webhook silent {self.plan.webhook_silence:.0f}s x{kinds['webhook-silence']}"
        )
        found = (
            f"{self.closed_as_expected}/{self.plan.cases} closed as expected, {self.events_stored} events stored = "
            f"history, {self.read_models_equal} read models = fold, {len(self.problems)} problems"
        )
        sampled = (
            f"store ⊆ history at {self.samples - len(self.leads)}/{self.samples} samples "
            f"({self.samples_during_outage} during the outage, {self.unreadable_samples} skipped unreadable)"
        )
        longest_id, longest = self.longest_history
        histories = f"history longest {longest} events ({longest_id}), median {self.median_history:g}"
        outage = f"held cases over the outage: {self.outage_growth}"
        latency = (
            f"commands during outage {self.outage_latency}; during silence {self.silence_latency}; "
            f"calm {self.calm_latency}\n  filings and residents' commands during outage (wait for PostgreSQL) "
            f"{self.outage_database_latency}"
        )
        extra = f"{self.tally.commands} commands, {self.tally.resends} resends"
        if self.unexpected_worker_exits:
            extra += f", {len(self.unexpected_worker_exits)} unplanned worker exits restarted"
        extra += f", {self.webhook_unanswered} webhook requests left unanswered"
        failures = self.problems[:2] + self.leads[:2] + self.costs
        verdict = "OK" if self.ok else "FAILED: " + "; ".join(failures[:4])
        return (
            f"fault suite {verdict}\n  did: {did}\n  found: {found}\n  {sampled}\n  {histories}\n  {outage}\n"
            f"  {latency}\n  {extra} | seed {self.seed}, {self.seconds:.0f}s"
        )


def _slow(stretch: str, latency: Latency, limit: float) -> list[str]:
    if latency.count == 0:
        return [f"no command was sent during {stretch}"]
    if latency.p99 > limit:
        return [f"commands during {stretch} took p99 {latency.p99:.1f}s (limit {limit:g}s)"]
    return []
