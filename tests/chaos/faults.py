"""The faults of a run, in a random order spread over the filing window, one at a time.

Worker SIGKILLs, Temporal restarts, one PostgreSQL outage and one stretch of webhook silence. Each ends, and
``settle`` seconds pass, before the next begins, so a command's latency is charged to one fault only. The
store is sampled right after each fault; the outage also freezes the sampler's view of the store, holds
some cases (``tests/chaos/outage.py``) and measures their histories at its start and end.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from dataclasses import dataclass

from tests.chaos.fleet import Fleet
from tests.chaos.measures import Growth, Stretch, Timeline
from tests.chaos.outage import OutageHold, history_length
from tests.chaos.report import FaultPlan, FaultReport
from tests.chaos.sampling import StoreSampler
from tests.chaos.servers import DevServer, WorkerProcess
from tests.chaos.webhook import Webhook
from tests.pg import TestDatabase
from whistle.client import WhistleClient

_TYPICAL_SECONDS = {"worker": 1.75, "temporal": 8.0}
"""About how long a kill or a restart keeps its server down, to spread the faults over the window."""


def schedule(plan: FaultPlan, rng: random.Random, *, outage: bool) -> list[tuple[str, float]]:
    """The faults and their planned starts (seconds into the run): a random order, random gaps between."""
    kinds = ["worker"] * plan.worker_kills + ["temporal"] * plan.temporal_restarts
    kinds += ["postgres"] if outage else []
    kinds += ["webhook"] if plan.webhook_silence > 0 else []
    rng.shuffle(kinds)
    lasting = {**_TYPICAL_SECONDS, "postgres": plan.postgres_outage, "webhook": plan.webhook_silence}
    busy = sum(lasting[kind] + plan.settle for kind in kinds)
    if busy + plan.warm_up > plan.spread:
        # Faults past the filing window meet no commands, and their checks would have nothing to measure.
        raise ValueError(
            f"spread {plan.spread:.0f}s cannot hold the warm-up, the faults and their settling "
            f"({busy + plan.warm_up:.0f}s)"
        )
    cuts = sorted(rng.uniform(0.0, max(0.0, plan.spread - plan.warm_up - busy)) for _ in kinds)
    planned: list[tuple[str, float]] = []
    start, previous_cut = plan.warm_up, 0.0
    for kind, cut in zip(kinds, cuts, strict=True):
        start += cut - previous_cut
        planned.append((kind, start))
        start += lasting[kind] + plan.settle
        previous_cut = cut
    return planned


@dataclass
class Stage:
    """What the faults act on and what watches them."""

    temporal: DevServer
    worker: WorkerProcess
    database: TestDatabase
    webhook: Webhook
    client: WhistleClient
    fleet: Fleet
    hold: OutageHold
    sampler: StoreSampler
    timeline: Timeline
    clock: Callable[[], float]
    say: Callable[[str], None]


async def inflict_faults(plan: FaultPlan, report: FaultReport, rng: random.Random, stage: Stage) -> None:
    """Each fault at its planned moment or ``settle`` seconds after the last one ended, whichever is later."""
    outage = plan.postgres_outage > 0 and stage.database.pgdata is not None
    ready = 0.0
    for kind, planned in schedule(plan, rng, outage=outage):
        await asyncio.sleep(max(0.0, planned - stage.clock(), ready - stage.clock()))
        start = stage.clock()
        if kind == "worker":
            stage.worker.down_on_purpose = True
            stage.worker.kill()
            await asyncio.sleep(rng.uniform(0.5, 3.0))
            stage.worker.start()
            stage.worker.down_on_purpose = False
            name, line = "worker-sigkill", f"worker-sigkill at {start:.1f}s"
        elif kind == "temporal":
            await stage.temporal.restart()
            name, line = "temporal-restart", f"temporal-restart at {start:.1f}s ({stage.clock() - start:.1f}s down)"
        elif kind == "postgres":
            report.outage_growth = await _postgres_outage(plan, stage)
            name = "postgres-outage"
            line = f"postgres-outage at {start:.1f}s ({stage.clock() - start:.0f}s; held cases {report.outage_growth})"
        else:
            stage.webhook.silent = True
            await asyncio.sleep(plan.webhook_silence)
            stage.webhook.silent = False
            name, line = "webhook-silence", f"webhook-silence at {start:.1f}s ({plan.webhook_silence:.0f}s)"
        stage.timeline.stretches.append(Stretch(name, start, stage.clock()))
        report.faults.append(line)
        stage.say(line)
        await stage.sampler.round(f"right after {name}")
        ready = stage.clock() + plan.settle


async def _postgres_outage(plan: FaultPlan, stage: Stage) -> Growth:
    """Stop PostgreSQL for the plan's outage; what the held cases' histories gained meanwhile."""
    await stage.sampler.freeze()
    await stage.database.stop_postgres()
    down = stage.clock()
    held = stage.hold.begin(stage.fleet.open())
    before = {complaint_id: await history_length(stage.client, complaint_id) for complaint_id in held}
    stage.hold.measured()
    stage.say(f"PostgreSQL down; {len(held)} cases held, each sent one command")
    await asyncio.sleep(max(0.0, down + plan.postgres_outage - stage.clock()))
    after = {complaint_id: await history_length(stage.client, complaint_id) for complaint_id in held}
    await stage.database.start_postgres()
    await stage.sampler.thaw()
    stage.hold.end()
    return Growth.of([after[complaint_id] - before[complaint_id] for complaint_id in held])
