"""``python -m tests.chaos``: the full fault suite (the defaults are ``make chaos``'s size), then its summary.

Progress goes to stderr as the run goes (about half an hour at full size); the summary to stdout. Exits 0
when every case reached its end with the store, the history and the read models in agreement, the store
never led the history at any sample, and the outage and the webhook's silence cost nothing beyond the
plan's limits.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from dataclasses import fields

from tests.chaos.report import FaultPlan
from tests.chaos.run import run_fault_suite

_HELP = {
    "cases": "cases to drive",
    "spread": "seconds over which cases are filed and the faults fall",
    "pause": "up to this many seconds between a case's commands",
    "worker_kills": "worker SIGKILLs",
    "temporal_restarts": "Temporal server restarts",
    "postgres_outage": "seconds PostgreSQL stays down (0: none)",
    "webhook_silence": "seconds the webhook accepts connections and never answers (0: none)",
    "settle": "seconds between one fault's end and the next's start",
    "resting": "cases filed early that wait for the outage, to measure its cost on",
    "growth_limit": "history events a held case may gain over the outage",
    "command_p99_limit": "seconds: p99 of commands during the outage and the silence",
    "warm_up": "seconds of filing before the first fault",
    "sample_every": "seconds between store-vs-history sample rounds",
    "sample_size": "cases per sample round",
    "seed": "the run's random seed (default: a fresh one, printed in the summary)",
}
_SHORT = {"worker_kills": "--kills", "postgres_outage": "--outage"}


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.chaos", description=__doc__)
    defaults = FaultPlan()
    for plan_field in fields(FaultPlan):
        flag = _SHORT.get(plan_field.name, "--" + plan_field.name.replace("_", "-"))
        default = getattr(defaults, plan_field.name)
        kind = int if plan_field.name == "seed" or isinstance(default, int) else float
        parser.add_argument(flag, dest=plan_field.name, type=kind, default=default,
                            help=f"{_HELP[plan_field.name]} (default {default})")  # fmt: skip
    plan = FaultPlan(**vars(parser.parse_args()))
    report = asyncio.run(run_fault_suite(plan))
    for exit in report.unexpected_worker_exits:
        print(f"  worker {exit[:300]}", file=sys.stderr)
    for problem in (report.problems + report.leads)[:20]:
        print(f"  problem: {problem}", file=sys.stderr)
    print(report.summary())
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
