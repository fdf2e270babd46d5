"""The long-running ledger (挂账台账): a case parked, or long past its handling deadline."""

from __future__ import annotations

from datetime import datetime

from schemas.events import (
    CaseLedgered,
    LedgerReason,
)
from schemas.rules.shared import (
    due_after,
)
from schemas.state import CaseState


def ledgered(state: CaseState, reason: LedgerReason, now: datetime) -> CaseLedgered:
    """The case goes on the ledger (挂账), kept by the first secretary, who reviews it every ``ledger_review``."""
    owner = state.case.context.community.first_secretary.id
    review_due = due_after(state, now, state.case.policy.ledger_review)
    return CaseLedgered(at=now, reason=reason, owner=owner, review_due=review_due)
