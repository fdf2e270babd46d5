"""The long-running ledger (挂账台账): parked cases and cases long past their handling deadline.

Read from the read model (the folded state of every case in PostgreSQL), so it needs no worker. Neither list
names the reporter (cases carry only a reference to them, see ``activities/personal_data.py``); the public list
(百日解百难, published for supervision) holds only the cases a moderator published (``whistle publish``), under
their public title, and leaves out the address, which may be someone's home.
"""

from __future__ import annotations

from datetime import datetime

from activities.event_store import Pool
from schemas.common import Model
from schemas.events import LedgerReason, Outcome
from schemas.org import OrgDirectory
from schemas.state import CaseState, Stage


class LedgerEntryRow(Model):
    """One line of the ledger. ``address`` is absent from the public list."""

    complaint_id: str
    title: str
    community: str
    category: str
    reason: LedgerReason
    ledgered_at: datetime
    filed_at: datetime
    age_days: float
    owner: str
    owner_name: str
    departments: list[str]
    stage: Stage
    outcome: Outcome | None
    next_review: datetime | None
    address: str | None = None


async def ledger(pool: Pool, directory: OrgDirectory, now: datetime, *, public: bool = False) -> list[LedgerEntryRow]:
    """Every case that went on the ledger, oldest first; age runs from filing to closure (or now). The public list
    holds only the cases a moderator published, under their public title."""
    rows = await pool.fetch(
        "select c.state, p.public_title from complaints c left join publications p using (complaint_id) "
        "where c.state->'ledger' is not null and c.state->'ledger' <> 'null'::jsonb"
        + (" and p.complaint_id is not null" if public else "")
        + " order by c.filed_at, c.complaint_id"
    )
    return [
        _row(CaseState.model_validate(row["state"]), directory, now, row["public_title"] if public else None)
        for row in rows
    ]


def _row(state: CaseState, directory: OrgDirectory, now: datetime, public_title: str | None) -> LedgerEntryRow:
    public = public_title is not None
    entry = state.ledger
    assert entry is not None
    intake = state.case.intake
    owner = state.case.context.community.first_secretary
    end = state.closed_at or now
    return LedgerEntryRow(
        complaint_id=state.complaint_id,
        title=public_title or intake.title,
        community=intake.community,
        category=intake.category,
        reason=entry.reason,
        ledgered_at=entry.since,
        filed_at=state.filed_at,
        age_days=round((end - state.filed_at).total_seconds() / 86400, 2),
        owner=owner.id,
        owner_name=owner.name,
        departments=state.with_status("summoned", "reported_in", "done"),
        stage=state.stage,
        outcome=state.outcome,
        next_review=entry.review.due if state.stage != "closed" else None,
        address=None if public else intake.location.address,
    )
