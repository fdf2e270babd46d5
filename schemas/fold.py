"""The fold: a case's state from its events. ``start`` makes the state a filing begins, ``apply`` the state after one
more event (what each event changes is its concept's, ``schemas/rules/<concept>.py``: ``CHANGES``), ``fold`` a
whole stream. Pure.
"""

from __future__ import annotations

from collections.abc import Iterable

from schemas.events import ComplaintFiled, Event
from schemas.parts import Clock
from schemas.rules.concepts import CONCEPTS
from schemas.rules.shared import Changes
from schemas.state import CaseState

CHANGES: Changes = {
    event: changes
    for concept in CONCEPTS
    for event, changes in getattr(concept, "CHANGES", {}).items()
}
"""What every event changes in a case, gathered from the concepts."""


def apply(state: CaseState, event: Event) -> CaseState:
    """The state after ``event``. Pure: the same state and event always give the same result."""
    changes = CHANGES[type(event)](state, event)
    changes["updated_at"] = event.at
    changes["event_count"] = state.event_count + 1
    return state.model_copy(update=changes)


def start(filed: ComplaintFiled) -> CaseState:
    """The state a case has right after it is filed."""
    return CaseState(
        case=filed.case,
        filed_at=filed.at,
        updated_at=filed.at,
        verify=Clock(start=filed.at, due=filed.verify_due),
    )


def fold(events: Iterable[Event]) -> CaseState:
    """Rebuild a case from its whole event stream (the first event must be ``ComplaintFiled``)."""
    iterator = iter(events)
    first = next(iterator)
    if not isinstance(first, ComplaintFiled):
        raise ValueError(f"a case's first event is ComplaintFiled, not {first.type}")
    state = start(first)
    for event in iterator:
        state = apply(state, event)
    return state
