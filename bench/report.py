"""``BENCHMARKS.md`` from one run's figures, beside the ``before`` run's when it is kept."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench import placement, read_model, scale_report, search_attributes, storm
from bench.cpu import CPU_GROUPS

HISTORY_TARGET = 50
MEMORY_TARGET_MIB = 1024
COMPARED = ("before", "local-publish", "trailing-store")
"""Earlier runs kept in ``bench/results`` and shown beside this one: the engine before any tuning, the one before
the store trailed the history (e9e91e3: events and notifications through the ``publish`` local activity inside the
deciding workflow task), measured on the same machine the same day, and the trailing store as issue 13 left it
(every search attribute upserted on every visible change), before issue 19's changes."""

KEPT_SECTIONS: tuple[tuple[str, Callable[[dict[str, Any]], str]], ...] = (
    ("placement.json", placement.section),
    ("read_model.json", read_model.section),
    ("search_attributes.json", search_attributes.section),
    ("scale.json", scale_report.section),
    ("storm.json", storm.section),
)
"""Sections their own make targets write (``bench/results/<file>``), kept when ``make bench`` rewrites the file."""


FULL_REST = "open-cases-10000"
"""``bench/results/<this>.json``: the 10,000-case rest figure, run on its own (``make bench-rest``) because it
takes longer than the rest of the harness together; when kept, the memory target is judged on it."""


def _targets(f: dict[str, Any]) -> list[tuple[str, str, str, bool]]:
    life, history = f["lifecycle"], f["history"]["happy path"]["events"]
    ratio = life["whistle_per_s"] / life["baseline_per_s"]
    p99 = life["whistle_p99_ms"] / life["baseline_p99_ms"]
    paced_p99 = life["whistle_paced_p99_ms"] / life["baseline_paced_p99_ms"]
    late = f["deadlines"]["p99"]
    rest = f.get("full_rest", f["open_cases"])
    rss = rest["rss_mib"]
    return [
        ("lifecycle throughput / baseline", "≥ 0.70", f"{ratio:.2f}", ratio >= 0.7),
        (f"report-in p99 / baseline p99, both at {life['paced_per_s']:.1f} new cases/s", "≤ 1.5×", f"{paced_p99:.2f}×",
         paced_p99 <= 1.5),
        (f"report-in p99 / baseline p99, saturated ({f['options']['concurrency']} in flight)", "≤ 1.5×", f"{p99:.2f}×",
         p99 <= 1.5),
        ("history events, happy path", f"≤ {HISTORY_TARGET}", str(history), history <= HISTORY_TARGET),
        (f"worker RSS, {rest['cases']:,} open cases", "< 1 GiB", f"{rss:.0f} MiB", rss < MEMORY_TARGET_MIB),
        ("escalation lateness p99", "≤ 1 s", f"{late * 1000:.0f} ms", late <= 1.0),
    ]


def _figures(f: dict[str, Any]) -> list[tuple[str, str]]:
    life, store, rebuild, late = f["lifecycle"], f["store"], f["rebuild"], f["deadlines"]
    rows = [
        ("lifecycle throughput (cases/s)",
         f"{life['whistle_per_s']:.2f} vs baseline {life['baseline_per_s']:.2f} "
         f"(ratio {life['whistle_per_s'] / life['baseline_per_s']:.2f})"),
        ("… per round: throughput ratio; report-in p99 ratio",
         "; ".join(f"round {n}: {r['whistle_per_s'] / r['baseline_per_s']:.2f} and "
                   f"{r['whistle_p99_ms'] / r['baseline_p99_ms']:.2f}×" for n, r in enumerate(life["rounds"], 1))),
        ("report-in latency p50 / p99 (ms)",
         f"{life['whistle_p50_ms']:.0f} / {life['whistle_p99_ms']:.0f} vs baseline "
         f"{life['baseline_p50_ms']:.0f} / {life['baseline_p99_ms']:.0f}"),
    ]  # fmt: skip
    if "paced_per_s" in life:
        rows.append(
            (f"report-in latency p50 / p99 (ms) at {life['load_share']:.0%} of Whistle's throughput",
             f"{life['whistle_paced_p50_ms']:.0f} / {life['whistle_paced_p99_ms']:.0f} vs baseline "
             f"{life['baseline_paced_p50_ms']:.0f} / {life['baseline_paced_p99_ms']:.0f}, both sides "
             f"{life['paced_per_s']:.2f} new cases/s (p99 ratio per round: " + ", ".join(
                 f"{r['whistle_p99_ms'] / r['baseline_p99_ms']:.2f}×" for r in life["paced_rounds"]) + ")")
        )  # fmt: skip
    if "whistle_cpu_server_ms" in life:
        rows.append(_cpu_row(life))
    for name, size in f["history"].items():
        rows.append((f"history: {name}", f"{size['events']} events, {size['bytes'] / 1024:.1f} KiB"))
    rows += [
        _rest_row(f["open_cases"]),
        ("escalation lateness p50 / p99 / max (ms)",
         f"{late['p50'] * 1000:.0f} / {late['p99'] * 1000:.0f} / {late['max'] * 1000:.0f} ({late['cases']} cases, "
         f"{late.get('window_s', 5)} s report-in window)"),
        ("event store appends (events/s)",
         f"{store['activity']:.0f} through {store.get('path', 'append_events')} vs {store['raw']:.0f} raw inserts "
         f"(ratio {store['activity'] / store['raw']:.2f}; {store['events']:.0f} events)"),
        ("projection rebuild",
         f"{rebuild['events_per_s']:.0f} events/s, {rebuild['cases_per_s']:.0f} cases/s "
         f"({rebuild['events']} events, {rebuild['cases']} cases)"),
    ]  # fmt: skip
    return rows


