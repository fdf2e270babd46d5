"""Cases for the hotspot tests, filed at any moment through the real decider and stored through the ``store``
activity's own path (``BatchStore``), so the read model holds exactly what a worker would have written for them."""

from __future__ import annotations

from datetime import datetime, timedelta

from activities.calendar import calendar_for_filing
from activities.event_store import Pool
from activities.store import BatchStore
from schemas.commands import BlowWhistle, Command, MergeCase
from schemas.events import RecordedEvent
from schemas.fold import apply, fold
from schemas.rules.decider import decide, file_complaint
from tests.domain_fixtures import make_case, make_intake, secretary, verify
from workflows.ports import StoreInput


def filed(
    complaint_id: str,
    grid: str,
    category: str,
    at: datetime,
    *,
    merged_into: str | None = None,
    summoned: str | None = None,
) -> StoreInput:
    """A case filed in ``grid`` at ``at``; ``merged_into``: then verified and merged into that case; ``summoned``:
    then verified and that department summoned (the whistle blown)."""
    community = grid.rsplit("_", 1)[0]
    intake = make_intake(community=community, grid=grid, category=category, reported_at=at.isoformat())
    case = make_case(complaint_id=complaint_id, intake=intake).model_copy(update={"calendar": calendar_for_filing(at)})
    events = file_complaint(case, at)
    commands: list[Command] = []
    if merged_into is not None or summoned is not None:
        commands.append(verify(f"gw-{grid.replace('_', '-')}"))
    if merged_into is not None:
        commands.append(MergeCase(actor=secretary(f"sec-{community}"), into=merged_into, note="同一处"))
    if summoned is not None:
        commands.append(BlowWhistle(actor=secretary(f"sec-{community}"), departments=[summoned]))
    state = fold(events)
    for step, command in enumerate(commands, 1):
        decided = decide(state, command, at + timedelta(minutes=10 * step))
        for event in decided:
            state = apply(state, event)
        events += decided
    recorded = [RecordedEvent(complaint_id=complaint_id, seq=seq, event=e) for seq, e in enumerate(events, 1)]
    return StoreInput(
        complaint_id=complaint_id, workflow_id=f"complaint-{complaint_id}", run_id="r", events=recorded,
        notifications=[],
    )  # fmt: skip


async def store_all(pool: Pool, cases: list[StoreInput]) -> None:
    store = BatchStore(pool)
    for case in cases:
        await store.store(case)
