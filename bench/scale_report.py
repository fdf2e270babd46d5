"""The BENCHMARKS.md section of ``make bench-scale`` (``bench/scale.py``), written from its JSON figures."""

from __future__ import annotations

from typing import Any

HEADING = "## 100,000 open cases at rest"
GIB_MIB = 1024


def _load(machine: dict[str, Any]) -> str:
    start, end = machine["load_at_start"][0], machine.get("load_at_end", [float("nan")])[0]
    return f"load average {start:.2f} at start, {end:.2f} at end"


def _memory(reading: dict[str, float]) -> str:
    return (f"worker {reading['worker_mib']:.0f}, Temporal server {reading['server_mib']:.0f}, "
            f"PostgreSQL {reading['postgres_mib']:.0f}")  # fmt: skip


def _mib(value: float | None) -> str:
    return "–" if value is None else f"{value:.0f}"


def _cache(counts: dict[str, float]) -> str:
    return (f"{counts['misses']:.0f} misses, {counts['hits']:.0f} hits, {counts['forced_evictions']:.0f} evictions; "
            f"{counts['size']:.0f} cached at the end")  # fmt: skip


def section(figures: dict[str, Any]) -> str:
    """The section for a run's figures (``bench/results/scale.json``); ``make bench`` keeps it from that file."""
    options, machine, filing = figures["options"], figures["machine"], figures["filing"]
    cases, peak = options["cases"], figures["peak"]
    first = figures["first_command"]
    evicted, cached, log = first["evicted"], first["cached"], figures["worker_log"]
    p99_ratio, p50_ratio = evicted["p99_ms"] / cached["p99_ms"], evicted["p50_ms"] / cached["p50_ms"]
    worker_met = "met" if peak["worker"] < GIB_MIB else "not met"
    lines = [
        HEADING,
        "",
        f"Written by `make bench-scale` (`bench/scale.py`), {machine['date']} ({machine['cores']} cores, "
        f"{_load(machine)}; wall time {figures['wall_seconds'] / 60:.0f} min): {cases:,} cases filed through "
        f"`WhistleClient.submit`, {options['concurrency']} in flight and held while more than "
        f"{options['backlog']} filed were not yet in the read model (so the rate is that of cases filed and stored, "
        "not the server's start rate with a queue behind it), against one worker process (`worker.py`) on the "
        f"harness's own dev server and PostgreSQL. The worker's workflow cache holds {figures['cache_size']:,} cases "
        "(`max_cached_workflows`: `worker.py` sets none, so the SDK's default). The cases stay open, filed: each holds "
        f"its verify clock and that clock's warning timer, with the verify window at {options['verify_window']} so "
        "none runs out during the run (whistling them too would cost two more commands per case, three times the "
        "filing's work). Memory is RSS for the worker and the server, the sum of PSS over PostgreSQL's processes "
        f"(shared buffers counted once), read every {options['every']:.0f} s.",
        *(["", f"This run is smaller than the issue's 100,000 (`--cases`): at its filing rate 100,000 would take "
            f"{100_000 / filing['per_s'] / 3600:.1f} h to file on this machine. The worker's RSS is bounded by its "
            "cache, full from the first 1,000 cases on (compare the slices' peaks below), and an evicted case's first "
            "command replays that case's own history, which does not grow with the count; what a larger run would add "
            "is the filing rate's trend (the slices below), as the Temporal server's SQLite file and PostgreSQL's "
            "tables grow."] if cases < 100_000 else []),
        "",
        "| target | wanted | reached | |",
        "| --- | --- | --- | --- |",
        f"| worker RSS, {cases:,} open cases | < 1 GiB | {peak['worker']:.0f} MiB at most, "
        f"{figures['at_rest']['worker_mib']:.0f} MiB at rest | {worker_met} |",
        f"| first command to an evicted case, p99 | (no target) | {evicted['p99_ms']:.0f} ms, "
        f"{p99_ratio:.1f}× the same command's p99 to a cached case | |",
        "",
        "| figure | value |",
        "| --- | --- |",
        f"| filing rate | {filing['per_s']:.1f} cases/s over {filing['seconds']:.0f} s (per slice below) |",
        f"| read model caught up | {figures['read_model_catch_up_s']:.1f} s after the last filing answered |",
        f"| memory idle, before filing (MiB) | {_memory(figures['idle'])} |",
        f"| memory at the last filing (MiB) | {_memory(filing['at_end'])} |",
        f"| memory at rest, {options['settle']:.0f} s after the read model caught up (MiB) | "
        f"{_memory(figures['at_rest'])} |",
        f"| memory after the first-command sample (MiB) | {_memory(figures['after_sample'])} |",
        f"| memory peak over the run (MiB) | worker {peak['worker']:.0f}, Temporal server {peak['server']:.0f}, "
        f"PostgreSQL {peak['postgres']:.0f} |",
        f"| first command (verify) to a case evicted from the cache, p50 / p99 / max (ms) | {evicted['p50_ms']:.0f} / "
        f"{evicted['p99_ms']:.0f} / {evicted['max_ms']:.0f} ({evicted['n']} cases) |",
        f"| the same to a case still cached, p50 / p99 / max (ms) | {cached['p50_ms']:.0f} / {cached['p99_ms']:.0f} / "
        f"{cached['max_ms']:.0f} ({cached['n']} cases) |",
        f"| evicted / cached | p50 {p50_ratio:.1f}×, p99 {p99_ratio:.1f}× |",
        f"| the worker's cache over the evicted blocks | {_cache(evicted['cache'])} |",
        f"| … over the cached blocks | {_cache(cached['cache'])} |",
        f"| the worker's cache after filing | {figures['cache_after_filing']['size']:,.0f} cases cached, "
        f"{figures['cache_after_filing']['forced_evictions']:,.0f} evicted, "
        f"{figures['cache_after_filing']['misses']:,.0f} misses |",
        f"| worker log | {log['errors']} errors, {log['deadlock_detected']} of them the SDK's deadlock guard (an "
        "activation that held the thread over 2 s; its task fails and runs again) |",
        "",
        f"The sample: {evicted['n']} cases spread over those with at least {figures['cache_size']:,} + 100 touched "
        f"after them, and the {cached['n']} touched last, in {first['blocks']} alternating blocks of each kind, sent "
        f"at a steady {first['rate_per_s']:g} a second within a block (each on its own task, so a slow answer does "
        "not hold back the next). The cache drops the least recently used case, and nothing touches a filed case "
        "after its store activity's completion, so a case with more than the cache's size touched after it (in the "
        "order of its events' `recorded_at`) is gone from it; the two samples together stay under the cache's size, "
        "so the evicted cases' replays do not push the newest out before their turn. The worker's own counters "
        "(`temporal_sticky_cache_*` on its Prometheus endpoint, read between blocks) are the check: a miss is a "
        "workflow task that found its case not cached.",
        "",
        "| cases filed | filing rate (cases/s) | submit p50 / p99 (ms) | worker RSS peak (MiB) | server RSS peak (MiB) "
        "| PostgreSQL peak (MiB) | in the read model at the slice's end |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for row in filing["slices"]:
        stored = "–" if row["stored_at_end"] is None else f"{row['stored_at_end']:,}"
        lines.append(
            f"| {row['first']:,}–{row['last']:,} | {row['per_s']:.1f} | {row['submit_p50_ms']:.0f} / "
            f"{row['submit_p99_ms']:.0f} | {_mib(row['worker_mib_max'])} | {_mib(row['server_mib_max'])} | "
            f"{_mib(row['postgres_mib_max'])} | {stored} |"
        )
    return "\n".join(lines)
