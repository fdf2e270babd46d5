"""``make bench-scale``'s own reasoning, without servers: which cases count as evicted, how the worker's cache
counters are read, and how the filing rate is cut into slices."""

from __future__ import annotations

import pytest

from bench.eviction import cache_counters, sample_plan
from bench.filing import Filed, filing_slices
from bench.footprint import Sample


def test_evicted_cases_have_more_than_the_cache_touched_after_them_and_cached_ones_were_touched_last() -> None:
    plan = sample_plan(cases=100_000, cache_size=1000, evicted=500, cached=300, margin=100, blocks=20)

    evicted = [planned.case for block in plan for planned in block if planned.kind == "evicted"]
    cached = [planned.case for block in plan for planned in block if planned.kind == "cached"]
    assert len(evicted) == 500 and len(set(evicted)) == 500
    assert all(100_000 - 1 - case >= 1100 for case in evicted)
    assert min(evicted) == 0 and max(evicted) > 90_000  # spread over the old cases, not the first 500 of them
    assert sorted(cached) == list(range(99_700, 100_000))


def test_the_sample_alternates_blocks_of_one_kind_each_spanning_all_its_cases() -> None:
    plan = sample_plan(cases=10_000, cache_size=1000, evicted=500, cached=300, margin=100, blocks=20)

    assert [block[0].kind for block in plan] == ["evicted", "cached"] * 20
    assert all(len({planned.kind for planned in block}) == 1 for block in plan)
    assert [len(block) for block in plan[:2]] == [25, 15]
    first_old = [planned.case for planned in plan[0]]
    assert first_old[0] == 0 and first_old[-1] > 8000


def test_a_plan_the_run_cannot_hold_is_refused_before_anything_is_filed() -> None:
    with pytest.raises(ValueError, match="only 900 of 2000"):
        sample_plan(cases=2000, cache_size=1000, evicted=901, cached=0, margin=100, blocks=1)
    with pytest.raises(ValueError, match="do not fit a cache of 1000"):
        sample_plan(cases=100_000, cache_size=1000, evicted=600, cached=400, margin=100, blocks=1)


def test_cache_counters_add_every_series_with_or_without_the_total_suffix() -> None:
    page = "\n".join([
        "# HELP temporal_sticky_cache_miss Count of workflow cache misses",
        "# TYPE temporal_sticky_cache_miss counter",
        'temporal_sticky_cache_miss_total{namespace="default",task_queue="q",workflow_type="ComplaintWorkflow"} 498',
        'temporal_sticky_cache_miss_total{namespace="default",task_queue="q",workflow_type="DailyReportWorkflow"} 2',
        'temporal_sticky_cache_hit{namespace="default"} 7',
        'temporal_sticky_cache_size{namespace="default"} 1000',
        'temporal_sticky_cache_size_other{namespace="default"} 5',
    ])  # fmt: skip

    counters = cache_counters(page)

    assert counters == {"size": 1000, "hits": 7, "misses": 500, "forced_evictions": 0}


def test_filing_slices_rate_each_slice_over_its_own_seconds_and_take_its_memory_peak() -> None:
    filed = [Filed(done=0.5 * (number + 1), seconds=0.1) for number in range(4)] + [
        Filed(done=2.0 + 2.0 * (number + 1), seconds=0.3) for number in range(4)
    ]
    samples = [
        Sample(at=1.0, filed=2, stored=1, worker_mib=100.0, server_mib=50.0, postgres_mib=30.0),
        Sample(at=5.0, filed=6, stored=5, worker_mib=300.0, server_mib=60.0, postgres_mib=40.0),
        Sample(at=9.0, filed=8, stored=8, worker_mib=200.0, server_mib=70.0, postgres_mib=45.0),
    ]

    first, second = filing_slices(filed, 4, samples)

    assert (first["first"], first["last"], first["per_s"]) == (1, 4, 2.0)
    assert (second["first"], second["last"], second["per_s"]) == (5, 8, 0.5)
    assert first["worker_mib_max"] == 100.0 and second["worker_mib_max"] == 300.0
    assert second["stored_at_end"] == 8
    assert second["submit_p99_ms"] == pytest.approx(300.0)
