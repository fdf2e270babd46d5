"""The reporter's name, phone and resident id: kept in ``personal_data``, never in Temporal (a claim check).

The SDK ``deposit``s the reporter here before it starts a case and gives the case a ``ReporterReference``, an
opaque random reference; the workflow input, its history, its Updates and the read models hold only that.
Whatever needs the person resolves the reference at the edge: ``resident_actor`` matches a resident acting in
person to their case, the notification receivers and a supervisor's view look the reporter up here.

Cases filed before the claim check carry the ``Reporter`` in their history (encrypted by the codec). For those,
a stored document (a ``ComplaintFiled`` payload, a case's folded ``state``) holds ``WITHHELD`` in place of the
name and phone, the real ones are kept here by the store's append (``keep``), and the store's own readers
(``load_events``, ``load_case``) put them back, so the store still equals the history.

Every access goes through the security-definer functions of ``0065_roles.sql``: the application's role
(``whistle_app``: the worker, the gateway, the CLI) holds no grant on the table itself, and the readers' role
(``whistle_reader``: reports, dashboards) not even the functions.

Why a table rather than encrypting the fields in place: erasing a resident's data (a deletion request, the end
of a retention period) is one statement here, and the append-only events never change; access is a database
grant, which a deployment already manages.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from schemas.events import ComplaintFiled, Event
from schemas.intake import Reporter, ReporterReference

WITHHELD: dict[str, str] = {"name": "（已另存）", "phone": "00000"}
"""What a stored document of a pre-claim-check case shows for the reporter's name and phone."""

Document = dict[str, Any]


def _with_reporter(document: Document, fields: dict[str, Any]) -> Document:
    """``document`` with ``fields`` over its reporter, if it is a filing whose reporter is a person, not a reference."""
    case = document.get("case")
    if not isinstance(case, dict) or not isinstance(case.get("intake"), dict):
        return document
    intake = case["intake"]
    if "name" not in intake.get("reporter", {}):
        return document
    reporter = {**intake["reporter"], **fields}
    return {**document, "case": {**case, "intake": {**intake, "reporter": reporter}}}


def withheld(document: Document) -> Document:
    """``document`` with the reporter's name and phone replaced by ``WITHHELD`` (other documents unchanged)."""
    return _with_reporter(document, WITHHELD)


def restored(document: Document, reporter: dict[str, Any] | None) -> Document:
    """``document`` with the kept reporter put back (unchanged when none is kept, say after an erasure)."""
    return document if reporter is None else _with_reporter(document, reporter)


def new_reference() -> str:
    """A fresh reference: random, so it tells nothing about the person or the case."""
    return f"pd-{uuid.uuid4().hex}"


async def deposit(connection: Any, complaint_id: str, reporter: Reporter) -> ReporterReference:
    """Keep the reporter of a case about to be filed, and return the reference the case is to carry.

    Idempotent per complaint id: a resent filing gets the reference kept the first time (the registry has made
    sure it is the same body), so a start retried after a lost connection carries the same input.
    """
    kept = reporter.model_dump(mode="json", exclude_none=True)
    reference: str | None = await connection.fetchval(
        "select whistle_deposit_reporter($1, $2, $3)", complaint_id, kept, new_reference()
    )
    assert reference is not None
    return ReporterReference(reference=reference, resident_account=reporter.resident_id is not None)


async def keep(connection: Any, complaint_id: str, events: Sequence[Event]) -> None:
    """Keep the reporter of a pre-claim-check ``ComplaintFiled`` in the batch; a retried append writes nothing twice."""
    for event in events:
        if isinstance(event, ComplaintFiled) and isinstance(event.case.intake.reporter, Reporter):
            reporter = event.case.intake.reporter.model_dump(mode="json", include={"name", "phone"})
            await connection.execute("select whistle_keep_reporter($1, $2)", complaint_id, reporter)


async def reporter_of(connection: Any, complaint_id: str) -> dict[str, Any] | None:
    """The kept name and phone of a pre-claim-check case's reporter, for its stored documents; None otherwise."""
    reporter: dict[str, Any] | None = await connection.fetchval("select whistle_withheld_reporter($1)", complaint_id)
    return reporter


async def resident_actor(connection: Any, complaint_id: str, resident_id: str) -> str | None:
    """The actor id under which the resident ``resident_id`` acts on this case in person, or None if they may not.

    A claim-checked case knows its resident by reference: the resident who filed it acts as
    ``resident:<reference>``, anyone else is nobody to it. A case filed before the claim check (or unknown to
    this database) names its resident itself, so their id is sent as it is and the workflow decides.
    """
    row = await connection.fetchrow(
        "select reference, matches from whistle_resident_actor($1, $2)", complaint_id, resident_id
    )
    if row is None or row["reference"] is None:
        return resident_id
    return row["reference"] if row["matches"] else None


async def resident_of(connection: Any, complaint_id: str) -> str | None:
    """The integrator's resident id of the case's reporter, if they filed with one (for access checks at the edge).

    A case filed before the claim check keeps it in its own events, so its read model names it."""
    resident: str | None = await connection.fetchval("select whistle_resident_of($1)", complaint_id)
    return resident


async def consent_of(connection: Any, complaint_id: str) -> bool | None:
    """Whether the case's reporter agreed to publication when filing (None: not asked, or erased)."""
    consent: bool | None = await connection.fetchval("select whistle_publish_consent($1)", complaint_id)
    return consent


async def erase(connection: Any, complaint_id: str, at: datetime) -> None:
    """Remove the person from the case's row for good; the row and its reference stay (the case reads "erased")."""
    await connection.execute("select whistle_erase_reporter($1, $2)", complaint_id, at)


async def contact_of(connection: Any, complaint_id: str) -> Reporter | None:
    """The case's reporter as filed (name, phone if they gave one, resident id), for a role that may call them back;
    None when the case has none kept (erased, or filed before the claim check with only a placeholder in the store)."""
    kept: dict[str, Any] | None = await connection.fetchval("select whistle_reporter_contact($1)", complaint_id)
    return Reporter.model_validate(kept) if kept and "name" in kept else None
