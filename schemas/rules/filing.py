"""Filing (立案): the events that start a case."""

from __future__ import annotations

from datetime import datetime

from schemas.events import (
    ComplaintFiled,
    Event,
)
from schemas.intake import ComplaintInput
from schemas.rules.shared import Changes
from schemas.state import CaseState


def file_complaint(case: ComplaintInput, now: datetime) -> list[Event]:
    """The events that start a case: it is filed, and the grid's verification clock starts."""
    return [ComplaintFiled(at=now, case=case, verify_due=case.calendar.add(now, case.policy.verify))]


# The fold: what this concept's events change in a case.


def _complaint_filed(state: CaseState, event: ComplaintFiled) -> dict[str, object]:
    raise ValueError("ComplaintFiled starts a case; it cannot be applied to one")


CHANGES: Changes = {
    ComplaintFiled: _complaint_filed,
}
"""What each of this concept's events changes in a case (the fold, ``schemas.fold``)."""
