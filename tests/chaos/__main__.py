"""``python -m tests.chaos [--cases N] [--outage S] [--kills K] [--seed X]``: the full fault suite, one summary line.

Exits 0 when every case reached its end with the store, the history and the read models in agreement.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from tests.chaos.run import FaultPlan, run_fault_suite


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.chaos", description=__doc__)
    parser.add_argument("--cases", type=int, default=300)
    parser.add_argument("--spread", type=float, default=120.0, help="seconds over which cases are filed")
    parser.add_argument("--kills", type=int, default=5, help="worker SIGKILLs")
    parser.add_argument("--temporal-restarts", type=int, default=1)
    parser.add_argument("--outage", type=float, default=30.0, help="seconds PostgreSQL stays down")
    parser.add_argument("--seed", type=int, default=None)
    arguments = parser.parse_args()
    plan = FaultPlan(
        cases=arguments.cases,
        spread=arguments.spread,
        worker_kills=arguments.kills,
        temporal_restarts=arguments.temporal_restarts,
        postgres_outage=arguments.outage,
        seed=arguments.seed,
    )
    report = asyncio.run(run_fault_suite(plan))
    for fault in report.faults:
        print(f"  {fault}", file=sys.stderr)
    for exit in report.unexpected_worker_exits:
        print(f"  worker {exit[:300]}", file=sys.stderr)
    for problem in report.problems[:20]:
        print(f"  problem: {problem}", file=sys.stderr)
    print(report.summary())
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
