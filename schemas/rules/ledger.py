"""The long-running ledger (挂账台账): a case parked, or long past its handling deadline."""

from __future__ import annotations

from datetime import datetime

from schemas.events import (
    CaseLedgered,
    LedgerReason,
    LedgerReviewReminded,
)
from schemas.parts import (
    Clock,
    LedgerEntry,
)
from schemas.rules.shared import (
    Changes,
    due_after,
)
from schemas.state import CaseState


def ledgered(state: CaseState, reason: LedgerReason, now: datetime) -> CaseLedgered:
    """The case goes on the ledger (挂账), kept by the first secretary, who reviews it every ``ledger_review``."""
    owner = state.case.context.community.first_secretary.id
    review_due = due_after(state, now, state.case.policy.ledger_review)
    return CaseLedgered(at=now, reason=reason, owner=owner, review_due=review_due)


# The fold: what this concept's events change in a case.


def _case_ledgered(state: CaseState, event: CaseLedgered) -> dict[str, object]:
    review = Clock(start=event.at, due=event.review_due)
    return {"ledger": LedgerEntry(reason=event.reason, since=event.at, owner=event.owner, review=review)}


def _ledger_review_reminded(state: CaseState, event: LedgerReviewReminded) -> dict[str, object]:
    assert state.ledger is not None
    review = Clock(start=event.at, due=event.review_due)
    return {"ledger": state.ledger.model_copy(update={"review": review})}


CHANGES: Changes = {
    CaseLedgered: _case_ledgered,
    LedgerReviewReminded: _ledger_review_reminded,
}
"""What each of this concept's events changes in a case (the fold, ``schemas.fold``)."""
