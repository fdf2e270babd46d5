"""Notes (工作备注): an official of the case puts a note on its record."""

from __future__ import annotations

from datetime import datetime

from schemas.commands import RecordNote
from schemas.errors import CommandRejected
from schemas.events import (
    Event,
    NoteRecorded,
)
from schemas.rules.shared import Changes, Rules, Who, require_actor
from schemas.state import CaseState


def note(state: CaseState, command: RecordNote, now: datetime) -> list[Event]:
    """A note on the record; a case keeps at most ``max_progress_notes`` of them, so its history stays bounded."""
    limit = state.case.policy.max_progress_notes
    if state.notes >= limit:
        raise CommandRejected("note", f"the case keeps at most {limit} notes; put the rest in one")
    return [NoteRecorded(at=now, by=command.actor, note=command.note)]


def may_note(state: CaseState, command: RecordNote) -> None:
    """The case's own officials, or any hotline operator."""
    if command.actor.kind == "operator":
        return
    context = state.case.context
    officials = {("grid_worker", worker.id) for worker in context.grid.grid_workers}
    officials |= {("department", code) for code in state.departments}
    officials |= {
        ("community_secretary", context.community.secretary.id),
        ("first_secretary", context.community.first_secretary.id),
        ("street_secretary", context.street.secretary.id),
    }
    require_actor(command.actor, officials, "only the case's own officials, or a hotline operator, put notes on it")


WHO: Who = {
    RecordNote: may_note,
}
"""Who may send each of this concept's commands (``schemas.rules.authority``)."""


RULES: Rules = {
    RecordNote: note,
}
"""What each of this concept's commands decides (``schemas.rules.decider``)."""


# The fold: what this concept's events change in a case.


def _note_recorded(state: CaseState, event: NoteRecorded) -> dict[str, object]:
    return {"notes": state.notes + 1}


CHANGES: Changes = {
    NoteRecorded: _note_recorded,
}
"""What each of this concept's events changes in a case (the fold, ``schemas.fold``)."""
