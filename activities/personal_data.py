"""The reporter's name and phone, kept out of the events and read models and in a table of their own.

Supervisors read ``events`` and ``complaints``; neither holds a resident's name or phone. Where a stored
document (a ``ComplaintFiled`` payload, a case's folded ``state``) would hold the reporter, it holds
``WITHHELD`` instead (still a valid ``Reporter``, so every reader's validation passes), and the real
reporter is in ``personal_data``, one row per case, which the migration grants to nobody but its owner.
The store's own readers (``load_events``, ``load_case``) put the reporter back, so the store still equals
the Temporal history.

Why a table rather than encrypting the fields in place: erasing a resident's data (a deletion request, the
end of a retention period) is one ``delete from personal_data``, and the append-only events never change;
access is a database grant, which a deployment already manages. The ``resident_id`` stays in the events:
it is the integrator's pseudonymous id, and the fold needs it to know who may rate or withdraw.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from schemas.events import ComplaintFiled, Event

WITHHELD: dict[str, str] = {"name": "（已另存）", "phone": "00000"}
"""What a stored document shows for the reporter's name and phone."""

Document = dict[str, Any]


def _with_reporter(document: Document, fields: dict[str, Any]) -> Document:
    case = document.get("case")
    if not isinstance(case, dict) or not isinstance(case.get("intake"), dict):
        return document
    intake = case["intake"]
    reporter = {**intake["reporter"], **fields}
    return {**document, "case": {**case, "intake": {**intake, "reporter": reporter}}}


def withheld(document: Document) -> Document:
    """``document`` with the reporter's name and phone replaced by ``WITHHELD`` (other documents unchanged)."""
    return _with_reporter(document, WITHHELD)


def restored(document: Document, reporter: dict[str, Any] | None) -> Document:
    """``document`` with the kept reporter put back (unchanged when none is kept, say after an erasure)."""
    return document if reporter is None else _with_reporter(document, reporter)


async def keep(connection: Any, complaint_id: str, events: Sequence[Event]) -> None:
    """Store the reporter of a ``ComplaintFiled`` in the batch; a retried append writes nothing twice."""
    for event in events:
        if isinstance(event, ComplaintFiled):
            reporter = event.case.intake.reporter.model_dump(mode="json", include={"name", "phone"})
            await connection.execute(
                "insert into personal_data (complaint_id, reporter) values ($1, $2) on conflict do nothing",
                complaint_id,
                reporter,
            )


async def reporter_of(connection: Any, complaint_id: str) -> dict[str, Any] | None:
    """The kept name and phone of the case's reporter, or None."""
    reporter: dict[str, Any] | None = await connection.fetchval(
        "select reporter from personal_data where complaint_id = $1", complaint_id
    )
    return reporter
