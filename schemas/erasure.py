"""Erasure (删除个人信息): what removing a resident's data does to a case's records. Pure.

``redacted`` replaces the free text of a stored event (what the resident wrote, and officials' notes, which
quote them in practice) with ``REDACTED``, keeping every code, time and structured value, so the case still
folds, counts in the rates and shows on the lists. ``PersonalDataErased`` records an erasure: who, when and why,
never what was erased.
"""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime

from schemas.common import Model, ShortText
from schemas.events import ComplaintFiled, Event
from schemas.intake import Location, Reporter

REDACTED = "（已删除）"
"""What erased free text reads as: still valid text, so every reader's validation passes."""

FREE_TEXT_FIELDS = ("note", "reason", "result", "comment")
"""Event fields that hold written text (only where typed as text: a ``reason`` that is a code stays)."""


class PersonalDataErased(Model):
    """A resident's data was erased from the case: the contact details always, the free text once it was closed."""

    type: Literal["PersonalDataErased"] = "PersonalDataErased"
    complaint_id: str
    at: AwareDatetime
    by: ShortText
    reason: ShortText
    text_redacted: bool


def redacted(event: Event) -> Event:
    """``event`` with its free text replaced by ``REDACTED``; a filing also loses its title, description, address and
    coordinates (and, filed before the claim check, the reporter it carried)."""
    if isinstance(event, ComplaintFiled):
        intake = event.case.intake
        gone = Location(address=REDACTED)
        updates: dict[str, object] = {"title": REDACTED, "description": REDACTED, "location": gone}
        if isinstance(intake.reporter, Reporter):
            updates["reporter"] = Reporter(name=REDACTED, phone="00000")
        case = event.case.model_copy(update={"intake": intake.model_copy(update=updates)})
        return event.model_copy(update={"case": case})
    fields = type(event).model_fields
    text = {
        name: REDACTED
        for name in FREE_TEXT_FIELDS
        if name in fields and fields[name].annotation is str and getattr(event, name)
    }
    return event.model_copy(update=text)
