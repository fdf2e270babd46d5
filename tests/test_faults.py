"""The fault suite, small enough for every test run: cases survive a killed worker, a restarted Temporal server
and a PostgreSQL outage with nothing lost and nothing written twice. ``make chaos`` runs the full size."""

from __future__ import annotations

import os

import pytest

from tests.chaos.run import FaultPlan, run_fault_suite


@pytest.mark.skipif("DATABASE_URL" in os.environ, reason="the suite stops PostgreSQL, so it needs one of its own")
async def test_cases_survive_worker_kills_a_temporal_restart_and_a_database_outage(
    capsys: pytest.CaptureFixture[str],
) -> None:
    plan = FaultPlan(cases=40, spread=20.0, pause=0.5, worker_kills=2, temporal_restarts=1, postgres_outage=6.0)
    report = await run_fault_suite(plan)
    with capsys.disabled():
        print(f"\n{report.summary()}")
        for exit in report.unexpected_worker_exits:
            print(f"  worker {exit[:300]}")
    assert report.ok, report.summary() + "\n" + "\n".join(report.problems)
    assert len(report.faults) == 4
