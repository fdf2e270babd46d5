"""Which cases the first-command sample goes to, and how the worker's own counters show they were evicted.

The worker keeps at most ``max_cached_workflows`` cases in its workflow cache and evicts the least recently used
one to make room (sdk-core's LRU). At rest nothing touches a case after its filing (its filing task and its store
activity's completion), so a case with more than the cache's size touched after it has been pushed out: its
next command makes the worker fetch its whole history and replay it in a fresh sandboxed workflow. The most
recently touched cases are still cached, and the sample's own evictions never reach them when the two samples
together stay under the cache size. The order is the read model's (each case's latest ``recorded_at``), which is
the order of the worker's last tasks for them to within the few it has in flight. The worker's Prometheus counters
(``temporal_sticky_cache_*``), read between blocks of the sample, confirm it: a miss per evicted command, none for
the cached ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal["evicted", "cached"]

CACHE_METRICS = {
    "size": "temporal_sticky_cache_size",
    "hits": "temporal_sticky_cache_hit",
    "misses": "temporal_sticky_cache_miss",
    "forced_evictions": "temporal_sticky_cache_total_forced_eviction",
}
"""sdk-core's workflow-cache metrics, by what they count (the Prometheus exporter may add ``_total`` to counters)."""


@dataclass(frozen=True)
class Planned:
    kind: Kind
    case: int
    """The case's place in the order cases were last touched (0 the longest ago): their store times."""


def sample_plan(
    cases: int, cache_size: int, evicted: int, cached: int, margin: int, blocks: int
) -> list[list[Planned]]:
    """``evicted`` cases spread evenly over those with at least ``cache_size + margin`` touched after them, and the
    ``cached`` most recently touched, in ``blocks`` alternating blocks of each kind (evicted first), so both samples
    meet the same minutes of the machine and the cache counters read between blocks tell the kinds apart. Each
    evicted block takes every ``blocks``-th of the old cases, so it spans the whole range of them.

    Raises ``ValueError`` when the run cannot hold them: too few old cases, or the two samples together would
    overflow the cache (the evicted cases' replays would push the cached ones out before their turn)."""
    old = cases - cache_size - margin
    if evicted > old:
        raise ValueError(f"{evicted} evicted cases wanted, but only {max(old, 0)} of {cases} have "
                         f"{cache_size + margin} touched after them")  # fmt: skip
    if evicted + cached + margin > cache_size:
        raise ValueError(f"{evicted} evicted and {cached} cached commands do not fit a cache of {cache_size} "
                         f"with {margin} to spare")  # fmt: skip
    stride = old / evicted if evicted else 0.0
    old_cases = [Planned("evicted", int(number * stride)) for number in range(evicted)]
    new_cases = [Planned("cached", cases - cached + number) for number in range(cached)]
    plan: list[list[Planned]] = []
    for block in range(blocks):
        plan += [old_cases[block::blocks], new_cases[block::blocks]]
    return [block for block in plan if block]


def metric_total(exposition: str, name: str) -> float:
    """The sum of every series of ``name`` (with or without the ``_total`` suffix) in a Prometheus text page."""
    total = 0.0
    for line in exposition.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        series, _, value = line.rpartition(" ")
        metric = series.split("{", 1)[0]
        if metric in (name, f"{name}_total"):
            total += float(value)
    return total


def cache_counters(exposition: str) -> dict[str, float]:
    return {key: metric_total(exposition, name) for key, name in CACHE_METRICS.items()}
