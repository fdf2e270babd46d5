"""Filing (立案): the events that start a case."""

from __future__ import annotations

from datetime import datetime

from schemas.events import (
    ComplaintFiled,
    Event,
)
from schemas.intake import ComplaintInput


def file_complaint(case: ComplaintInput, now: datetime) -> list[Event]:
    """The events that start a case: it is filed, and the grid's verification clock starts."""
    return [ComplaintFiled(at=now, case=case, verify_due=case.calendar.add(now, case.policy.verify))]