def _cpu_row(life: dict[str, Any]) -> tuple[str, str]:
    """CPU time per case by process: which side of the machine Whistle's extra cost is on."""
    total = {side: sum(life[f"{side}_cpu_{name}_ms"] for name in CPU_GROUPS) for side in ("whistle", "baseline")}
    parts = ", ".join(
        f"{name} {life[f'whistle_cpu_{name}_ms']:.0f} vs {life[f'baseline_cpu_{name}_ms']:.0f}" for name in CPU_GROUPS
    )
    return (
        "CPU per case (ms): Temporal server, PostgreSQL, worker, driver",
        f"{parts}; total {total['whistle']:.0f} vs {total['baseline']:.0f} "
        f"(baseline / Whistle {total['baseline'] / total['whistle']:.2f})",
    )


def _rest_row(rest: dict[str, Any]) -> tuple[str, str]:
    return (
        f"open cases at rest ({rest['cases']:,})",
        f"worker RSS {rest['rss_mib']:.0f} MiB (idle {rest['rss_idle_mib']:.0f} MiB); filed in {rest['filing']:.1f} s "
        f"({rest['cases'] / rest['filing']:.0f}/s), brought to report-in in {rest['whistling']:.1f} s",
    )


def write(path: Path, figures: dict[str, Any], results: Path) -> None:
    full_rest = results / f"{FULL_REST}.json"
    if full_rest.exists() and "open_cases" in (full := json.loads(full_rest.read_text())):
        figures = {**figures, "full_rest": {**full["open_cases"], "date": full["machine"]["date"]}}
    m, o = figures["machine"], figures["options"]
    lines = [
        "# Benchmarks",
        "",
        "Written by `make bench` (`bench/run.py`): it starts its own Temporal dev server (SQLite) and embedded",
        "PostgreSQL in a temporary directory on free ports, runs workers as separate processes, and measures",
        "Whistle against a bare workflow (`bench/baseline.py`) that receives the same start and the same",
        "seven Updates per case and does nothing else, on the same servers in the same run. Ratios against",
        "that baseline are the figures to trust; absolute numbers move with whatever else the machine runs.",
        "",
        "## Machine",
        "",
        f"- {m['cores']} cores, {m['cpu']}, {m['memory_gib']} GiB memory; load average "
        f"{m['load_at_start'][0]:.2f} at start, {m.get('load_at_end', [0])[0]:.2f} at end",
        f"- {m['date']}; Python {m['python']}, temporalio {m['temporalio']}, "
        f"{m['temporal_cli'].replace(chr(10), ' ')}, PostgreSQL {m.get('postgres', '?')}",
        f"- run: {o['cases']} cases per side and round, {o['rounds']} rounds, {o['concurrency']} in flight, "
        f"{o['workers']} worker process(es) per side; worker tuning `{figures['worker_tuning']}`; "
        f"wall time {figures.get('wall_seconds', 0):.0f} s",
        "",
        "## Targets",
        "",
        "| target | wanted | reached | |",
        "| --- | --- | --- | --- |",
        *(f"| {name} | {want} | {got} | {'met' if ok else 'not met'} |" for name, want, got, ok in _targets(figures)),
        "",
        "## Figures",
        "",
        "| figure | value |",
        "| --- | --- |",
        *(f"| {name} | {value} |" for name, value in _figures(figures)),
        *(f"| {name} (run on its own, {rest['date']}) | {value} |"
          for rest in [figures.get("full_rest")] if rest is not None for name, value in [_rest_row(rest)]),
    ]
    earlier = [
        (label, json.loads((results / f"{label}.json").read_text()))
        for label in COMPARED
        if (results / f"{label}.json").exists() and label != figures["options"]["label"]
    ]
    if earlier:
        columns = [*(f"{label} ({run['machine']['date']})" for label, run in earlier), "now"]
        before = [dict(_figures(run)) for _, run in earlier]
        rows = [(name, [*(run.get(name, "not measured") for run in before), now]) for name, now in _figures(figures)]
        lines += [
            "",
            "## Before and after (same harness)",
            "",
            f"| figure | {' | '.join(columns)} |",
            f"| --- |{' --- |' * len(columns)}",
            *(f"| {name} | {' | '.join(values)} |" for name, values in rows),
        ]
    for name, section in KEPT_SECTIONS:
        if (results / name).exists():
            lines += ["", section(json.loads((results / name).read_text()))]
    notes = Path(__file__).with_name("NOTES.md")
    if notes.exists():
        lines += ["", notes.read_text().rstrip()]
    path.write_text("\n".join(lines) + "\n")
